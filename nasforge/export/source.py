"""Which trial to retrain or export, and what it takes to build its network again.

A stored experiment holds the arch of every trial, but a model also needs its space, the
network-size options of the evaluator that trained it and the task (input shape, classes).
An experiment made by ``nasforge search`` stores its YAML config, from which all of them are
rebuilt; one made from Python needs the caller to pass ``space=`` (and ``evaluator=`` to train
or to check exports on real inputs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError, NasforgeError
from nasforge.estimation import Evaluator
from nasforge.experiment.experiment import best_trial
from nasforge.experiment.spec import ExperimentSpec
from nasforge.space import Arch, Space, Task
from nasforge.storage import DEFAULT_STORAGE, ExperimentRecord, Storage
from nasforge.trial import Trial, TrialStatus

if TYPE_CHECKING:  # pragma: no cover - typing only; torch is imported when a model is built
    from torch import nn

    from nasforge.data import ArrayDataset

#: trial states whose arch may be retrained or exported: they ran to an end with a score
#: (pruned trials were stopped early, but their arch is as valid as any other)
USABLE: tuple[TrialStatus, ...] = (TrialStatus.COMPLETE, TrialStatus.PRUNED)


@dataclass(frozen=True)
class ModelSpec:
    """Everything needed to build the network of one arch again, as plain JSON values.

    ``space_options`` is ``None`` when the space is not a registered one whose options could be
    read back; building then needs the space object.
    """

    space: str
    space_options: dict[str, Any] | None
    arch: str
    input_shape: tuple[int, ...]
    num_classes: int
    build_options: dict[str, int] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {
            "space": self.space,
            "space_options": self.space_options,
            "arch": self.arch,
            "input_shape": list(self.input_shape),
            "num_classes": self.num_classes,
            "build_options": dict(self.build_options),
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ModelSpec:
        return cls(
            space=str(data["space"]),
            space_options=data.get("space_options"),
            arch=str(data["arch"]),
            input_shape=tuple(int(n) for n in data["input_shape"]),
            num_classes=int(data["num_classes"]),
            build_options={k: int(v) for k, v in (data.get("build_options") or {}).items()},
        )

    @property
    def task(self) -> Task:
        return Task(input_shape=self.input_shape, num_classes=self.num_classes)

    def make_space(self, space: Space | None = None) -> Space:
        """``space`` when given, else the registered space rebuilt from its options."""
        if space is not None:
            return space
        if self.space_options is None:
            raise ConfigError(
                f"space={self.space!r}: its options were not stored (not a registered space, "
                "or one whose options cannot be read back); pass space= the space object"
            )
        from nasforge.spaces import create_space

        return create_space(self.space, **self.space_options)

    def build(self, space: Space | None = None, seed: int | None = None) -> nn.Module:
        """The network, in eval mode; ``seed`` fixes its initial weights as a trial's seed does."""
        import torch

        from nasforge.training import build_model, seeded

        space = self.make_space(space)
        arch = space.parse(self.arch)
        sizes = {key: (value, key) for key, value in self.build_options.items()}
        if seed is None:
            model = build_model(space, arch, self.task, sizes)
        else:
            with seeded(seed, torch.device("cpu")):
                model = build_model(space, arch, self.task, sizes)
        return model.eval()


@dataclass(frozen=True)
class StoredTrial:
    """One usable trial of a stored experiment, with the objects that rebuild and train it."""

    storage: Storage
    record: ExperimentRecord
    trial: Trial
    space: Space
    evaluator: Evaluator | None
    device: str = "auto"

    @property
    def arch(self) -> Arch:
        return self.space.validate(self.trial.arch)

    def model_spec(self, task: Task | None = None) -> ModelSpec:
        """How to build this trial's network (``task`` defaults to the evaluator's data)."""
        if task is None:
            task = self.task()
        return ModelSpec(
            space=self.space.name,
            space_options=space_options(self.space, self.record),
            arch=self.arch.key,
            input_shape=tuple(task.input_shape),
            num_classes=task.num_classes,
            build_options=build_options(self.evaluator),
        )

    def task(self) -> Task:
        data = self.load_data()
        if data is None:
            raise ConfigError(
                f"experiment {self.record.name!r}: the input shape and classes of its data are "
                "unknown (its evaluator has no dataset); give one (CLI: --dataset NAME; "
                "Python: evaluator=TrainEvaluator(...) or task=Task(...))"
            )
        return data.task

    def load_data(self) -> ArrayDataset | None:
        """The evaluator's :class:`~nasforge.data.ArrayDataset`, or ``None`` without one."""
        return self.evaluator.load_data() if self.evaluator is not None else None


