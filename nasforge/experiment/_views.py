"""What a live :class:`~nasforge.Experiment` and a loaded
:class:`~nasforge.experiment.load.StoredExperiment` both answer about their results: the best
trial, the Pareto front and its hypervolume, read from the store and judged by the constraints.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from numpy.typing import ArrayLike

from nasforge.experiment.front import ParetoSummary, pareto_summary
from nasforge.experiment.results import best_trial, pareto_trials
from nasforge.trial import Trial

if TYPE_CHECKING:  # pragma: no cover - typing only
    from nasforge.constraints import Constraints
    from nasforge.objectives import Objectives
    from nasforge.storage import ExperimentRecord, Storage


class ResultsView:
    """Results of the experiment in ``self.storage`` under ``self.record``, with its
    ``objectives`` and ``constraints``: mixed into the live and the loaded experiment."""

    name: str
    objectives: Objectives
    constraints: Constraints

    if TYPE_CHECKING:  # pragma: no cover - provided by the class this is mixed into

        @property
        def storage(self) -> Storage: ...

        @property
        def record(self) -> ExperimentRecord: ...

    def _judged(self, intermediate: bool) -> list[Trial]:
        """The stored trials, each with the hard constraints it breaks."""
        stored = self.storage.trials(self.record.id, intermediate=intermediate)
        return self.constraints.judge(stored)

    def best(self) -> Trial | None:
        """The complete, feasible trial with the best primary objective (the earliest among
        equals)."""
        return best_trial(self._judged(intermediate=False))

    def pareto_front(self) -> list[Trial]:
        """Complete, feasible trials no other such trial beats on every objective."""
        return pareto_trials(self._judged(intermediate=False))

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
        trials = self._judged(intermediate=False)
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
        """The hypervolume of :meth:`pareto_summary` alone (same arguments)."""
        summary = self.pareto_summary(reference, ideal=ideal, nadir=nadir, true_front=true_front)
        return summary.hypervolume


__all__ = ["ResultsView"]
