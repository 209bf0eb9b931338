"""Measurements of a trained network, besides its accuracy: what it costs to run.

A :class:`Measure` looks at the network a training evaluator has just trained (in eval mode, on
the training device) and returns metrics of its own, e.g. the parameter count. A search can
then optimise or constrain them as objectives:
``TrainEvaluator(measures=["params"])`` returns ``params`` beside ``val_acc``.

Measures are chosen by name from :data:`MEASURES` (``create_measure("params")``) or passed as
objects; :func:`register_measure` adds one. A measure whose value depends on the architecture
and network size alone, not on the trained weights (parameters, FLOPs, latency, peak memory),
says so with :attr:`Measure.per_arch`, and an evaluator then measures each arch once per
device and reuses the value.

What the interface leaves room for: FLOPs counted with ``torch.utils.flop_counter`` on one
input of ``task.input_shape``; peak memory of a forward pass on ``device``; latency on a named
device (a measure's own option, e.g. ``Latency(device="cuda:1", warmup=10, repeats=50)``,
timing a copy of the model there after warm-up passes, with the device synchronised around
each timing). All three are ``per_arch``.

Example:
    >>> import torch
    >>> create_measure("params").measure(torch.nn.Linear(3, 2), Task((3,), 2), device=None)
    {'params': 8.0}
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from nasforge.errors import ConfigError
from nasforge.registry import Registry
from nasforge.space import Task

if TYPE_CHECKING:  # pragma: no cover - typing only; this module imports no torch
    import torch
    from torch import nn


class Measure(ABC):
    """A measurement of a trained network, returning metrics named in :attr:`metric_names`.

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
    #: not on the trained weights: an evaluator may then measure once per arch and reuse it
    per_arch: bool = False

    @abstractmethod
    def measure(
        self, model: nn.Module, task: Task, device: torch.device | None
    ) -> dict[str, float]:
        """The metrics of ``model`` (trained, in eval mode, on ``device``) for ``task``.

        ``device`` is where the model is (``None``: the CPU); a measure of another device (the
        latency on a deployment target) moves a copy of the model there.
        """

    def __repr__(self) -> str:
        return f"{type(self).__name__}()"


class ParameterCount(Measure):
    """The number of parameters of the network, as metric ``params``.

    Example:
        >>> import torch
        >>> ParameterCount().measure(torch.nn.Linear(3, 2), Task((3,), 2), None)
        {'params': 8.0}
    """

    name = "params"
    metric_names = ("params",)
    per_arch = True

    def measure(
        self, model: nn.Module, task: Task, device: torch.device | None
    ) -> dict[str, float]:
        from nasforge.training import count_parameters

        return {"params": float(count_parameters(model))}


MEASURES: Registry[Measure] = Registry("measure")
MEASURES.register("params", ParameterCount, "The number of parameters of the network.")


def register_measure(name: str, factory: Callable[..., Measure] | str, summary: str = "") -> None:
    """Make ``factory(**options) -> Measure`` available as measure ``name``."""
    MEASURES.register(name, factory, summary)


def create_measure(name: str, **options: object) -> Measure:
    """Construct the measure registered as ``name``.

    Raises:
        UnknownNameError: no measure of that name (the message lists the known ones).
    """
    return MEASURES.create(name, **options)


def list_measures() -> list[str]:
    """Names of the registered measures."""
    return MEASURES.names()


def resolve_measures(
    measures: Sequence[str | Measure], reserved: Sequence[str] = ()
) -> list[Measure]:
    """Measures from names and objects, checked: metric names distinct from each other and
    from ``reserved`` (the evaluator's own metrics).

    Raises:
        ConfigError: not a list of names and measures, or two metrics of the same name.
        UnknownNameError: a name that is not registered.
    """
    allowed = f"allowed: a list of measure names ({', '.join(list_measures())}) or Measure objects"
    if not isinstance(measures, (list, tuple)):
        raise ConfigError(f"measures={measures!r}; {allowed}")
    out: list[Measure] = []
    seen = {name: "the evaluator" for name in reserved}
    for item in measures:
        if isinstance(item, str):
            measure = create_measure(item)
        elif isinstance(item, Measure):
            measure = item
        else:
            raise ConfigError(f"measures has {item!r}; {allowed}")
        for metric in measure.metric_names:
            if metric in seen:
                raise ConfigError(
                    f"measures: metric {metric!r} of measure {measure.name!r} is also returned "
                    f"by {seen[metric]}; allowed: measures with metrics of their own"
                )
            seen[metric] = f"measure {measure.name!r}"
        out.append(measure)
    return out


def run_measures(
    measures: Sequence[Measure],
    model: nn.Module,
    task: Task,
    device: torch.device | None,
    arch_key: str,
    cache: dict[tuple[int, str, str], dict[str, float]] | None = None,
) -> dict[str, float]:
    """The metrics of all ``measures`` of ``model``, in order.

    ``arch_key`` names what the network is built from (arch and network sizes); a
    :attr:`~Measure.per_arch` measure's result is kept in ``cache`` under ``(its position,
    arch_key, device)`` and reused.
    """
    metrics: dict[str, float] = {}
    for position, measure in enumerate(measures):
        key = (position, arch_key, str(device))
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
    "ParameterCount",
    "create_measure",
    "list_measures",
    "register_measure",
    "resolve_measures",
    "run_measures",
]
