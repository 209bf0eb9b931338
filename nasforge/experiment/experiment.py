"""``Experiment``: space + strategy + evaluator + objectives + storage, resumable by name."""

from __future__ import annotations

import platform
import warnings
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError, NasforgeWarning, StorageError
from nasforge.estimation import Evaluator, FunctionEvaluator, create_evaluator
from nasforge.estimation.schedulers import SCHEDULERS, Scheduler
from nasforge.experiment._loop import Callback, OnReport, SearchLoop, reclaim_running, replay
from nasforge.experiment.spec import Component, ExperimentSpec
from nasforge.objectives import Objectives
from nasforge.space import Space
from nasforge.storage import DEFAULT_STORAGE, ExperimentRecord, Storage
from nasforge.strategies import STRATEGIES, Strategy, construct_strategy
from nasforge.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from nasforge.execution import Executor


class Experiment:
    """A tracked, resumable search.

    Constructing an ``Experiment`` with the name of one already in ``storage`` resumes it: the
    finished trials are kept, a trial that was running when the process stopped is marked
    ``interrupted`` and evaluated again, and the strategy is rebuilt by replaying the stored
    asks and tells in order. The settings that define the search (space, strategy and its
    options, objectives, seed) must match the stored ones.

    Args:
        space: a :class:`~nasforge.space.Space`, or the name of a registered model space.
        strategy: the name of a registered strategy, or a factory
            ``(space, seed=..., objectives=...) -> Strategy`` (a Strategy subclass works).
        evaluator: an :class:`~nasforge.estimation.Evaluator`, a function ``arch -> metrics``
            (or ``(arch, ctx) -> metrics``), or the name of a registered evaluator.
        objectives: metric name to ``"max"`` or ``"min"``; the first one ranks trials. A list of
            names means maximise each.
        storage: a SQLAlchemy URL or a file path (SQLite); default ``sqlite:///nasforge.db``.
        name: the experiment's name in the store.
        seed: seeds the strategy and, per trial, the evaluation.
        strategy_options: keyword options of the strategy.
        evaluator_options: keyword options when ``evaluator`` is a name.
        space_options: keyword options when ``space`` is a name.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``, passed to the evaluator.
        fidelity: e.g. ``{"epochs": 5}``, passed to the evaluator.
        max_retries: how often a trial interrupted by a crash is evaluated again.
        config: the configuration this experiment came from, stored with it for the record.
        scheduler: an early-stopping scheduler: the name of a registered one (``"asha"``,
            ``"median"``, ``"hyperband"``, ``"learning-curve"``) or a factory
            ``(**options) -> Scheduler``; ``None`` trains every trial to the end. It judges the
            first objective after each ``ctx.report`` and stops (prunes) the trial when its
            rule says so. Its full step is its ``max_step`` option, else ``fidelity["epochs"]``,
            else the evaluator's ``epochs``.
        scheduler_options: keyword options of the scheduler.
        prefilter: a zero-cost pre-filter in front of the strategy, e.g.
            ``{"proxy": "synflow", "candidates": 10}``: each ask scores ``candidates`` proposals
            of the strategy with the proxy at initialisation (on the CPU, on a mini-batch of
            the train evaluator's data) and trains only the best (Abdelfattah et al. 2021).
            Needs a :class:`~nasforge.estimation.train.TrainEvaluator`.

    Example:
        >>> import nasforge as nf
        >>> space = nf.CellSpace(4, ["skip_connect", "nor_conv_3x3"])
        >>> exp = nf.Experiment(space, "random", lambda arch: {"convs": arch.key.count("conv")},
        ...                     objectives={"convs": "max"}, storage="sqlite:///:memory:")
        >>> _ = exp.run(max_trials=10, progress=False)
        >>> exp.best().metrics["convs"] >= 3
        True
    """

    def __init__(
        self,
        space: Space | str,
        strategy: str | Callable[..., Strategy] = "regularized-evolution",
        evaluator: Evaluator | Callable[..., Any] | str = "train",
        objectives: Mapping[str, str] | Sequence[str] | str | None = None,
        storage: str | Path | Storage = DEFAULT_STORAGE,
        name: str = "nasforge",
        seed: int = 0,
        strategy_options: Mapping[str, Any] | None = None,
        evaluator_options: Mapping[str, Any] | None = None,
        space_options: Mapping[str, Any] | None = None,
        device: str = "auto",
        fidelity: Mapping[str, Any] | None = None,
        max_retries: int = 2,
        config: Mapping[str, Any] | None = None,
        scheduler: str | Callable[..., Scheduler] | None = None,
        scheduler_options: Mapping[str, Any] | None = None,
        prefilter: Mapping[str, Any] | None = None,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigError(f"name must be a non-empty string, got {name!r}")
        if isinstance(seed, bool) or not isinstance(seed, int):
            raise ConfigError(f"seed must be an integer, got {seed!r}")
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        self.name = name
        self.seed = seed
        self.device = device
        self.fidelity = dict(fidelity or {})
        self.max_retries = max_retries
        self.objectives = Objectives.parse(objectives)
        self.space = _space(space, space_options or {})
        self.strategy_options = dict(strategy_options or {})
        self.strategy_name, self._strategy_factory = _strategy_factory(strategy)
        self.evaluator = _evaluator(evaluator, evaluator_options or {})
        self.objectives.check_metrics(self.evaluator.metric_names, type(self.evaluator).__name__)
        self.prefilter = _prefilter(prefilter, self.evaluator)
        self._prefilter_score: Callable[[Any], float] | None = None
        self.strategy_ = self.new_strategy()  # checks the options before anything is stored
        self.scheduler_options = dict(scheduler_options or {})
        self.scheduler_name, self._scheduler_factory = _scheduler_factory(scheduler)
        if self._scheduler_factory is None and self.scheduler_options:
            raise ConfigError("scheduler_options given without a scheduler; name one")
        self.scheduler_ = self.new_scheduler()
        self._warn_single_objective()
        self.storage = storage if isinstance(storage, Storage) else Storage(storage)
        self.config = dict(config or {})
        self.record = self._open_record()

    def __repr__(self) -> str:
        return f"Experiment({self.name!r}, storage={self.storage.url!r})"

    # ---- set-up ------------------------------------------------------------------------------

    def new_strategy(self) -> Strategy:
        """A fresh strategy with this experiment's space, seed and options (behind the
        pre-filter when one is set)."""
        strategy = construct_strategy(
            self.strategy_name,
            self._strategy_factory,
            self.space,
            self.seed,
            self.objectives,
            self.strategy_options,
        )
        if not self.prefilter:
            return strategy
        from nasforge.strategies.prefilter import prefiltered

        if self._prefilter_score is None:
            from nasforge.estimation.zero_cost import ZeroCostEvaluator

            data = self.evaluator.load_data()
            proxies = ZeroCostEvaluator(data, device="cpu")  # the CPU: the same scores on resume
            self._prefilter_score = proxies.scorer(self.space, self.prefilter["proxy"], self.seed)
        proxy, candidates = self.prefilter["proxy"], self.prefilter["candidates"]
        return prefiltered(strategy, self._prefilter_score, candidates, metric=proxy)

    def new_scheduler(self) -> Scheduler | None:
        """A fresh scheduler bound to this search (``None`` without one)."""
        if self._scheduler_factory is None:
            return None
        try:
            scheduler = self._scheduler_factory(**self.scheduler_options)
        except TypeError as exc:
            raise ConfigError(f"scheduler {self.scheduler_name!r}: {exc}") from None
        max_step = self.evaluator.max_step(self.fidelity)
        return scheduler.bind(self.space, max_step, self.objectives)

    def _warn_single_objective(self) -> None:
        """Say so when a part of the search optimises only the primary of several objectives."""
        if not self.objectives.multi:
            return
        others = ", ".join(repr(n) for n in self.objectives.names[1:])
        if not self.strategy_.multi_objective:
            warnings.warn(
                f"strategy {self.strategy_name!r} optimises one objective, the primary "
                f"{self.objectives.primary!r}; {others} are recorded and rank the Pareto front. "
                "To search the front use optuna:nsga2, optuna:tpe or random",
                NasforgeWarning,
                stacklevel=3,
            )
        if self.scheduler_ is not None:
            warnings.warn(
                f"scheduler {self.scheduler_name!r} stops trials by the primary objective "
                f"{self.objectives.primary!r} alone",
                NasforgeWarning,
                stacklevel=3,
            )

    def spec(self) -> ExperimentSpec:
        """How this search is set up: its identity (a resumed run must match it) and what
        rebuilds its space and evaluator (its config, or the registered names and options of
        the ones it was given)."""
        from nasforge.estimation import EVALUATORS
        from nasforge.spaces import SPACES

        parts = []
        for registry, obj in ((SPACES, self.space), (EVALUATORS, self.evaluator)):
            found = registry.options_of(obj)
            parts.append(Component(*found) if found is not None else None)
        return ExperimentSpec(
            space=self.space.name,
            space_size=self.space.size(),
            space_dims=tuple(self.space.names),
            strategy=self.strategy_name,
            strategy_options=dict(self.strategy_options),
            objectives=self.objectives,
            seed=self.seed,
            scheduler=self.scheduler_name,
            scheduler_options=dict(self.scheduler_options) if self.scheduler_name else None,
            prefilter=dict(self.prefilter) or None,
            config=dict(self.config),
            device=self.device,
            space_component=parts[0],
            evaluator_component=parts[1],
        )

    def _open_record(self) -> ExperimentRecord:
        spec = self.spec()
        record = self.storage.find_experiment(self.name)
        if record is None:
            return self.storage.create_experiment(
                self.name,
                self.seed,
                self.objectives.to_json(),
                spec.to_json(),
                versions={**_versions(), **self.evaluator.fingerprint()},
            )
        stored = dict(record.spec)
        factory = self._strategy_factory
        if isinstance(factory, type) and issubclass(factory, Strategy):
            # options an earlier version took and the objectives now set (n_objectives) are
            # not part of the search's identity any more: an older store still resumes
            replaced = factory.replaced_options
            stored["strategy_options"] = {
                k: v for k, v in (stored.get("strategy_options") or {}).items() if k not in replaced
            }
        difference = spec.first_difference(stored)
        if difference is not None:
            key, stored, value = difference
            raise StorageError(
                f"experiment {self.name!r} in {self.storage.url!r} was started with "
                f"{key}={stored!r}, not {value!r}; use the same settings to resume it, "
                "or another name"
            )
        return record

    # ---- running -----------------------------------------------------------------------------

    def run(
        self,
        max_trials: int | None = None,
        max_time: float | None = None,
        progress: bool = True,
        callbacks: Sequence[Callback] = (),
        executor: str | Executor = "local",
        workers: int = 1,
        devices: Sequence[str] | str | None = None,
        ray_address: str | None = None,
        gpus_per_trial: float = 0.0,
        heartbeat_s: float = 2.0,
        stale_after: float = 30.0,
    ) -> list[Trial]:
        """Search until ``max_trials`` trials in total have finished or ``max_time`` seconds pass.

        ``max_trials`` counts the experiment's archs evaluated so far, resumed runs included;
        ``max_time`` counts this call only (trials running when it passes finish). Returns the
        trials this call finished.

        Execution: ``executor="local"`` evaluates one trial at a time in this process (the
        default; the same seed gives the same search). ``"processes"`` runs ``workers`` local
        worker processes (``devices`` such as ``"cuda:0,cuda:1"`` round-robin over them; CPU
        threads split between CPU workers); ``"ray"`` runs each trial as a Ray task on the
        cluster at ``ray_address`` (``None``: a local Ray for this run), ``gpus_per_trial``
        (fractions allowed) each. An :class:`~nasforge.execution.Executor` instance works too.
        With several workers the order in which results arrive depends on timing, so two runs
        may differ; every finished trial is stored once and a resume replays them in order.

        Faults: a trial left ``running`` by a driver that died is retried (its process is gone,
        or its heartbeat, written every ``heartbeat_s`` seconds, is older than ``stale_after``);
        a live driver of the same experiment elsewhere is refused with a message.
        """
        if max_trials is None and max_time is None:
            raise ConfigError("give max_trials or max_time (or both) so the search can end")
        if max_trials is not None and (isinstance(max_trials, bool) or max_trials < 1):
            raise ConfigError(f"max_trials must be an integer >= 1, got {max_trials!r}")
        if max_time is not None and not max_time > 0:
            raise ConfigError(f"max_time must be a number of seconds > 0, got {max_time!r}")
        for field, value in (("heartbeat_s", heartbeat_s), ("stale_after", stale_after)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
                raise ConfigError(f"{field} must be a number of seconds > 0, got {value!r}")
        if not stale_after > heartbeat_s:
            raise ConfigError(
                f"stale_after={stale_after!r} must be larger than heartbeat_s={heartbeat_s!r}, "
                "or a live trial's heartbeat would look stale"
            )
        runner = self._executor(executor, workers, devices, ray_address, gpus_per_trial)
        reclaim_running(self, stale_after)
        strategy = self.new_strategy()
        stored = self.storage.trials(self.record.id)  # with curves: strategies and schedulers
        state = replay(strategy, stored, self.max_retries)  # learn from pruned trials' curves
        self.strategy_ = strategy
        scheduler = self.new_scheduler()
        if scheduler is not None:
            scheduler.replay(stored)
        self.scheduler_ = scheduler
        loop = SearchLoop(self, strategy, state, scheduler)

        def go(callbacks: Sequence[Callback], on_report: OnReport = None) -> list[Trial]:
            if runner is None:
                return loop.run(max_trials, max_time, callbacks, on_report, heartbeat_s)
            return loop.run_parallel(
                runner, max_trials, max_time, callbacks, on_report, heartbeat_s
            )

        if not progress:
            return go(callbacks)
        from nasforge.experiment._progress import SearchProgress

        with SearchProgress(self, stored, max_trials) as bar:
            return go([*callbacks, bar.on_trial], bar.on_report)

    def _executor(
        self,
        executor: str | Executor,
        workers: int,
        devices: Sequence[str] | str | None,
        ray_address: str | None,
        gpus_per_trial: float,
    ) -> Executor | None:
        from nasforge.execution import Executor, create_executor

        if isinstance(executor, Executor):
            return executor
        if executor == "local" and (devices or ray_address):
            raise ConfigError("devices and ray_address need executor 'processes' or 'ray'")
        if ray_address and executor != "ray":
            raise ConfigError(f"ray_address needs executor 'ray', not {executor!r}")
        return create_executor(
            executor,
            workers,
            devices=devices,
            ray_address=ray_address,
            default_device=self.device,
            gpus_per_trial=gpus_per_trial,
        )

    # ---- results -----------------------------------------------------------------------------

    def trials(self, status: TrialStatus | str | None = None) -> list[Trial]:
        """Every stored trial by number, optionally only those with ``status``."""
        trials = self.storage.trials(self.record.id)
        if status is None:
            return trials
        wanted = TrialStatus(status)
        return [t for t in trials if t.status == wanted]

    def best(self) -> Trial | None:
        """The complete trial with the best first objective (the earliest among equals)."""
        return best_trial(self.storage.trials(self.record.id, intermediate=False))

    def pareto_front(self) -> list[Trial]:
        """Complete trials no other complete trial beats on every objective."""
        return pareto_trials(self.storage.trials(self.record.id, intermediate=False))


def best_trial(trials: Sequence[Trial]) -> Trial | None:
    """The complete trial with the largest ``score``; ties go to the lower number."""
    done = [t for t in trials if t.status == TrialStatus.COMPLETE and t.score is not None]
    if not done:
        return None
    return min(done, key=lambda t: (-t.score, t.number))  # type: ignore[operator]


def pareto_trials(trials: Sequence[Trial]) -> list[Trial]:
    """The trials with scores that no other such trial beats on every objective, by number."""
    done = [t for t in trials if t.scores is not None]
    front = []
    for t in done:
        dominated = any(
            all(a >= b for a, b in zip(o.scores, t.scores, strict=True))  # type: ignore[arg-type]
            and any(a > b for a, b in zip(o.scores, t.scores, strict=True))  # type: ignore[arg-type]
            for o in done
        )
        if not dominated:
            front.append(t)
    return front


def _space(space: Space | str, options: Mapping[str, Any]) -> Space:
    if isinstance(space, Space):
        return space
    if isinstance(space, str):
        from nasforge.spaces import create_space

        return create_space(space, **options)
    raise ConfigError(f"space must be a Space or the name of a registered space, got {space!r}")


def _strategy_factory(
    strategy: str | Callable[..., Strategy],
) -> tuple[str, Callable[..., Strategy]]:
    return _factory("strategy", strategy, Strategy, STRATEGIES.get)


def _scheduler_factory(
    scheduler: str | Callable[..., Scheduler] | None,
) -> tuple[str | None, Callable[..., Scheduler] | None]:
    if scheduler is None:
        return None, None
    return _factory("scheduler", scheduler, Scheduler, SCHEDULERS.get)


def _factory(
    kind: str, value: Any, base: type, lookup: Callable[[str], Any]
) -> tuple[str, Callable[..., Any]]:
    """``(name, factory)`` of a registered name or a user's factory (a class works)."""
    if isinstance(value, str):
        return value, lookup(value)
    if isinstance(value, base):
        raise ConfigError(
            f"{kind} must be a name or a factory (e.g. the class), not an instance: a resumed "
            "experiment builds a fresh one and replays the stored trials into it"
        )
    if callable(value):
        return getattr(value, "name", "") or getattr(value, "__name__", "custom"), value
    raise ConfigError(f"{kind} must be a registered name or a factory, got {value!r}")


def _prefilter(prefilter: Mapping[str, Any] | None, evaluator: Evaluator) -> dict[str, Any]:
    """Check the ``prefilter`` option; ``{}`` when there is none."""
    if not prefilter:
        return {}
    if not isinstance(prefilter, Mapping):
        raise ConfigError(
            f"prefilter must be a mapping like {{'proxy': 'synflow'}}, got {prefilter!r}"
        )
    unknown = sorted(set(prefilter) - {"proxy", "candidates"})
    if unknown:
        raise ConfigError(f"prefilter has unknown key {unknown[0]!r}; allowed: proxy, candidates")
    from nasforge.estimation.proxies import check_proxy_names

    (proxy,) = check_proxy_names([prefilter.get("proxy", "synflow")], field="prefilter.proxy")
    candidates = prefilter.get("candidates", 10)
    if isinstance(candidates, bool) or not isinstance(candidates, int) or candidates < 1:
        raise ConfigError(f"prefilter.candidates must be an integer >= 1, got {candidates!r}")
    if evaluator.load_data() is None:
        raise ConfigError(
            "prefilter needs an evaluator with training data (the 'train' evaluator) for its "
            f"mini-batch; {type(evaluator).__name__} has none"
        )
    return {"proxy": proxy, "candidates": candidates}


def _evaluator(
    evaluator: Evaluator | Callable[..., Any] | str, options: Mapping[str, Any]
) -> Evaluator:
    if isinstance(evaluator, Evaluator):
        return evaluator
    if isinstance(evaluator, str):
        return create_evaluator(evaluator, **options)
    if callable(evaluator):
        return FunctionEvaluator(evaluator)
    raise ConfigError(
        f"evaluator must be an Evaluator, a function arch -> metrics or a registered name, "
        f"got {evaluator!r}"
    )


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for package in ("nasforge", "torch", "numpy", "optuna", "sqlalchemy"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out
