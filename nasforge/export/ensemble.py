"""Combine the best trials of a search into one model: the average of their predictions.

A search trains many networks and keeps one; the others, trained to nearly the same score, are
thrown away. Averaging the predicted class probabilities of the ``size`` best by the search's
primary objective costs no training, only their inference, and usually errs less than any one
member, since members err on different inputs. AutoML systems end their searches this way
(auto-sklearn and AutoGluon choose members greedily on held-out data, Caruana et al. 2004; the
top ``size`` by the objective needs no data beyond the search's validation split). On MNIST-1D
the main job's five best by validation, combined, test higher than the one best
(BENCHMARKS.md, "The main job ends with an ensemble").

It needs the members' trained weights: a search whose ``train`` evaluator has
``keep_weights: true`` stores them with each trial (``inherit: true`` does too).
:class:`~nasforge.training.models.EnsembleModel` is an ``nn.Module`` like any other.
"""

from __future__ import annotations

import io
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError
from nasforge.estimation import Evaluator
from nasforge.experiment.lineage import WEIGHTS_KIND, kept_weights
from nasforge.export.source import ModelSpec, StoredTrial, open_source
from nasforge.space import Space
from nasforge.storage import DEFAULT_STORAGE, Storage

if TYPE_CHECKING:  # pragma: no cover - typing only
    from torch import nn

    from nasforge.training.models import EnsembleModel

#: members of an ensemble unless told otherwise
DEFAULT_SIZE = 5


@dataclass(frozen=True)
class Member:
    """One trial of an ensemble: its number, arch and its own metrics as the search stored them."""

    trial: int
    arch: str
    metrics: dict[str, float]
    spec: ModelSpec | None = field(default=None, compare=False, repr=False)


@dataclass(frozen=True)
class EnsembleResult:
    """An ensemble's members, best first, and its accuracy on the validation and test sets."""

    experiment: str
    members: list[Member] = field(default_factory=list)
    val_acc: float = math.nan
    test_acc: float = math.nan

    def summary(self) -> str:
        """``ensemble of trials 8, 4, 6: test_acc 99.30 (trial 8 alone: 99.20), val_acc 99.50``:
        the members best first, so the first is the trial the search would pick alone."""
        numbers = ", ".join(str(m.trial) for m in self.members)
        first = self.members[0]
        alone = first.metrics.get("test_acc", math.nan)
        return (
            f"ensemble of trials {numbers}: test_acc {self.test_acc:.2f} (trial {first.trial} "
            f"alone: {alone:.2f}), val_acc {self.val_acc:.2f}"
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "experiment": self.experiment,
            "members": [
                {"trial": m.trial, "arch": m.arch, "metrics": dict(m.metrics)} for m in self.members
            ],
            "val_acc": self.val_acc,
            "test_acc": self.test_acc,
        }


def ensemble(
    name: str,
    storage: str | Path | Storage = DEFAULT_STORAGE,
    *,
    size: int = DEFAULT_SIZE,
    space: Space | None = None,
    evaluator: Evaluator | None = None,
) -> tuple[EnsembleModel, EnsembleResult]:
    """The ``size`` best complete trials of experiment ``name`` (by its primary objective) that
    kept their weights, combined, and its accuracy on the evaluator's validation and test sets.

    Args:
        name: the experiment.
        storage: its store (URL, SQLite file or ``Storage``).
        size: members, at most (fewer when fewer trials kept weights).
        space, evaluator: needed for an experiment made from Python (the search's own objects).

    Raises:
        NasforgeError: unknown experiment, no complete trial, or no trial kept its weights.

    Example:
        >>> model, result = ensemble("mnist1d-nb201", "runs.db", size=5)  # doctest: +SKIP
        >>> print(result.summary())  # doctest: +SKIP
        ensemble of trials 8, 4, 6, 10, 0: test_acc 99.60 (trial 8 alone: 99.20), val_acc 99.38
    """
    if isinstance(size, bool) or not isinstance(size, int) or size < 1:
        raise ConfigError(f"size={size!r}; allowed: an integer >= 1")
    source = open_source(name, storage, None, space, evaluator)
    store, record = source.storage, source.record
    kept = {a.trial_number for a in store.artifacts(record.id, kind=WEIGHTS_KIND)}
    span = store.trial_number_range(record.id)
    every = span[1] - span[0] + 1 if span is not None else 1  # at least the trials stored
    ranked = [t for t in store.best_trials(record.id, limit=every) if t.number in kept]
    if not kept or not ranked:
        raise ConfigError(
            f"experiment {record.name!r}: no complete trial kept its weights; allowed: a search "
            "whose 'train' evaluator has keep_weights: true"
        )
    task = source.task()
    members, networks = [], []
    for trial in ranked[:size]:
        one = StoredTrial(store, record, trial, source.space, source.evaluator)
        spec = one.model_spec(task)
        members.append(Member(trial.number, trial.arch.key, dict(trial.metrics), spec))
        networks.append(_network(source, spec, trial.number))
    from nasforge.training.models import EnsembleModel

    model = EnsembleModel(networks).eval()
    val_acc, test_acc = _accuracies(model, source)
    return model, EnsembleResult(record.name, members, val_acc, test_acc)


def _network(source: StoredTrial, spec: ModelSpec, number: int) -> nn.Module:
    import torch

    network = spec.build(source.space)
    state = kept_weights(source.storage, source.record.id, number)
    assert state is not None  # ranked among the trials that kept weights
    try:
        network.load_state_dict(
            torch.load(io.BytesIO(state), map_location="cpu", weights_only=True)
        )
    except RuntimeError:  # shapes that differ: trained smaller, at a lower fidelity
        raise ConfigError(
            f"trial {number} of experiment {source.record.name!r}: the weights it kept do not "
            "fit its network at the evaluator's full size (it was trained at a lower "
            "fidelity); allowed: an ensemble of trials trained at full size"
        ) from None
    return network.eval()


def _accuracies(model: nn.Module, source: StoredTrial) -> tuple[float, float]:
    """Validation and test accuracy (percent) on the evaluator's own split, on the CPU."""
    import torch

    from nasforge.data import ArrayDataset
    from nasforge.training import prepare_data, score

    data = source.load_data()
    if not isinstance(data, ArrayDataset):
        return math.nan, math.nan
    fraction = float(getattr(source.evaluator, "val_fraction", 0.1))
    data_seed = int(getattr(source.evaluator, "data_seed", 0))
    tensors = prepare_data(data, torch.device("cpu"), fraction, data_seed, None)
    with torch.inference_mode():
        _, val_acc = score(model, tensors.x_val, tensors.y_val)
        _, test_acc = score(model, tensors.x_test, tensors.y_test)
    return val_acc, test_acc
