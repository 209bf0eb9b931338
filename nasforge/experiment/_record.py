"""An experiment's record in the store: created on first use, or found and checked against the
settings of the run that resumes it."""

from __future__ import annotations

from collections.abc import Collection

from nasforge.errors import StorageError
from nasforge.estimation import Evaluator
from nasforge.experiment import components
from nasforge.experiment.spec import ExperimentSpec
from nasforge.storage import ExperimentRecord, Storage


def open_record(
    storage: Storage,
    name: str,
    spec: ExperimentSpec,
    evaluator: Evaluator,
    replaced: Collection[str] = (),
) -> ExperimentRecord:
    """The record of experiment ``name``: created with ``spec`` (and the versions and the
    evaluator's fingerprint) when the store has none, else the stored one, whose identity must
    match ``spec``'s (``replaced``: stored strategy options not compared, see
    :meth:`ExperimentSpec.first_difference`).

    Raises:
        StorageError: the stored experiment was started with other settings; the message names
            the first that differs, its stored value and the new one.
    """
    record = storage.find_experiment(name)
    if record is None:
        return storage.create_experiment(
            name,
            spec.seed,
            spec.objectives.to_json(),
            spec.to_json(),
            versions={**components.versions(), **evaluator.fingerprint()},
        )
    difference = spec.first_difference(record.spec, replaced)
    if difference is not None:
        key, before, now = difference
        raise StorageError(
            f"experiment {name!r} in {storage.url!r} was started with {key}={before!r}, not "
            f"{now!r}; use the same settings to resume it, or another name"
        )
    return record


__all__ = ["open_record"]
