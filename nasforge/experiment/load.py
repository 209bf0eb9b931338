"""Open a stored experiment to read its trials, or to resume it with the same settings."""

from __future__ import annotations

from pathlib import Path

from nasforge.constraints import Constraints
from nasforge.experiment._views import ResultsView
from nasforge.experiment.spec import ExperimentSpec
from nasforge.objectives import Objectives
from nasforge.space import Space
from nasforge.storage import DEFAULT_STORAGE, ExperimentRecord, Storage
from nasforge.trial import Trial


class StoredExperiment(ResultsView):
    """A read-only view of an experiment in a store (no space, strategy or evaluator needed)."""

    def __init__(self, record: ExperimentRecord, storage: Storage) -> None:
        self._record, self._storage = record, storage
        self.name = record.name
        self.objectives = Objectives.parse(record.objectives)
        self.constraints = Constraints.from_json(record.spec.get("constraints"))

    @property
    def record(self) -> ExperimentRecord:
        """The experiment's record in the store."""
        return self._record

    @property
    def storage(self) -> Storage:
        """The store it was read from (opened read-only when given as a URL or file)."""
        return self._storage

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


def load_experiment(name: str, storage: str | Path | Storage = DEFAULT_STORAGE) -> StoredExperiment:
    """The stored experiment ``name``; raises ``StorageError`` listing the names that exist.

    A URL or file is opened read-only: reading writes nothing to it (nor to a database that
    is not a nasforge store, which is refused). To resume a search, construct the
    :class:`~nasforge.Experiment` again with the same settings (or run the same
    ``nasforge search`` command): it finds the stored trials by name.
    """
    store = storage if isinstance(storage, Storage) else Storage(storage, read_only=True)
    return StoredExperiment(store.get_experiment(name), store)
