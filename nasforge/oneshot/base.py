"""``OneShotMethod``: the extension point for search methods that do not ask and tell."""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping
from typing import Any, ClassVar, Protocol

from nasforge.estimation.base import Evaluator
from nasforge.objectives import Objectives
from nasforge.space import Arch, Space
from nasforge.strategies.base import check_space_and_seed
from nasforge.trial import Trial, TrialStatus


class SearchSession(Protocol):
    """What a one-shot method may use of the experiment it runs in (a
    :class:`~nasforge.experiment.session.RunSession` is one)."""

    objectives: Objectives
    space: Space
    evaluator: Evaluator
    seed: int
    fidelity: Mapping[str, Any]
    device: str

    def trials(self, intermediate: bool = True) -> list[Trial]:
        """The experiment's stored trials, by number."""
        ...

    def record(
        self,
        arch: Arch,
        metrics: Mapping[str, float],
        curve: Mapping[int, Mapping[str, float]] | None = None,
        *,
        status: TrialStatus = TrialStatus.COMPLETE,
        seed: int | None = None,
        error: str | None = None,
    ) -> Trial:
        """Store an evaluated arch as a finished trial."""
        ...

    def checkpoint(self, data: bytes, info: Mapping[str, Any] | None = None) -> int:
        """Keep ``data`` as the search's checkpoint (replacing the previous one)."""
        ...

    def last_checkpoint(self) -> bytes | None:
        """The newest checkpoint, or ``None``."""
        ...

    def attach(
        self,
        kind: str,
        info: Mapping[str, Any],
        *,
        trial: int | None = None,
        data: bytes | None = None,
    ) -> int:
        """Store ``info`` under ``kind`` with the experiment (or one of its trials)."""
        ...

    def attached(self, kind: str) -> list[dict[str, Any]]:
        """The ``info`` of everything stored under ``kind``, oldest first."""
        ...


#: the artifact kind of a one-shot method's record of each epoch (its architecture weights,
#: losses and derived arch; see :mod:`nasforge.oneshot.methods`)
EPOCH_KIND = "oneshot_epoch"


class OneShotMethod(ABC):
    """Base of every one-shot search method.

    Constructed like a strategy, ``(space, seed, objectives=..., **options)``, and registered in
    the same registry (:func:`nasforge.strategies.register_strategy`). :meth:`search` runs the
    search in this process: it trains what it trains (a supernet, with the public
    :mod:`nasforge.training` toolkit), evaluates candidate archs, stores each with
    ``session.record(arch, metrics, curve)`` and keeps its state with ``session.checkpoint``;
    on a resumed run it reads ``session.last_checkpoint()`` and ``session.trials()`` and goes on
    from there. It must be deterministic for its seed.
    """

    #: the name it is registered under
    name: ClassVar[str] = ""
    #: whether it optimises every objective, not only the primary one
    multi_objective: bool = False
    #: what tells a one-shot method from a strategy without importing this module
    one_shot: ClassVar[bool] = True

    def __init__(
        self, space: Space, seed: int = 0, *, objectives: Objectives | None = None
    ) -> None:
        self.space, self.seed = check_space_and_seed(f"method {self.name!r}", space, seed)
        self.objectives = Objectives.parse(objectives)
        self.check_space(space)

    def check_space(self, space: Space) -> None:  # noqa: B027 - optional hook
        """Refuse a space this method cannot search, with a :class:`ConfigError`."""

    def planned_trials(self) -> int | None:
        """How many trials a whole search records, when the method knows (for a progress bar
        of a run without ``max_trials``); ``None`` by default."""
        return None

    @abstractmethod
    def search(
        self,
        session: SearchSession,
        max_trials: int | None,
        max_time: float | None,
        on_trial: Callable[[Trial], None] | None = None,
    ) -> list[Trial]:
        """Run (or resume) the search; ``max_trials`` counts the experiment's recorded trials,
        ``max_time`` this call's seconds. Calls ``on_trial`` with every trial it records and
        returns them."""

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"


__all__ = ["EPOCH_KIND", "OneShotMethod", "SearchSession"]
