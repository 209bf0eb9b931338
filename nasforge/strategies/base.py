"""The ``Strategy`` base class: ask for an architecture, tell it how one did.

A strategy is deterministic for a given space, seed and sequence of ``ask``/``tell`` calls, so an
experiment resumes by constructing it again and replaying the stored calls in order.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections import Counter
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import numpy as np

from nasforge.errors import ConfigError, RuleViolation
from nasforge.objectives import Objectives
from nasforge.space import Arch, Space
from nasforge.trial import Trial, TrialStatus


class Strategy(ABC):
    """Base of every multi-trial search strategy.

    Subclasses implement :meth:`propose` (the next architecture) and usually :meth:`observe`
    (learn from a finished trial); the base class keeps the bookkeeping every strategy needs:

    - ``history_``: every told trial, in order (failed and pruned ones included);
    - ``pending_``: archs asked and not yet told (several asks may come before any tell when
      workers run in parallel);
    - ``seen_``: every arch asked or told, for :meth:`novel`.

    All randomness comes from ``self.rng``, made from ``seed``.

    ``objectives`` are the experiment's (:class:`~nasforge.objectives.Objectives`; default:
    maximise ``val_acc``). A told trial carries one score per objective, larger is better, in
    their order (``trial.scores``); ``trial.score`` is the primary one. A strategy that
    optimises several at once says so with ``multi_objective = True`` (an instance may set it
    from its options, as ``reinforce`` does from its ``reward``); the others optimise the
    primary objective, and an experiment with several objectives refuses them.

    Example:
        >>> from nasforge.space import CellSpace
        >>> from nasforge.strategies import RandomSearch
        >>> s = RandomSearch(CellSpace(4, ["skip_connect", "nor_conv_3x3"]), seed=0)
        >>> arch = s.ask()
        >>> s.tell(Trial(0, arch, TrialStatus.COMPLETE, {"acc": 1.0}, scores=(1.0,)))
    """

    #: the name the strategy is registered under (``"regularized-evolution"``)
    name: ClassVar[str] = ""
    #: how many fresh proposals :meth:`novel` tries before it accepts a duplicate
    novelty_tries: ClassVar[int] = 100
    #: proposals that break a rule of the space drawn again before a sample replaces them
    rule_tries: ClassVar[int] = 20
    #: whether it optimises every objective (a Pareto front), not only the primary one
    multi_objective: bool = False
    #: options earlier versions took, and what replaces each (refused with that message)
    replaced_options: ClassVar[dict[str, str]] = {}
    #: whether it reads the space's fixed dimensions (``space.dims``: per-dimension samplers,
    #: one-hot encodings); such a strategy refuses a space of variable-size genomes
    #: (:class:`~nasforge.space.genome.GenomeSpace`), which only its moves can search
    reads_dimensions: ClassVar[bool] = True

    def __init__(
        self, space: Space, seed: int = 0, *, objectives: Objectives | None = None
    ) -> None:
        self.space, self.seed = check_space_and_seed(f"strategy {self.name!r}", space, seed)
        self.objectives = Objectives.parse(objectives)
        self.rng = np.random.default_rng(self.seed)
        self.history_: list[Trial] = []
        self.pending_: Counter[Arch] = Counter()
        self.seen_: set[Arch] = set()
        self._space_size: float | None = None
        #: child arch -> number of the trial of the arch it was mutated from (:meth:`child_of`)
        self.parents_: dict[Arch, int] = {}
        self._scored_trial: dict[Arch, int] = {}
        if self.reads_dimensions and getattr(space, "variable_size", False):
            raise ConfigError(
                f"strategy {self.name!r} reads a space's fixed dimensions, and space "
                f"{space.name!r} grows variable-size genomes; allowed: random, "
                "regularized-evolution, large-scale-evolution or local-search"
            )
        self.check_space(space)

    # ---- what subclasses write -----------------------------------------------------------

    @abstractmethod
    def propose(self) -> Arch:
        """Return the next architecture to evaluate."""

    def observe(self, trial: Trial) -> None:  # noqa: B027 - optional hook
        """Learn from a finished trial (complete, pruned or failed). Default: nothing."""

    def check_space(self, space: Space) -> None:  # noqa: B027 - optional hook
        """Refuse a space this strategy cannot search, with a :class:`ConfigError`."""

    # ---- the public protocol -------------------------------------------------------------

    def ask(self) -> Arch:
        """The next architecture to evaluate (may be called again before any ``tell``).

        On a space with rules (:meth:`~nasforge.space.Space.violation`), a proposal that breaks
        one is drawn again, up to :attr:`rule_tries` times, then replaced by a sample of the
        space (which respects the rules): a strategy that assembles archs from dimension values
        need not know the rules. A space without rules never takes this path.
        """
        arch = self._propose_within_rules()
        self.pending_[arch] += 1
        self.seen_.add(arch)
        return arch

    def _propose_within_rules(self) -> Arch:
        for _ in range(self.rule_tries):
            try:
                return self.propose()
            except RuleViolation:
                continue
        return self.space.sample(self.rng)

    def tell(self, trial: Trial) -> None:
        """Report a finished trial. Archs never asked (e.g. given by a user) are accepted too."""
        if not trial.status.finished:
            raise ValueError(f"tell() needs a finished trial, got status {trial.status.value!r}")
        if self.pending_[trial.arch] > 0:
            self.pending_[trial.arch] -= 1
            if self.pending_[trial.arch] == 0:
                del self.pending_[trial.arch]
        self.seen_.add(trial.arch)
        self.history_.append(trial)
        if trial.score is not None:
            self._scored_trial[trial.arch] = trial.number
        self.observe(trial)

    # ---- helpers for subclasses ----------------------------------------------------------

    def novel(self, propose: Callable[[], Arch], tries: int | None = None) -> Arch:
        """Call ``propose`` until it gives an arch not seen before; the last one if none is new.

        A search on a finite space spends its budget better on new archs; when the space is
        nearly exhausted a duplicate is still returned so ``ask`` never hangs. Once every arch
        of a finite space has been seen, no proposal can be new: the first is returned without
        retries, so each ask (and each replayed ask on resume) costs one proposal.
        """
        arch = propose()
        if self.space_exhausted:
            return arch
        for _ in range((tries or self.novelty_tries) - 1):
            if arch not in self.seen_:
                return arch
            arch = propose()
        return arch

    def child_of(self, parent: Arch, child: Arch) -> Arch:
        """Note that ``child`` was made from ``parent`` (a mutation of it) and return ``child``.

        :meth:`parent_of` then names the trial of ``parent`` (its latest with a score), which
        the search stores as the child's lineage and whose trained weights a training
        evaluator with ``inherit`` starts the child from (Real et al. 2017's weight
        inheritance). Replay makes the same calls, so a resumed search knows the same parents.
        """
        number = self._scored_trial.get(parent)
        if number is not None and child != parent:
            self.parents_[child] = number
        return child

    def parent_of(self, arch: Arch) -> int | None:
        """The number of the trial whose arch ``arch`` was last made from (:meth:`child_of`),
        or ``None`` (a random arch, or a strategy that does not say)."""
        return self.parents_.get(arch)

    @property
    def space_exhausted(self) -> bool:
        """Whether every arch of the (finite) space has been asked or told already.

        ``seen_`` holds archs of the space only (an experiment validates the archs it tells), so
        as many seen archs as the space has means none is left to find.
        """
        if self._space_size is None:
            self._space_size = self.space.size()  # the space never changes: count it once
        return len(self.seen_) >= self._space_size

    @property
    def completed_(self) -> list[Trial]:
        """Told trials that have a score, in the order they were told."""
        return [t for t in self.history_ if t.score is not None]

    def scores_of(self, trial: Trial) -> tuple[float, ...] | None:
        """``trial.scores``, one per objective, or ``None`` if it lacks one (a failed or pruned
        trial, or one told with fewer scores than the experiment has objectives): what a
        strategy that weighs every objective learns from."""
        scores = trial.scores
        if scores is None or len(scores) < len(self.objectives):
            return None
        return tuple(float(s) for s in scores[: len(self.objectives)])

    def best_(self) -> Trial | None:
        done = self.completed_
        return max(done, key=lambda t: t.score) if done else None  # type: ignore[arg-type,return-value]

    def __repr__(self) -> str:
        return f"{type(self).__name__}(seed={self.seed})"


def check_space_and_seed(owner: str, space: Any, seed: Any) -> tuple[Space, int]:
    """``(space, seed)`` checked for a search method (``owner`` names it in the message)."""
    if not isinstance(space, Space):
        raise ConfigError(f"{owner}: space must be a nasforge Space, got {space!r}")
    if isinstance(seed, bool) or not isinstance(seed, (int, np.integer)):
        raise ConfigError(f"{owner}: seed must be an integer, got {seed!r}")
    return space, int(seed)


def check_replaced_options(
    name: str, factory: Any, options: Mapping[str, Any], where: str = "options"
) -> None:
    """Refuse an option that a strategy took in an earlier version, saying what replaces it.

    ``factory`` is the registered factory (a :class:`Strategy` subclass declares its
    ``replaced_options``; anything else has none). ``where`` prefixes the option in the message,
    e.g. ``"strategy.options"`` for a YAML file.
    """
    replaced = (
        factory.replaced_options
        if isinstance(factory, type) and issubclass(factory, Strategy)
        else {}
    )
    for option in options:
        if option in replaced:
            raise ConfigError(
                f"{where}.{option}: strategy {name!r} no longer takes {option!r}; it is set by "
                f"{replaced[option]}; remove it"
            )
    if "objectives" in options:
        raise ConfigError(
            f"{where}.objectives: a strategy's objectives are the experiment's; set them with "
            "the experiment's objectives, not as a strategy option"
        )


def positive_int(strategy: str, name: str, value: Any, minimum: int = 1) -> int:
    """Check an integer option, naming the strategy and the option when it is wrong."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < minimum:
        raise ConfigError(
            f"strategy {strategy!r}: {name} must be an integer >= {minimum}, got {value!r}"
        )
    return int(value)


def tournament_sizes(strategy: str, population_size: Any, sample_size: Any) -> tuple[int, int]:
    """Check a tournament's population (>= 2) and sample size (1 to the population size)."""
    population = positive_int(strategy, "population_size", population_size, 2)
    sample = positive_int(strategy, "sample_size", sample_size, 1)
    if sample > population:
        raise ConfigError(
            f"strategy {strategy!r}: sample_size ({sample_size}) must not exceed "
            f"population_size ({population_size})"
        )
    return population, sample


__all__ = [
    "Strategy",
    "TrialStatus",
    "check_replaced_options",
    "check_space_and_seed",
    "positive_int",
    "tournament_sizes",
]
