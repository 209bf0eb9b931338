"""Open a stored experiment to read its trials, or to resume it with the same settings."""

from __future__ import annotations

from pathlib import Path

from numpy.typing import ArrayLike

from nasforge.constraints import Constraints
from nasforge.experiment.front import ParetoSummary, pareto_summary
from nasforge.experiment.results import best_trial, pareto_trials
from nasforge.experiment.spec import ExperimentSpec
from nasforge.objectives import Objectives
from nasforge.space import Space
from nasforge.storage import DEFAULT_STORAGE, ExperimentRecord, Storage
from nasforge.trial import Trial


class StoredExperiment:
    """A read-only view of an experiment in a store (no space, strategy or evaluator needed)."""

    def __init__(self, record: ExperimentRecord, storage: Storage) -> None:
        self.record = record
        self.storage = storage
        self.name = record.name
        self.objectives = Objectives.parse(record.objectives)
        self.constraints = Constraints.from_json(record.spec.get("constraints"))

    def __repr__(self) -> str:
        return f"StoredExperiment({self.name!r}, storage={self.storage.url!r})"

    @property
    def spec(self) -> ExperimentSpec:
        """How the experiment was set up (see :class:`~nasforge.experiment.spec.ExperimentSpec`)."""
        return ExperimentSpec.from_json(self.record.spec)

    def space(self) -> Space | None:
        """The registered space it searched, built again; ``None`` for a custom space."""
        spec = self.spec
        return spec.build_space(self.name) if spec.space_component is not None else None

    def trials(self) -> list[Trial]:
        """Every stored trial by number, with the hard constraints it breaks."""
        return self.constraints.judge(self.storage.trials(self.record.id))

    def best(self) -> Trial | None:
        stored = self.storage.trials(self.record.id, intermediate=False)
        return best_trial(self.constraints.judge(stored))

    def pareto_front(self) -> list[Trial]:
        """Feasible trials no other finished, feasible trial beats on every objective."""
        stored = self.storage.trials(self.record.id, intermediate=False)
        return pareto_trials(self.constraints.judge(stored))

    def pareto_summary(
        self,
        reference: ArrayLike | None = None,
        *,
        ideal: ArrayLike | None = None,
        nadir: ArrayLike | None = None,
        true_front: ArrayLike | None = None,
    ) -> ParetoSummary:
        """The front, its hypervolume with the setting it was measured under, and how the
        hypervolume grew trial after trial (:class:`~nasforge.experiment.front.ParetoSummary`).

        Only complete, feasible trials count. Without arguments the hypervolume is normalised
        by the ideal and nadir of this experiment's front against the reference point 1.1
        (EvoXBench's); with ``ideal`` and ``nadir`` (or a known ``true_front``, which also
        gives the IGD), by those; with ``reference`` alone (in the objectives' own units), raw.
        Needs 2 objectives.
        """
        trials = self.constraints.judge(self.storage.trials(self.record.id, intermediate=False))
        return pareto_summary(
            trials, self.objectives, self.name, reference, ideal, nadir, true_front
        )

    def hypervolume(
        self,
        reference: ArrayLike | None = None,
        *,
        ideal: ArrayLike | None = None,
        nadir: ArrayLike | None = None,
        true_front: ArrayLike | None = None,
    ) -> float:
        """The hypervolume of the front, measured as :meth:`pareto_summary` says."""
        summary = self.pareto_summary(reference, ideal=ideal, nadir=nadir, true_front=true_front)
        return summary.hypervolume


def load_experiment(name: str, storage: str | Path | Storage = DEFAULT_STORAGE) -> StoredExperiment:
    """The stored experiment ``name``; raises ``StorageError`` listing the names that exist.

    A URL or file is opened read-only: reading writes nothing to it (nor to a database that
    is not a nasforge store, which is refused). To resume a search, construct the
    :class:`~nasforge.Experiment` again with the same settings (or run the same
    ``nasforge search`` command): it finds the stored trials by name.
    """
    store = storage if isinstance(storage, Storage) else Storage(storage, read_only=True)
    return StoredExperiment(store.get_experiment(name), store)
