"""Optuna's samplers (TPE, Gaussian process, NSGA-II, NSGA-III, random) as nasforge strategies.

Each strategy drives an in-memory Optuna study through its ask/tell interface (Akiba et al. 2019,
"Optuna: A Next-generation Hyperparameter Optimization Framework"): ``ask`` opens an Optuna trial
and suggests every active dimension of the space define-by-run, ``tell`` closes that trial.
"""

from __future__ import annotations

import math
import warnings
from abc import abstractmethod
from collections import deque
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, ClassVar

import optuna
from optuna.distributions import (
    BaseDistribution,
    CategoricalDistribution,
    FloatDistribution,
    IntDistribution,
)
from optuna.trial import TrialState

from nasforge.errors import ConfigError, RuleViolation
from nasforge.objectives import Objectives
from nasforge.space import Arch, Categorical, Dimension, Float, Int, Space
from nasforge.strategies.base import Strategy, positive_int
from nasforge.trial import Trial, TrialStatus

#: the value types Optuna stores in a categorical distribution as they are
_OPTUNA_CHOICE_TYPES = (type(None), bool, int, float, str)


@contextmanager
def _quiet_optuna() -> Iterator[None]:
    """Hide Optuna's INFO lines ("A new study created ...") during one call, then restore.

    Optuna's verbosity is process-wide, so it is raised to WARNING only while our own call runs
    and put back afterwards; warnings still show.
    """
    previous = optuna.logging.get_verbosity()
    optuna.logging.set_verbosity(max(previous, optuna.logging.WARNING))
    try:
        yield
    finally:
        optuna.logging.set_verbosity(previous)


def _choices(dim: Categorical) -> tuple[Any, ...]:
    """What Optuna suggests for ``dim``: its choices, or their indices if Optuna cannot store
    them (e.g. numpy numbers or tuples)."""
    if all(type(c) in _OPTUNA_CHOICE_TYPES for c in dim.choices):
        return dim.choices
    return tuple(range(len(dim.choices)))


def _distribution(dim: Dimension) -> BaseDistribution:
    if isinstance(dim, Categorical):
        return CategoricalDistribution(_choices(dim))
    if isinstance(dim, Int):
        return IntDistribution(int(dim.low), int(dim.high), log=dim.log)
    if isinstance(dim, Float):
        return FloatDistribution(float(dim.low), float(dim.high), log=dim.log)
    raise TypeError(f"unsupported dimension type {type(dim).__name__}")  # checked in check_space


