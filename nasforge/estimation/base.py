"""The ``Evaluator`` interface and the context a running trial sees."""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError
from nasforge.space import Arch, Space

if TYPE_CHECKING:  # pragma: no cover - typing only
    from nasforge.data import ArrayDataset

#: called with (step, metrics) for each intermediate result; may raise ``TrialPruned``
Reporter = Callable[[int, Mapping[str, float]], None]

#: the forms of a device name, for error messages (whether one is available is another matter)
DEVICE_FORMS = "'auto', 'cpu', 'cuda', 'cuda:N' or 'mps'"
_DEVICE = re.compile(r"auto|cpu|mps|cuda(:[0-9]+)?")


def check_device_form(device: object, field: str = "device") -> str:
    """``device`` if it has the form of a device name (without importing torch or asking
    whether the device is there); a :class:`~nasforge.errors.ConfigError` naming ``field``
    otherwise.

    Example:
        >>> check_device_form("cuda:1")
        'cuda:1'
        >>> check_device_form("gpu")
        Traceback (most recent call last):
        ...
        nasforge.errors.ConfigError: device='gpu' is not a device; allowed: 'auto', 'cpu', \
'cuda', 'cuda:N' or 'mps'
    """
    if not isinstance(device, str) or not _DEVICE.fullmatch(device):
        raise ConfigError(f"{field}={device!r} is not a device; allowed: {DEVICE_FORMS}")
    return device


@dataclass
class TrialContext:
    """What a running evaluation may use: its seed, device, fidelity, a reporter and a folder.

    ``report(step, metrics)`` stores an intermediate result (e.g. the validation accuracy after
    each epoch); when an early-stopping scheduler decides to stop the trial it raises
    :class:`~nasforge.errors.TrialPruned`, which the evaluator lets propagate.

    **Weight inheritance** (for an evaluator whose :attr:`Evaluator.inherits` is true):
    ``parent`` is the number of the trial whose arch this one was mutated from and
    ``parent_state`` the weights that trial kept (``None`` without either); the evaluator
    hands back its trained weights with :meth:`keep_state` and says what it reused with
    :meth:`note_inherited`. The search stores both with the trial.
    """

    number: int = 0
    seed: int = 0
    space: Space | None = None
    device: str = "auto"
    fidelity: Mapping[str, Any] = field(default_factory=dict)
    workdir: Path | None = None
    reporter: Reporter | None = None
    parent: int | None = None
    parent_state: bytes | None = None
    kept_state: bytes | None = None
    inherited: dict[str, Any] | None = None

    def report(self, step: int, metrics: Mapping[str, float]) -> None:
        if self.reporter is not None:
            self.reporter(step, dict(metrics))

    def keep_state(self, data: bytes) -> None:
        """Hand back the trial's trained weights (serialised), for its children to inherit."""
        self.kept_state = bytes(data)

    def note_inherited(self, info: Mapping[str, Any]) -> None:
        """Say what was taken from the parent's weights (JSON: ``{"reused": [names], ...}``)."""
        self.inherited = dict(info)


