"""Measurements of a network besides its accuracy: what it costs to run.

A :class:`Measure` looks at a network (the one a training evaluator has just trained, in eval
mode on the training device, or the untrained one of the cost evaluator,
:class:`~nasforge.estimation.cost.CostEvaluator`) and returns metrics of its own. A search can
then optimise or constrain them as objectives: ``TrainEvaluator(measures=["params"])`` returns
``params`` beside ``val_acc``.

Measures are chosen by name from :data:`MEASURES` (``create_measure("latency", device="cpu")``),
as ``{"name": ..., "options": {...}}`` (what a YAML file writes) or passed as objects;
:func:`register_measure` adds one. The built-in ones (each metric's name says its unit):

- ``params`` (metric ``params``) and ``params_m`` (``params_m``, in millions, as the
  NAS-Bench-201 tables count them): the parameter count;
- ``flops`` (``flops``) and ``mflops`` (``mflops``): the floating-point operations of one
  forward pass of one sample, counted by ``torch.utils.flop_counter``
  (:class:`~nasforge.estimation.hardware.FlopCount`);
- ``peak_memory`` (``peak_memory_mib``): the peak activation memory of a forward pass at a
  stated batch size (:class:`~nasforge.estimation.hardware.PeakMemory`);
- ``latency`` (``latency_ms``, ``latency_iqr_ms``): the median time of a forward pass on a
  named device (the CPU at a stated thread count, a CUDA device, or ONNX Runtime on the
  exported graph) after warm-up passes, and the interquartile range of the timings
  (:class:`~nasforge.estimation.latency.Latency`).

A measure whose value depends on the architecture and network size alone, not on the weights
(all of the above), says so with :attr:`Measure.per_arch`; :func:`run_measures` then measures
each network once per measure (and its options), task and device, and reuses the value.

Example:
    >>> import torch
    >>> create_measure("params").measure(torch.nn.Linear(3, 2), Task((3,), 2), device=None)
    {'params': 8.0}
    >>> [m.metric_names for m in resolve_measures(["flops", {"name": "latency",
    ...                                            "options": {"threads": 2}}])]
    [('flops',), ('latency_ms', 'latency_iqr_ms')]
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Callable, Hashable, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError
from nasforge.registry import Registry
from nasforge.space import Task

if TYPE_CHECKING:  # pragma: no cover - typing only; this module imports no torch
    import torch
    from torch import nn

#: the results :func:`run_measures` keeps: (a measure's :meth:`~Measure.cache_key`, the network
#: key, the task, the device) -> the measure's metrics
MeasureCache = dict[tuple[Hashable, str, Task, str], dict[str, float]]


class Measure(ABC):
    """A measurement of a network, returning metrics named in :attr:`metric_names`.

    Subclasses set :attr:`name` and :attr:`metric_names` and implement :meth:`measure`. A
    measure must not change the model's weights or mode (the evaluator returns the model, e.g.
    for retraining) and draws any random input from its own seeded generator.

    Example:
        >>> class Depth(Measure):
        ...     name, metric_names = "depth", ("layers",)
        ...     def measure(self, model, task, device):
        ...         return {"layers": float(len(list(model.modules())))}
        >>> import torch
        >>> Depth().measure(torch.nn.Sequential(torch.nn.ReLU()), Task((1, 4), 2), None)
        {'layers': 2.0}
    """

    #: the name it is registered and listed by
    name: str = ""
    #: the metrics :meth:`measure` returns (what an experiment may name as objectives)
    metric_names: tuple[str, ...] = ()
    #: ``True`` when the value depends on the architecture, network size and device alone,
    #: not on the weights: an evaluator may then measure once per arch and reuse it
    per_arch: bool = False

    @abstractmethod
    def measure(
        self, model: nn.Module, task: Task, device: torch.device | None
    ) -> dict[str, float]:
        """The metrics of ``model`` (in eval mode, on ``device``) for ``task``.

        ``device`` is where the model is (``None``: the CPU); a measure of another device (the
        latency on a deployment target) moves a copy of the model there.
        """

    def cache_key(self) -> Hashable:
        """What tells this measure's results apart from another's in a :data:`MeasureCache`:
        by default the object itself; a measure with options returns its name and options, so
        that two equal measures share results."""
        return self

    def check(self) -> None:
        """Refuse, with a :class:`~nasforge.errors.ConfigError`, a measure that cannot run on
        this machine (a latency device that is not here). An evaluator calls it before a search
        stores anything; by default every measure can run."""
        return None

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ParameterCount(Measure):
    """The number of parameters of the network, as metric ``params``, or in millions as
    ``params_m`` (``millions=True``, the unit of the NAS-Bench-201 tables).

    Example:
        >>> import torch
        >>> ParameterCount().measure(torch.nn.Linear(3, 2), Task((3,), 2), None)
        {'params': 8.0}
        >>> ParameterCount(millions=True).measure(torch.nn.Linear(999, 1000), Task((999,), 1000),
        ...                                       None)
        {'params_m': 1.0}
    """

    name = "params"
    metric_names = ("params",)
    per_arch = True

    def __init__(self, millions: bool = False) -> None:
        if not isinstance(millions, bool):
            raise ConfigError(f"millions={millions!r}; allowed: true or false")
        self.millions = millions
        self.name = "params_m" if millions else "params"
        self.metric_names = (self.name,)

    def measure(
        self, model: nn.Module, task: Task, device: torch.device | None
    ) -> dict[str, float]:
        from nasforge.training import count_parameters

        count = float(count_parameters(model))
        return {self.name: count / 1e6 if self.millions else count}

    def cache_key(self) -> Hashable:
        return ("params", self.millions)

    def __repr__(self) -> str:
        return f"ParameterCount(millions={self.millions})"


def _parameters_in_millions() -> Measure:
    return ParameterCount(millions=True)


MEASURES: Registry[Measure] = Registry("measure")
MEASURES.register("params", ParameterCount, "The number of parameters of the network.")
MEASURES.register(
    "params_m", _parameters_in_millions, "The number of parameters, in millions (params_m)."
)
MEASURES.register(
    "flops",
    "nasforge.estimation.hardware:FlopCount",
    "Floating-point operations of one forward pass of one sample (flops).",
)
MEASURES.register(
    "mflops",
    "nasforge.estimation.hardware:mflops_measure",
    "Floating-point operations of one sample's forward pass, in millions (mflops).",
)
MEASURES.register(
    "peak_memory",
    "nasforge.estimation.hardware:PeakMemory",
    "Peak activation memory of a forward pass at a stated batch size (peak_memory_mib).",
)
MEASURES.register(
    "latency",
    "nasforge.estimation.latency:Latency",
    "Median time of a forward pass on a named device, and its spread (latency_ms).",
)


def register_measure(name: str, factory: Callable[..., Measure] | str, summary: str = "") -> None:
    """Make ``factory(**options) -> Measure`` available as measure ``name``."""
    MEASURES.register(name, factory, summary)


def create_measure(name: str, **options: object) -> Measure:
    """Construct the measure registered as ``name``.

    Raises:
        UnknownNameError: no measure of that name (the message lists the known ones).
        ConfigError: an option the measure does not take, or a bad value.
    """
    factory = MEASURES.get(name)
    try:
        signature = inspect.signature(factory)
    except (TypeError, ValueError):  # pragma: no cover - a factory without a signature
        signature = None
    if signature is not None and not any(
        p.kind == p.VAR_KEYWORD for p in signature.parameters.values()
    ):
        known = [p.name for p in signature.parameters.values() if p.kind != p.VAR_POSITIONAL]
        for key in options:
            if key not in known:
                allowed = ", ".join(known) or "none"
                raise ConfigError(f"measure {name!r} has no option {key!r}; allowed: {allowed}")
    return factory(**options)


def list_measures() -> list[str]:
    """Names of the registered measures."""
    return MEASURES.names()


def resolve_measures(
    measures: Sequence[str | Measure | Mapping[str, Any]], reserved: Sequence[str] = ()
) -> list[Measure]:
    """Measures from names, ``{"name": ..., "options": {...}}`` mappings and objects, checked:
    metric names distinct from each other and from ``reserved`` (the evaluator's own metrics).

    Raises:
        ConfigError: not a list of names, mappings and measures, a bad option of a measure, or
            two metrics of the same name.
        UnknownNameError: a name that is not registered.
    """
    allowed = (
        f"allowed: a list of measure names ({', '.join(list_measures())}), "
        "{name: ..., options: {...}} mappings or Measure objects"
    )
    if not isinstance(measures, (list, tuple)):
        raise ConfigError(f"measures={measures!r}; {allowed}")
    out: list[Measure] = []
    seen = {name: "the evaluator" for name in reserved}
    for position, item in enumerate(measures):
        if isinstance(item, str):
            measure = create_measure(item)
        elif isinstance(item, Measure):
            measure = item
        elif isinstance(item, Mapping):
            measure = _from_mapping(item, f"measures[{position}]")
        else:
            raise ConfigError(f"measures has {item!r}; {allowed}")
        for metric in measure.metric_names:
            if metric in seen:
                raise ConfigError(
                    f"measures: metric {metric!r} of measure {measure.name!r} is also returned "
                    f"by {seen[metric]}; allowed: measures with metrics of their own (a "
                    "latency's own metric prefix: options {metric: ...})"
                )
            seen[metric] = f"measure {measure.name!r}"
        out.append(measure)
    return out


def _from_mapping(item: Mapping[str, Any], field: str) -> Measure:
    """The measure ``{"name": ..., "options": {...}}`` describes; errors name ``field``."""
    unknown = sorted(set(item) - {"name", "options"})
    if unknown or not isinstance(item.get("name"), str):
        what = f"unknown key {unknown[0]!r}" if unknown else "no name"
        raise ConfigError(f"{field} has {what}; allowed: keys name (a measure) and options")
    options = item.get("options", {})
    if options is None:
        options = {}
    if not isinstance(options, Mapping) or not all(isinstance(k, str) for k in options):
        raise ConfigError(f"{field}.options={options!r}; allowed: a mapping of option names")
    try:
        return create_measure(item["name"], **options)
    except ConfigError as exc:
        raise ConfigError(f"{field}: {exc}") from None


def check_measures(measures: Sequence[Measure]) -> None:
    """Call each measure's :meth:`~Measure.check` (a device that is not on this machine)."""
    for measure in measures:
        measure.check()


def cached_metrics(
    measures: Sequence[Measure],
    task: Task,
    device: torch.device | None,
    arch_key: str,
    cache: MeasureCache,
) -> dict[str, float] | None:
    """The metrics :func:`run_measures` would return, when every measure is
    :attr:`~Measure.per_arch` and has its result for this network in ``cache``; else ``None``
    (the network must be built and measured). An evaluator that builds a network only to
    measure it calls this first, so that a network measured before is not even built."""
    metrics: dict[str, float] = {}
    for measure in measures:
        key = (measure.cache_key(), arch_key, task, str(device))
        if not measure.per_arch or key not in cache:
            return None
        metrics.update(cache[key])
    return metrics


def run_measures(
    measures: Sequence[Measure],
    model: nn.Module,
    task: Task,
    device: torch.device | None,
    arch_key: str,
    cache: MeasureCache | None = None,
) -> dict[str, float]:
    """The metrics of all ``measures`` of ``model``, in order.

    ``arch_key`` names what the network is built from (the space, the arch and the network
    sizes, as :func:`~nasforge.estimation._trial_settings.network_key` writes it); a
    :attr:`~Measure.per_arch` measure's result is kept in ``cache`` under its
    :meth:`~Measure.cache_key` (name and options), ``arch_key``, ``task`` and ``device``, and
    reused: no network is measured twice by the same measure.
    """
    metrics: dict[str, float] = {}
    for measure in measures:
        key = (measure.cache_key(), arch_key, task, str(device))
        if cache is not None and measure.per_arch and key in cache:
            metrics.update(cache[key])
            continue
        result = {
            name: float(value) for name, value in measure.measure(model, task, device).items()
        }
        if set(result) != set(measure.metric_names):
            raise ValueError(
                f"measure {measure.name!r} returned {sorted(result)}, but declares "
                f"{list(measure.metric_names)}"
            )
        if cache is not None and measure.per_arch:
            cache[key] = result
        metrics.update(result)
    return metrics


__all__ = [
    "MEASURES",
    "Measure",
    "MeasureCache",
    "ParameterCount",
    "cached_metrics",
    "check_measures",
    "create_measure",
    "list_measures",
    "register_measure",
    "resolve_measures",
    "run_measures",
]