def open_source(
    name: str,
    storage: str | Path | Storage = DEFAULT_STORAGE,
    trial: int | None = None,
    space: Space | None = None,
    evaluator: Evaluator | None = None,
    read_only: bool = False,
) -> StoredTrial:
    """The stored experiment ``name`` and its trial ``trial`` (default: the best complete one).

    ``read_only=True`` opens a store given by URL without writing anything to it (export only
    reads; retraining stores its models).

    The space and evaluator not passed are rebuilt from the experiment's config (made by
    ``nasforge search``) or ``rebuild`` record (made from Python: the built-in space and
    evaluator it used); a custom space must be passed, a custom evaluator only to train (it
    stays ``None``).

    Raises:
        StorageError: no such store or experiment (the message lists the experiments).
        ConfigError: no such trial, one that did not finish, or an experiment made from Python
            with a custom space that was not passed.
    """
    store = (
        storage
        if isinstance(storage, Storage)
        else Storage(storage, create=False, read_only=read_only)
    )
    record = store.get_experiment(name)
    chosen = pick_trial(record, store.trials(record.id, intermediate=False), trial)
    spec = ExperimentSpec.from_json(record.spec)
    if space is None:
        space = spec.build_space(name)
    if evaluator is None:
        evaluator = spec.build_evaluator()
    return StoredTrial(store, record, chosen, space, evaluator, spec.device)


def pick_trial(record: ExperimentRecord, trials: list[Trial], number: int | None) -> Trial:
    """Trial ``number``, or the best complete one; errors list the usable trials."""
    usable = [t.number for t in trials if t.status in USABLE]
    listed = ranges(usable) or "none"
    if number is None:
        best = best_trial(trials)
        if best is None:
            raise NasforgeError(
                f"experiment {record.name!r} has no complete trial yet; usable trials: {listed}"
            )
        return best
    by_number = {t.number: t for t in trials}
    if number not in by_number:
        span = f"0..{len(trials) - 1}" if trials else "none"
        raise ConfigError(
            f"trial={number}: experiment {record.name!r} has no such trial (trials: {span}); "
            f"complete or pruned: {listed}"
        )
    found = by_number[number]
    if found.status not in USABLE:
        raise ConfigError(
            f"trial={number} of experiment {record.name!r} is {found.status.value}, not "
            f"complete or pruned; allowed: {listed}"
        )
    return found


def ranges(numbers: list[int]) -> str:
    """``[0, 1, 2, 5]`` as ``'0-2, 5'``."""
    parts: list[str] = []
    for n in sorted(numbers):
        if parts and parts[-1].split("-")[-1] == str(n - 1):
            parts[-1] = f"{parts[-1].split('-')[0]}-{n}"
        else:
            parts.append(str(n))
    return ", ".join(parts)


def space_options(space: Space, record: ExperimentRecord | None = None) -> dict[str, Any] | None:
    """The keyword options that rebuild ``space`` with ``create_space(space.name, ...)``.

    From the experiment's config (or, for an experiment made from Python, its ``rebuild``
    record) when it has one for this space; else read back from the space's attributes
    (:meth:`~nasforge.registry.Registry.options_of`); ``None`` when that cannot be done.
    """
    if record is not None:
        stored = ExperimentSpec.from_json(record.spec).space_component
        if stored is not None and stored.name == space.name:
            return dict(stored.options)
    from nasforge.spaces import SPACES

    found = SPACES.options_of(space)
    return found[1] if found is not None and found[0] == space.name else None


def build_options(evaluator: Evaluator | None) -> dict[str, int]:
    """The network sizes ``evaluator`` trains at instead of the space's
    (:meth:`~nasforge.estimation.Evaluator.size_overrides`; ``{}`` without an evaluator)."""
    return dict(evaluator.size_overrides()) if evaluator is not None else {}