class Evaluator(ABC):
    """Turns an architecture into metrics (a flat ``dict[str, float]``).

    Accuracies are in percent, as in NAS-Bench-201. An exception other than ``TrialPruned``
    marks the trial ``failed`` with its message; the search goes on.

    Besides :meth:`evaluate`, an evaluator declares what a search needs to know of it before
    any trial runs (each has a default for evaluators that cannot say):

    - :attr:`metric_names`: the metrics it returns, so that an objective it never returns is
      refused at once;
    - :meth:`max_step`: the last step it reports at a fidelity (the epochs it trains), the full
      budget of an early-stopping scheduler and of the progress bar;
    - :meth:`load_data`: the training data, for a zero-cost pre-filter's mini-batch and for the
      input shape and test inputs of an export;
    - :meth:`fingerprint`: what it trains on or looks up, stored with the experiment;
    - :meth:`size_overrides`: the network sizes it builds the space's networks at, for an
      export to build the same network again;
    - :meth:`check_fidelity` and :meth:`check_device`: refuse a fidelity or a device it cannot
      run a trial at, before anything is stored (rather than failing every trial);
    - :attr:`runtime_options`: the options that say where or how fast it runs rather than what
      a trial computes, which a resumed search may change;
    - :attr:`cheap_metric_names` and :meth:`cheap_metrics`: the metrics it can measure without
      training (a parameter count, a latency), which a search checks its hard constraints on
      before it trains an arch.
    """

    #: the metrics this evaluator returns, for checking objectives before a search starts
    #: (``None``: unknown until the first trial)
    metric_names: tuple[str, ...] | None = None

    #: constructor options that change where or how fast a trial runs, not its result (e.g.
    #: ``device``, ``threads``); a resumed search may change them, every other option must match
    runtime_options: tuple[str, ...] = ()

    #: the metrics :meth:`cheap_metrics` can give without training (``()``: none)
    cheap_metric_names: tuple[str, ...] = ()

    #: whether it keeps each trial's trained weights (``ctx.keep_state``) and starts a child
    #: from its parent's (``ctx.parent_state``): the search then hands them over
    inherits: bool = False

    @abstractmethod
    def evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        """Evaluate ``arch`` and return its metrics."""

    def cheap_metrics(
        self, arch: Arch, ctx: TrialContext, names: Sequence[str]
    ) -> dict[str, float]:
        """Those of the metrics ``names`` that this evaluator can measure for ``arch`` without
        training it, with the values :meth:`evaluate` would return for them (same fidelity,
        same network, same device).

        A search with hard constraints calls it in the trial's worker before
        :meth:`evaluate`: an arch that breaks a constraint on these values is stored
        infeasible and not trained. Names it cannot measure cheaply are left out (checked on
        the trained metrics instead). By default nothing is measured cheaply: ``{}``.
        """
        return {}

    def max_step(self, fidelity: Mapping[str, Any]) -> int | None:
        """The last step ``ctx.report`` is called with at ``fidelity``: by default its
        ``epochs`` (a whole number), the convention for an evaluator that reports once per
        epoch; ``None`` when it does not say (an evaluator that reports no steps)."""
        epochs = fidelity.get("epochs")
        if isinstance(epochs, float) and epochs.is_integer():
            epochs = int(epochs)
        return epochs if isinstance(epochs, int) and not isinstance(epochs, bool) else None

    def check_fidelity(self, fidelity: Mapping[str, Any], space: Space) -> None:
        """Refuse a ``fidelity`` this evaluator cannot run a trial of ``space`` at, with a
        :class:`~nasforge.errors.ConfigError` naming the key, the value and what is allowed.

        An experiment calls it when it is made, before anything is stored. By default every
        fidelity is accepted: an evaluator that cannot say reads ``ctx.fidelity`` itself.
        """
        return None

    def check_device(self, device: str) -> None:
        """Refuse a ``device`` (the trial context's) that is not available on this machine,
        with a :class:`~nasforge.errors.ConfigError`.

        Called before a search whose trials run on this machine stores anything. By default
        every device is accepted: an evaluator that trains nothing does not use it.
        """
        return None

    def load_data(self) -> ArrayDataset | None:
        """The dataset it trains on (loaded on first use), or ``None`` when it trains on none.

        Named for what it does rather than ``dataset``: that is the constructor option of the
        training evaluators, which rebuilding an evaluator from its options reads back.
        """
        return None

    def fingerprint(self) -> dict[str, str]:
        """What it trains on or looks up (``{"data": name, "data_sha256": hex digest}``), for
        the experiment's record; ``{}`` when there is nothing to name."""
        return {}

    def size_overrides(self) -> dict[str, int]:
        """The network sizes it builds a space's networks at instead of the space's own
        (``{"n_cells": 1}`` gives ``space.build(arch, task, n_cells=1)``); ``{}`` (the
        default) when it builds them as the space says, or builds none."""
        return {}


class FunctionEvaluator(Evaluator):
    """Wrap a Python function ``fn(arch) -> metrics`` (or ``fn(arch, ctx)``) as an evaluator.

    A function may return a number instead of a dict; it is stored under ``"value"``.

    Example:
        >>> ev = FunctionEvaluator(lambda arch: {"score": float(len(arch.key))})
        >>> ev.evaluate(Arch({"x": 1}), TrialContext())
        {'score': 3.0}
    """

    def __init__(self, fn: Callable[..., Any], metric_names: tuple[str, ...] | None = None) -> None:
        if not callable(fn):
            raise TypeError(f"FunctionEvaluator needs a callable, got {fn!r}")
        self.fn = fn
        self.metric_names = metric_names
        self._wants_ctx = _accepts_two_args(fn)

    def evaluate(self, arch: Arch, ctx: TrialContext) -> dict[str, float]:
        result = self.fn(arch, ctx) if self._wants_ctx else self.fn(arch)
        return as_metrics(result)


def as_metrics(result: Any) -> dict[str, float]:
    """Normalise what an evaluation returned into ``dict[str, float]``."""
    if isinstance(result, Mapping):
        out = {}
        for name, value in result.items():
            try:
                out[str(name)] = float(value)
            except (TypeError, ValueError):
                raise TypeError(f"metric {name!r} must be a number, got {value!r}") from None
        return out
    try:
        return {"value": float(result)}
    except (TypeError, ValueError):
        raise TypeError(
            f"an evaluation must return a dict of numbers or a number, got {result!r}"
        ) from None


def _accepts_two_args(fn: Callable[..., Any]) -> bool:
    import inspect

    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):
        return False
    positional = [p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return len(positional) >= 2 or any(p.kind == p.VAR_POSITIONAL for p in params)