class OptunaStrategy(Strategy):
    """Base of the Optuna adapters: one in-memory study, asked and told trial by trial.

    Each ``ask`` opens an Optuna trial and suggests the space's dimensions in order; a
    conditional dimension is suggested only while active (define-by-run), so the sampler sees
    the same parameter only where it means something. ``Categorical`` becomes
    ``suggest_categorical``, ``Int`` ``suggest_int`` and ``Float`` ``suggest_float`` (with
    ``log=True`` for a log-scale dimension). A ``Float`` value is kept to 6 significant digits in
    the arch (as every nasforge value is); Optuna keeps the exact value it suggested.

    ``tell`` closes the oldest open Optuna trial that proposed the same arch (one queue per arch,
    so duplicate asks match their tells in order). An arch that was never asked, or told more
    often than asked, is added to the study as a finished trial (``study.add_trial``) so the
    sampler learns from it too. Complete trials are told their scores, one per objective of the
    experiment (oriented so that the study maximises each: a minimised objective is negated);
    failed trials, and complete ones without a finite score for every objective, are told as
    ``FAIL``; pruned ones as ``PRUNED`` (without their intermediate curve).

    Hard constraints: a trial of an experiment with constraints carries, per constrained
    metric it measured, the value Optuna's constrained samplers take (at or below 0:
    feasible; above: by how much it is broken), set on the Optuna trial with
    ``Trial.set_constraint`` before it is told (``create_trial(constraints=...)`` for one the
    study did not propose). That is the API of the Optuna nasforge needs (5.0 and later); the
    samplers' ``constraints_func`` it replaces is deprecated there. TPE, the GP and NSGA-II
    then prefer feasible trials (NSGA-II by constrained domination, TPE by placing
    infeasible trials among the bad ones by their violation, the GP by modelling each
    constraint). An infeasible trial that was trained is told ``COMPLETE`` with its objective
    values and constraints, though nasforge stores it without scores; one not trained because
    a constraint broke before training is told ``PRUNED`` with the constraints it was checked
    on (TPE learns from it; NSGA-II and the GP use complete trials only).

    Subclasses choose the sampler (:meth:`make_sampler`) and take its main options.

    Args:
        space: the space to search.
        seed: seed of the sampler.
        objectives: the experiment's; the study has one direction per objective.
    """

    name: ClassVar[str] = "optuna"
    multi_objective = True
    replaced_options: ClassVar[dict[str, str]] = {
        "n_objectives": "the experiment's objectives (the study optimises every one of them)",
    }

    def __init__(
        self, space: Space, seed: int = 0, *, objectives: Objectives | None = None
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.study_: optuna.Study | None = None
        self._open: dict[Arch, deque[optuna.Trial]] = {}

    def check_space(self, space: Space) -> None:
        for dim in space.dims:
            if not isinstance(dim, (Categorical, Int, Float)):
                raise ConfigError(
                    f"strategy {self.name!r} cannot search dimension {dim.name!r} "
                    f"({type(dim).__name__}); it supports Categorical, Int and Float dimensions"
                )

    @abstractmethod
    def make_sampler(self) -> optuna.samplers.BaseSampler:
        """The seeded Optuna sampler this strategy drives."""

    # ---- the study -------------------------------------------------------------------------

    def _study(self) -> optuna.Study:
        if self.study_ is None:
            with _quiet_optuna():
                self.study_ = optuna.create_study(
                    directions=["maximize"] * len(self.objectives), sampler=self.make_sampler()
                )
        return self.study_

    def propose(self) -> Arch:
        study = self._study()
        with _quiet_optuna():
            trial = study.ask()
            values: dict[str, Any] = {}
            for dim in self.space.dims:
                values[dim.name] = self._suggest(trial, dim) if dim.is_active(values) else None
        try:
            arch = self.space.make(values)
        except RuleViolation:  # the sampler may not know the space's rules: ask again
            with _quiet_optuna():
                study.tell(trial, state=TrialState.FAIL)
            raise
        self._open.setdefault(arch, deque()).append(trial)
        return arch

    def _suggest(self, trial: optuna.Trial, dim: Dimension) -> Any:
        if isinstance(dim, Categorical):
            choices = _choices(dim)
            value = trial.suggest_categorical(dim.name, choices)
            return value if choices is dim.choices else dim.choices[value]
        if isinstance(dim, Int):
            return trial.suggest_int(dim.name, int(dim.low), int(dim.high), log=dim.log)
        if isinstance(dim, Float):
            return trial.suggest_float(dim.name, float(dim.low), float(dim.high), log=dim.log)
        raise TypeError(f"unsupported dimension type {type(dim).__name__}")  # see check_space

    def observe(self, trial: Trial) -> None:
        state, values = self._outcome(trial)
        constraints = _constraint_values(trial, state)
        study = self._study()
        queue = self._open.get(trial.arch)
        with _quiet_optuna():
            if queue:
                asked = queue.popleft()
                if not queue:
                    del self._open[trial.arch]
                for name, value in constraints.items():
                    asked.set_constraint(name, value)
                study.tell(asked, values, state=state)
            else:
                study.add_trial(self._frozen(trial.arch, state, values, constraints))

    def _outcome(self, trial: Trial) -> tuple[TrialState, list[float] | None]:
        if trial.status is TrialStatus.PRUNED:
            return TrialState.PRUNED, None
        scores = trial.scores or ()
        if trial.status is TrialStatus.COMPLETE and not trial.feasible:
            # stored without scores (nothing ranks it), but the sampler weighs its objective
            # values against its violations
            scores = self.objectives.scores(trial.metrics) or ()
        values = [float(s) for s in scores[: len(self.objectives)]]
        if (
            trial.status is not TrialStatus.COMPLETE
            or len(values) < len(self.objectives)
            or not all(math.isfinite(v) for v in values)
        ):
            return TrialState.FAIL, None
        return TrialState.COMPLETE, values

    def _frozen(
        self,
        arch: Arch,
        state: TrialState,
        values: list[float] | None,
        constraints: dict[str, float] | None = None,
    ) -> optuna.trial.FrozenTrial:
        """A finished Optuna trial for an arch the study did not propose."""
        params: dict[str, Any] = {}
        distributions: dict[str, BaseDistribution] = {}
        for dim in self.space.dims:
            value = arch[dim.name]
            if value is None:
                continue
            if isinstance(dim, Categorical) and _choices(dim) is not dim.choices:
                value = dim.choices.index(value)
            params[dim.name] = value
            distributions[dim.name] = _distribution(dim)
        return optuna.trial.create_trial(
            state=state,
            values=values,
            params=params,
            distributions=distributions,
            constraints=constraints or None,
        )


def _constraint_values(trial: Trial, state: TrialState) -> dict[str, float]:
    """The constraint values of a told trial as Optuna's samplers take them (at or below 0:
    feasible), for the constrained metrics it measured (``trial.constraint_values``, in the
    same convention); ``{}`` for a failed trial, and in an experiment without constraints."""
    if state not in (TrialState.COMPLETE, TrialState.PRUNED):
        return {}
    return dict(trial.constraint_values)


def _forward(**options: Any) -> dict[str, Any]:
    """The options a user set (not ``None``), so Optuna's own defaults apply to the rest."""
    return {k: v for k, v in options.items() if v is not None}


class OptunaTPE(OptunaStrategy):
    """Optuna's tree-structured Parzen estimator (Bergstra et al. 2011, "Algorithms for
    Hyper-Parameter Optimization"; Watanabe 2023, "Tree-Structured Parzen Estimator:
    Understanding Its Algorithm Components").

    The first ``n_startup_trials`` trials are random; then TPE splits the finished trials into a
    good and a bad group, fits a Parzen density to each and suggests, among ``n_ei_candidates``
    draws from the good density, the one with the highest ratio good/bad (expected improvement).
    With several objectives it is multi-objective TPE (MOTPE; Ozaki et al. 2020, "Multiobjective
    Tree-Structured Parzen Estimator for Computationally Expensive Optimization Problems"): the
    good group is chosen by non-dominated rank and hypervolume contribution instead of the top
    quantile of one score; no separate strategy name is needed for it.

    Departures from the paper, and why: it is Optuna's implementation, with its defaults for the
    installed version (Optuna 5: multivariate TPE and the constant liar for open trials, so
    parallel asks spread out; Optuna 4: independent TPE, no liar). Conditional dimensions are
    sampled by the independent TPE unless ``group=True`` (an experimental Optuna option, which
    warns). TPE may propose an arch it already tried (the independent TPE often does on a small
    categorical space); nothing here filters that, so the sampler's behaviour is Optuna's own.

    Args:
        space: the space to search.
        seed: seed of the sampler.
        n_startup_trials: random trials before the model is used.
        n_ei_candidates: candidates drawn per suggestion.
        multivariate: model the dimensions jointly; ``None``: Optuna's default.
        group: split the space into groups of dimensions that appear together.
        constant_liar: treat open trials as bad ones so parallel asks differ; ``None``:
            Optuna's default.
        objectives: the experiment's (several: a multi-objective study).
    """

    name = "optuna:tpe"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        n_startup_trials: int = 10,
        n_ei_candidates: int = 24,
        multivariate: bool | None = None,
        group: bool = False,
        constant_liar: bool | None = None,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.n_startup_trials = positive_int(self.name, "n_startup_trials", n_startup_trials, 0)
        self.n_ei_candidates = positive_int(self.name, "n_ei_candidates", n_ei_candidates)
        self.multivariate = _flag(self.name, "multivariate", multivariate, allow_none=True)
        self.group = _flag(self.name, "group", group)
        self.constant_liar = _flag(self.name, "constant_liar", constant_liar, allow_none=True)
        if self.group and self.multivariate is False:
            raise ConfigError(f"strategy {self.name!r}: group=True needs multivariate=True")

    def make_sampler(self) -> optuna.samplers.BaseSampler:
        return optuna.samplers.TPESampler(
            seed=self.seed,
            n_startup_trials=self.n_startup_trials,
            n_ei_candidates=self.n_ei_candidates,
            group=self.group,
            **_forward(multivariate=self.multivariate, constant_liar=self.constant_liar),
        )


class OptunaGP(OptunaStrategy):
    """Optuna's Gaussian-process Bayesian optimisation (in the spirit of Snoek et al. 2012,
    "Practical Bayesian Optimization of Machine Learning Algorithms").

    After ``n_startup_trials`` random trials, a GP with a Matérn-5/2 kernel (automatic relevance
    determination; categorical dimensions by Hamming distance) is fitted to the finished trials
    and the next trial maximises log expected improvement.

    Departures from the paper, and why: it is Optuna's implementation (its kernel, priors and
    optimiser of the acquisition). A conditional dimension is outside the GP's fixed search space
    and drawn at random by Optuna's independent sampler (its warning about that is turned off:
    it is expected here). Open trials are not modelled, so parallel asks may coincide. The GP
    costs 0.5 to 4 seconds per ask on two CPU cores after a few dozen trials (more with more
    trials), against milliseconds for TPE.

    Args:
        space: the space to search.
        seed: seed of the sampler.
        n_startup_trials: random trials before the GP is used.
        deterministic_objective: fit the GP without observation noise (tabular benchmarks).
        objectives: the experiment's (several: a multi-objective study).
    """

    name = "optuna:gp"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        n_startup_trials: int = 10,
        deterministic_objective: bool = False,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.n_startup_trials = positive_int(self.name, "n_startup_trials", n_startup_trials, 0)
        self.deterministic_objective = _flag(
            self.name, "deterministic_objective", deterministic_objective
        )

    def make_sampler(self) -> optuna.samplers.BaseSampler:
        return optuna.samplers.GPSampler(
            seed=self.seed,
            n_startup_trials=self.n_startup_trials,
            warn_independent_sampling=False,
            deterministic_objective=self.deterministic_objective,  # True warns: experimental
        )


class OptunaNSGA2(OptunaStrategy):
    """Optuna's NSGA-II genetic algorithm (Deb et al. 2002, "A Fast and Elitist Multiobjective
    Genetic Algorithm: NSGA-II").

    The first generation of ``population_size`` trials is random; each later generation is bred
    from the elite of the previous ones (non-dominated sorting, then crowding distance) by
    crossover (probability ``crossover_prob``, Optuna's uniform crossover by default) and
    mutation. With several objectives it searches their Pareto front.

    Departures from the paper, and why: it is Optuna's implementation, which assigns trials to
    generations as they are asked, so parallel asks and duplicates need nothing special. The
    default population is 20, not Optuna's 50: NAS budgets are a few hundred trials, and with 50
    a search of 100 has bred one generation only (on the NAS-Bench-201 CIFAR-10 table, 50
    seeds, 100 queries: 93.83 with 50, no better than random search, and 94.00 with 20).

    Args:
        space: the space to search.
        seed: seed of the sampler.
        population_size: trials per generation.
        mutation_prob: probability of mutating each parameter; ``None``: ``1 / #parameters``.
        crossover_prob: probability that a child is made by crossover rather than copied.
        swapping_prob: probability of taking each parameter from the other parent.
        objectives: the experiment's (several: a multi-objective study).
    """

    name = "optuna:nsga2"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        population_size: int = 20,
        mutation_prob: float | None = None,
        crossover_prob: float = 0.9,
        swapping_prob: float = 0.5,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(space, seed, objectives=objectives)
        self.population_size = positive_int(self.name, "population_size", population_size, 2)
        self.mutation_prob = (
            None
            if mutation_prob is None
            else _probability(self.name, "mutation_prob", mutation_prob)
        )
        self.crossover_prob = _probability(self.name, "crossover_prob", crossover_prob)
        self.swapping_prob = _probability(self.name, "swapping_prob", swapping_prob)

    def make_sampler(self) -> optuna.samplers.BaseSampler:
        return optuna.samplers.NSGAIISampler(
            seed=self.seed,
            population_size=self.population_size,
            mutation_prob=self.mutation_prob,
            crossover_prob=self.crossover_prob,
            swapping_prob=self.swapping_prob,
        )


class OptunaNSGA3(OptunaNSGA2):
    """Optuna's NSGA-III genetic algorithm (Deb & Jain 2014, "An Evolutionary Many-Objective
    Optimization Algorithm Using Reference-Point-Based Nondominated Sorting Approach").

    NSGA-II with another tie-break: the last front that enters the elite is thinned by
    reference points spread evenly on the unit simplex of the normalised objectives
    (``dividing_parameter`` divisions per objective, Das and Dennis's construction) instead of
    crowding distance, each member joining the elite in the niche of its nearest reference
    line. The niches keep a front spread when there are many objectives (three or more), where
    crowding distance loses its meaning; with two it behaves much like NSGA-II.

    Departures from the paper, and why: it is Optuna's implementation; the default population
    is 20, not Optuna's 50, for the reason given for ``optuna:nsga2``.

    Args:
        space: the space to search.
        seed: seed of the sampler.
        population_size: trials per generation.
        mutation_prob: probability of mutating each parameter; ``None``: ``1 / #parameters``.
        crossover_prob: probability that a child is made by crossover rather than copied.
        swapping_prob: probability of taking each parameter from the other parent.
        dividing_parameter: divisions of each objective's axis for the reference points.
        objectives: the experiment's (several: a multi-objective study).
    """

    name = "optuna:nsga3"

    def __init__(
        self,
        space: Space,
        seed: int = 0,
        population_size: int = 20,
        mutation_prob: float | None = None,
        crossover_prob: float = 0.9,
        swapping_prob: float = 0.5,
        dividing_parameter: int = 3,
        *,
        objectives: Objectives | None = None,
    ) -> None:
        super().__init__(
            space,
            seed,
            population_size,
            mutation_prob,
            crossover_prob,
            swapping_prob,
            objectives=objectives,
        )
        self.dividing_parameter = positive_int(self.name, "dividing_parameter", dividing_parameter)

    def make_sampler(self) -> optuna.samplers.BaseSampler:
        with warnings.catch_warnings():  # Optuna marks it experimental; nothing to act on here
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return optuna.samplers.NSGAIIISampler(
                seed=self.seed,
                population_size=self.population_size,
                mutation_prob=self.mutation_prob,
                crossover_prob=self.crossover_prob,
                swapping_prob=self.swapping_prob,
                dividing_parameter=self.dividing_parameter,
            )


class OptunaRandom(OptunaStrategy):
    """Optuna's random sampler: every dimension drawn independently and uniformly (log-uniformly
    on a log scale). The same search as ``random`` but through Optuna, with duplicates allowed;
    useful to check the adapter and as a baseline inside Optuna.

    Args:
        space: the space to search.
        seed: seed of the sampler.
        objectives: the experiment's (several: a multi-objective study).
    """

    name = "optuna:random"

    def make_sampler(self) -> optuna.samplers.BaseSampler:
        return optuna.samplers.RandomSampler(seed=self.seed)


def _flag(strategy: str, option: str, value: Any, allow_none: bool = False) -> Any:
    if isinstance(value, bool) or (allow_none and value is None):
        return value
    allowed = "True, False or None" if allow_none else "True or False"
    raise ConfigError(f"strategy {strategy!r}: {option} must be {allowed}, got {value!r}")


def _probability(strategy: str, option: str, value: Any) -> float:
    if (
        isinstance(value, bool)
        or not isinstance(value, (int, float))
        or not 0.0 <= float(value) <= 1.0
    ):
        raise ConfigError(
            f"strategy {strategy!r}: {option} must be a number in [0, 1], got {value!r}"
        )
    return float(value)


__all__ = [
    "OptunaGP",
    "OptunaNSGA2",
    "OptunaNSGA3",
    "OptunaRandom",
    "OptunaStrategy",
    "OptunaTPE",
]
