"""The architecture weights a one-shot search stored after each supernet epoch (no drawing).

A one-shot method stores, beside the trial of each epoch, an artifact of kind ``oneshot_epoch``
(:data:`nasforge.oneshot.EPOCH_KIND`) whose JSON holds the epoch, the arch derived from
the supernet then and each choice's distribution over its candidates. The plot
(:func:`nasforge.viz.plot_arch_weights`) and the dashboard both read them through
:class:`ArchWeights`, so the image and the web page show the same numbers.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from nasforge.errors import ConfigError
from nasforge.oneshot.base import EPOCH_KIND

#: up to this many choices the plot draws a panel per choice; above, a heatmap
MAX_PANELS = 16


def epoch_kind() -> str:
    """The artifact kind of an epoch's record."""
    return EPOCH_KIND


def one_shot_methods() -> list[str]:
    """The registered one-shot methods (the only ones that store architecture weights)."""
    from nasforge.strategies import list_strategies

    return list_strategies("one-shot")


def no_epochs(name: str = "") -> str:
    """Why there is nothing to plot: the experiment ``name`` (or a list of records) has no
    epoch records."""
    what = f"experiment {name!r} has" if name else "these records hold"
    methods = ", ".join(one_shot_methods())
    return (
        f"{what} no supernet epochs; only one-shot methods ({methods}) store architecture weights"
    )


@dataclass(frozen=True)
class ArchWeights:
    """Each choice's distribution over its candidates, epoch by epoch.

    ``weights[label][candidate][i]`` is the probability of ``candidate`` at ``epochs[i]``
    (``None`` where that epoch did not store it); ``derived[i]`` is the arch derived from the
    supernet after ``epochs[i]`` and ``trials[i]`` the trial that recorded it. Choices and
    candidates keep the order the method stored them in.
    """

    name: str
    method: str
    epochs: list[int]
    trials: list[int | None]
    derived: list[str]
    weights: dict[str, dict[str, list[float | None]]]

    @property
    def labels(self) -> list[str]:
        return list(self.weights)

    @property
    def candidates(self) -> list[str]:
        """Every candidate of any choice, in first-seen order (the plot's colours)."""
        seen: dict[str, None] = {}
        for by_candidate in self.weights.values():
            seen.update(dict.fromkeys(by_candidate))
        return list(seen)

    @property
    def layout(self) -> str:
        """``"panels"`` (a panel per choice) up to :data:`MAX_PANELS` choices, else
        ``"heatmap"`` (the last epoch's distributions and each choice's strongest weight)."""
        return "panels" if len(self.weights) <= MAX_PANELS else "heatmap"

    def final(self) -> dict[str, dict[str, float | None]]:
        """The last epoch's distribution of each choice."""
        return {
            label: {c: probs[-1] for c, probs in by_candidate.items()}
            for label, by_candidate in self.weights.items()
        }

    def strongest(self) -> dict[str, list[float | None]]:
        """Per choice, the probability of its most likely candidate at each epoch (how sure the
        method is of the pick it would derive then)."""
        out = {}
        for label, by_candidate in self.weights.items():
            series = []
            for i in range(len(self.epochs)):
                values = [p[i] for p in by_candidate.values() if p[i] is not None]
                series.append(max(values) if values else None)  # type: ignore[type-var]
            out[label] = series
        return out

    def caption(self) -> str:
        """Which method learned the weights, over which epochs, and where the derived arch
        came from (the last epoch)."""
        method = self.method or "a one-shot method"
        first, last = self.epochs[0], self.epochs[-1]
        span = f"epoch {last}" if first == last else f"epochs {first}–{last}"
        trial = f", trial {self.trials[-1]}" if self.trials[-1] is not None else ""
        return f"architecture weights of {method}, {span}; derived arch from epoch {last}{trial}"


def arch_weights(
    records: Sequence[Mapping[str, Any]], name: str = "", method: str = ""
) -> ArchWeights:
    """:class:`ArchWeights` of epoch records (the ``info`` of ``oneshot_epoch`` artifacts) by
    epoch; of two records of one epoch the later one counts. Raises ``ConfigError`` naming a
    record that is not one, or when there is none."""
    by_epoch = {_epoch_of(i, record): record for i, record in enumerate(records)}
    if not by_epoch:
        raise ConfigError(no_epochs(name))
    epochs = sorted(by_epoch)
    weights: dict[str, dict[str, list[float | None]]] = {}
    for i, epoch in enumerate(epochs):
        for label, probs in by_epoch[epoch]["weights"].items():
            by_candidate = weights.setdefault(str(label), {})
            for candidate, p in probs.items() if isinstance(probs, Mapping) else ():
                series = by_candidate.setdefault(str(candidate), [None] * len(epochs))
                series[i] = _probability(p)
    return ArchWeights(
        name=name,
        method=method,
        epochs=epochs,
        trials=[_int_or_none(by_epoch[e].get("trial")) for e in epochs],
        derived=[str(by_epoch[e].get("derived", "")) for e in epochs],
        weights=weights,
    )


def load_arch_weights(source: Any, method: str | None = None) -> ArchWeights:
    """The :class:`ArchWeights` of an experiment (live or stored: anything with ``storage``
    and ``record``) or of a list of epoch records; ``method`` names the method for titles
    (default: the experiment's strategy)."""
    storage, record = getattr(source, "storage", None), getattr(source, "record", None)
    if storage is not None and record is not None:
        stored = storage.artifacts(record.id, kind=epoch_kind())
        found = method or str(record.spec.get("strategy") or "")
        return arch_weights([a.info for a in stored], record.name, found)
    if isinstance(source, (str, bytes, Mapping)) or not isinstance(source, Sequence):
        raise ConfigError(
            "expected an Experiment, a stored experiment or a list of epoch records, "
            f"got {type(source).__name__}"
        )
    return arch_weights(source, "", method or "")


def _epoch_of(i: int, record: Any) -> int:
    epoch = record.get("epoch") if isinstance(record, Mapping) else None
    stored = record.get("weights") if isinstance(record, Mapping) else None
    if isinstance(epoch, bool) or not isinstance(epoch, int) or not isinstance(stored, Mapping):
        raise ConfigError(
            f"records[{i}]: an epoch record needs an integer 'epoch' and a 'weights' mapping "
            f"of choice to {{candidate: probability}}, got {shorten(repr(record), 80)}"
        )
    return epoch


def _probability(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        return None
    return float(value)


def _int_or_none(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def shorten(text: str, width: int) -> str:
    """``text``, cut to ``width`` characters with an ellipsis."""
    return text if len(text) <= width else text[: width - 1] + "…"
