"""Multi-trial search strategies behind one ask/tell interface, chosen by name.

Example:
    >>> from nasforge.space import CellSpace
    >>> strategy = create_strategy("random", CellSpace(4, ["skip_connect", "nor_conv_3x3"]), seed=0)
    >>> "regularized-evolution" in list_strategies()
    True
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, TypeVar

from nasforge.errors import ConfigError
from nasforge.objectives import Objectives
from nasforge.registry import Registry
from nasforge.space import Space
from nasforge.strategies.base import Strategy, check_replaced_options
from nasforge.strategies.evolution import RegularizedEvolution
from nasforge.strategies.random import RandomSearch

#: what a strategy factory makes (a :class:`Strategy`, or a one-shot method registered beside)
S = TypeVar("S")

#: the search methods by name: ask/tell strategies, and one-shot methods
#: (:class:`nasforge.oneshot.OneShotMethod`), which are chosen the same way
STRATEGIES: Registry[Strategy] = Registry("strategy")
STRATEGIES.register("random", RandomSearch, "Uniform random sampling; the baseline to beat.")
STRATEGIES.register(
    "regularized-evolution",
    RegularizedEvolution,
    "Aging evolution (Real et al. 2019): tournament, one mutation, oldest dies. A strong default.",
)
#: the registered strategies that search several objectives at once (their ``multi_objective``
#: is true), besides ``reinforce`` with a ``reward`` option; the others refuse several
MULTI_OBJECTIVE_STRATEGIES: tuple[str, ...] = (
    "random",
    "mo-regularized-evolution",
    "dpp-net",
    "optuna:tpe",
    "optuna:gp",
    "optuna:nsga2",
    "optuna:nsga3",
    "optuna:random",
)
# Strategies below are imported on first use (several need torch, optuna or cmaes).
_LAZY = {
    "mo-regularized-evolution": (
        "nasforge.strategies.mo_evolution:MultiObjectiveEvolution",
        "Multi-objective aging evolution: tournaments by Pareto rank, then crowding (NSGA-II).",
    ),
    "large-scale-evolution": (
        "nasforge.strategies.large_scale_evolution:LargeScaleEvolution",
        "Large-Scale Evolution (Real et al. 2017): tournaments of two, no aging.",
    ),
    "genetic": (
        "nasforge.strategies.genetic:GeneticSearch",
        "Genetic CNN (Xie & Yuille 2017): generations of selection, crossover and mutation.",
    ),
    "hierarchical-evolution": (
        "nasforge.strategies.hierarchical_evolution:HierarchicalEvolution",
        "Hierarchical evolution (Liu et al. 2018): 5% tournaments, one mutation, nobody dies.",
    ),
    "local-search": (
        "nasforge.strategies.local_search:LocalSearch",
        "Local search (White et al. 2020): best-improvement over neighbours, random restarts.",
    ),
    "reinforce": (
        "nasforge.strategies.reinforce:ReinforceController",
        "NAS-RL (Zoph & Le 2017): an LSTM controller trained with REINFORCE.",
    ),
    "metaqnn": (
        "nasforge.strategies.metaqnn:MetaQNN",
        "MetaQNN (Baker et al. 2017): Q-learning over decisions, epsilon-greedy, replay.",
    ),
    "renas": (
        "nasforge.strategies.renas:ReinforcedEvolution",
        "RENAS (Chen et al. 2019): evolution whose mutations a learned policy chooses.",
    ),
    "bananas": (
        "nasforge.strategies.bananas:Bananas",
        "BANANAS (White et al. 2021): neural-predictor ensemble, Thompson sampling.",
    ),
    "generate-rank": (
        "nasforge.strategies.generate_rank:GenerateRankEvaluate",
        "Generate-rank-evaluate (Schrimpf et al. 2017): random archs ranked by a learned model.",
    ),
    "pnas": (
        "nasforge.strategies.pnas:ProgressiveSearch",
        "PNAS (Liu et al. 2018): grow archs simple to complex, a surrogate ranks the beam.",
    ),
    "dpp-net": (
        "nasforge.strategies.dpp_net:DppNet",
        "DPP-Net (Dong et al. 2018): PNAS that keeps the Pareto-optimal candidates.",
    ),
    "cmaes": (
        "nasforge.strategies.cma_es:CMAES",
        "CMA-ES (Loshchilov & Hutter 2016) for numeric hyperparameters, via the cmaes package.",
    ),
    "bohb": (
        "nasforge.strategies.bohb:BOHB",
        "BOHB's sampler (Falkner et al. 2018); use with hyperband.",
    ),
    "optuna:tpe": (
        "nasforge.strategies.optuna_adapter:OptunaTPE",
        "Optuna's TPE sampler through its ask/tell API.",
    ),
    "optuna:gp": (
        "nasforge.strategies.optuna_adapter:OptunaGP",
        "Optuna's Gaussian-process sampler through its ask/tell API.",
    ),
    "optuna:nsga2": (
        "nasforge.strategies.optuna_adapter:OptunaNSGA2",
        "Optuna's NSGA-II sampler through its ask/tell API.",
    ),
    "optuna:nsga3": (
        "nasforge.strategies.optuna_adapter:OptunaNSGA3",
        "Optuna's NSGA-III sampler through its ask/tell API (reference points, many objectives).",
    ),
    "optuna:random": (
        "nasforge.strategies.optuna_adapter:OptunaRandom",
        "Optuna's random sampler through its ask/tell API.",
    ),
    # one-shot methods (nasforge.oneshot): one supernet, trained in this process
    "darts": (
        "nasforge.oneshot.methods:Darts",
        "One-shot. DARTS (Liu et al. 2019): softmax-relaxed supernet, first or second order.",
    ),
    "gdas": (
        "nasforge.oneshot.methods:Gdas",
        "One-shot. GDAS (Dong & Yang 2019): one Gumbel-sampled path per supernet step.",
    ),
    "drnas": (
        "nasforge.oneshot.methods:DrNas",
        "One-shot. DrNAS (Chen et al. 2021): Dirichlet-distributed supernet mixing weights.",
    ),
    "enas": (
        "nasforge.oneshot.methods:Enas",
        "One-shot. ENAS (Pham et al. 2018): an LSTM controller on shared weights, REINFORCE.",
    ),
    "random-one-shot": (
        "nasforge.oneshot.methods:RandomOneShot",
        "One-shot. Random one-shot / SPOS: uniform paths, then a search on the supernet.",
    ),
}
for _name, (_target, _summary) in _LAZY.items():
    STRATEGIES.register(_name, _target, _summary)


def register_strategy(name: str, factory: type[Strategy], summary: str = "") -> None:
    """Make ``factory(space, seed=..., objectives=..., **options)`` available as strategy
    ``name`` (a :class:`Strategy` subclass is such a factory)."""
    STRATEGIES.register(name, factory, summary)


def create_strategy(
    name: str,
    space: Space,
    seed: int = 0,
    *,
    objectives: Objectives | Mapping[str, str] | None = None,
    **options: Any,
) -> Strategy:
    """Construct the strategy registered as ``name`` for ``objectives`` (default: maximise
    ``val_acc``); an option an earlier version took is refused, naming what replaces it."""
    factory = STRATEGIES.get(name)
    return construct_strategy(name, factory, space, seed, Objectives.parse(objectives), options)


def construct_strategy(
    name: str,
    factory: Callable[..., S],
    space: Space,
    seed: int,
    objectives: Objectives,
    options: Mapping[str, Any],
) -> S:
    """``factory(space, seed=seed, objectives=objectives, **options)``, with one-line errors: an
    option an earlier version took names what replaces it, a bad option names the strategy."""
    check_replaced_options(name, factory, options, where="strategy options")
    try:
        return factory(space, seed=seed, objectives=objectives, **options)
    except TypeError as exc:
        if "objectives" in str(exc):
            raise ConfigError(
                f"strategy {name!r}: a strategy factory must accept objectives= (the "
                f"experiment's Objectives), as Strategy subclasses do: {exc}"
            ) from None
        raise ConfigError(f"strategy {name!r}: {exc}") from None


#: what :func:`list_strategies` can list
KINDS: tuple[str, ...] = ("multi-trial", "one-shot", "all")


def list_strategies(kind: str = "multi-trial") -> list[str]:
    """Registered names of ``kind``: ``"multi-trial"`` (ask/tell strategies, the default: what
    a conformance suite or a benchmark over strategies wants), ``"one-shot"`` (methods that train
    a supernet, :class:`nasforge.oneshot.OneShotMethod`) or ``"all"``."""
    if kind not in KINDS:
        raise ConfigError(f"kind={kind!r}; allowed: {', '.join(map(repr, KINDS))}")
    if kind == "all":
        return STRATEGIES.names()
    wanted = kind == "one-shot"
    return [name for name in STRATEGIES.names() if _is_one_shot(name) == wanted]


def _is_one_shot(name: str) -> bool:
    target = STRATEGIES.target(name)
    if isinstance(target, str):  # not imported: the built-in one-shot methods live in oneshot/
        return target.startswith("nasforge.oneshot.")
    # OneShotMethod says so (strategies may not import oneshot, which sits above them)
    return getattr(target, "one_shot", False) is True


__all__ = [
    "MULTI_OBJECTIVE_STRATEGIES",
    "STRATEGIES",
    "RandomSearch",
    "RegularizedEvolution",
    "Strategy",
    "construct_strategy",
    "create_strategy",
    "list_strategies",
    "register_strategy",
]
