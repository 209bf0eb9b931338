"""``Experiment``: space + strategy + evaluator + objectives + storage, resumable by name."""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Callable, Collection, Mapping, Sequence
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.constraints import Constraints
from nasforge.errors import ConfigError
from nasforge.estimation import Evaluator
from nasforge.estimation.base import check_device_form
from nasforge.experiment import components
from nasforge.experiment._loop import OnReport, OnTrial, SearchLoop
from nasforge.experiment._record import open_record
from nasforge.experiment._views import ResultsView
from nasforge.experiment.components import SearchMethod
from nasforge.experiment.liveness import reclaim_running
from nasforge.experiment.replay import replay
from nasforge.experiment.results import best_trial, pareto_trials
from nasforge.experiment.session import RunSession
from nasforge.experiment.spec import Component, ExperimentSpec
from nasforge.objectives import Objectives
from nasforge.oneshot import OneShotMethod, format_report, load_report
from nasforge.schedulers import Scheduler
from nasforge.space import Space
from nasforge.storage import DEFAULT_STORAGE, ExperimentRecord, Storage, normalize_url
from nasforge.strategies import Strategy, construct_strategy
from nasforge.trial import Trial, TrialStatus

if TYPE_CHECKING:
    from nasforge.execution import Executor
    from nasforge.experiment._progress import SearchProgress

#: called after every finished trial with the experiment and the stored trial
Callback = Callable[["Experiment", Trial], None]


class Experiment(ResultsView):
    """A tracked, resumable search.

    Constructing an ``Experiment`` only checks and keeps its settings; the store is opened (and
    the experiment created or found in it) when something needs it: :meth:`run`,
    :meth:`trials`, :meth:`best`, :attr:`record`. An experiment whose name is already in
    ``storage`` resumes: the finished trials are kept, a trial that was running when the
    process stopped is marked ``interrupted`` and evaluated again, and the strategy is rebuilt
    by replaying the stored asks and tells in order. The settings that define the search
    (space and its options, strategy and its options, evaluator and its options, fidelity,
    objectives, seed, scheduler, pre-filter) must match the stored ones; where the trials run
    (executor, workers, devices, heartbeats) may change. Every setting is checked before
    anything is stored.

    Args:
        space: a :class:`~nasforge.space.Space`, or the name of a registered model space.
        strategy: the name of a registered strategy (or one-shot method), or a factory
            ``(space, seed=..., objectives=...) -> Strategy`` (a Strategy subclass works).
        evaluator: an :class:`~nasforge.estimation.Evaluator`, a function ``arch -> metrics``
            (or ``(arch, ctx) -> metrics``), or the name of a registered evaluator.
        objectives: metric name to ``"max"`` or ``"min"`` (an
            :class:`~nasforge.objectives.Objectives`); the first one ranks trials. A list of
            names means maximise each. One the evaluator declares it never returns is refused.
        constraints: hard limits on metrics, ``{"params_m": "<= 0.5"}`` or
            ``["params_m <= 0.5", "latency_ms <= 2"]`` (a
            :class:`~nasforge.constraints.Constraints`; operators ``<=``, ``<``, ``>=``,
            ``>``). A metric the evaluator can measure without training
            (:meth:`~nasforge.estimation.Evaluator.cheap_metrics`: ``params_m`` of a table, a
            ``per_arch`` measure of the train evaluator) is checked before the arch is
            trained: an arch that breaks a constraint is stored ``pruned`` and infeasible,
            untrained. Other constraints are checked on the trained metrics: a trial that
            breaks one is stored complete and infeasible. An infeasible trial has no scores,
            so :meth:`best` and :meth:`pareto_front` never return it; the strategy is told it
            (``trial.feasible``, ``trial.violations``). A constraint on a metric the
            evaluator declares it never returns is refused.
        storage: a SQLAlchemy URL, a file path (SQLite) or a :class:`~nasforge.storage.Storage`;
            default ``sqlite:///nasforge.db``.
        name: the experiment's name in the store.
        seed: seeds the strategy and, per trial, the evaluation: an integer from 0 to 2**63-1.
        strategy_options: keyword options of the strategy.
        evaluator_options: keyword options when ``evaluator`` is a name.
        space_options: keyword options when ``space`` is a name.
        device: ``"auto"``, ``"cpu"``, ``"cuda"`` or ``"cuda:N"``, passed to the evaluator
            (whether it is there is checked by :meth:`run` when trials run on this machine).
        fidelity: e.g. ``{"epochs": 5}``, passed to the evaluator, which checks it at once
            (:meth:`~nasforge.estimation.Evaluator.check_fidelity`). Like the options, it is
            stored as JSON of at most 64 KiB.
        max_retries: how often a trial interrupted by a crash is evaluated again.
        config: the configuration this experiment came from, stored with it for the record.
        scheduler: an early-stopping scheduler: the name of a registered one (``"asha"``,
            ``"moasha"``, ``"median"``, ``"hyperband"``, ``"learning-curve"``) or a factory
            ``(**options) -> Scheduler``; ``None`` trains every trial to the end. It judges the
            primary objective (``"moasha"``: every objective, by Pareto rank) after each
            ``ctx.report`` and stops (prunes) the trial when its rule says so. Its full step
            is its ``max_step`` option, else the evaluator's ``max_step(fidelity)`` (the
            epochs it trains).
        scheduler_options: keyword options of the scheduler.
        prefilter: a zero-cost pre-filter in front of the strategy, e.g.
            ``{"proxy": "synflow", "candidates": 10}``: each ask scores ``candidates`` proposals
            of the strategy with the proxy at initialisation (on the CPU, on a mini-batch of
            the train evaluator's data) and trains only the best (Abdelfattah et al. 2021).
            Needs an evaluator with training data.

    Example:
        >>> import nasforge as nf
        >>> space = nf.CellSpace(4, ["skip_connect", "nor_conv_3x3"])
        >>> exp = nf.Experiment(space, strategy="random",
        ...                     evaluator=lambda arch: {"convs": arch.key.count("conv")},
        ...                     objectives={"convs": "max"}, storage="sqlite:///:memory:")
        >>> _ = exp.run(max_trials=10, progress=False)
        >>> exp.best().metrics["convs"] >= 3
        True
    """

    def __init__(
        self,
        space: Space | str,
        *,
        strategy: str | Callable[..., SearchMethod] = "regularized-evolution",
        evaluator: Evaluator | Callable[..., Any] | str = "train",
        objectives: Objectives | Mapping[str, str] | Sequence[str] | str | None = None,
        constraints: Constraints | Mapping[str, str] | Sequence[str] | str | None = None,
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
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigError(f"max_retries must be an integer >= 0, got {max_retries!r}")
        if not isinstance(storage, (str, Path, Storage)):
            raise ConfigError(f"storage must be a URL, a file path or a Storage, got {storage!r}")
        if fidelity is not None and not isinstance(fidelity, Mapping):
            raise ConfigError(f"fidelity must be a mapping like {{'epochs': 5}}, got {fidelity!r}")
        sections = {"fidelity": fidelity, "strategy_options": strategy_options, "config": config}
        components.check_sections({**sections, "scheduler_options": scheduler_options})
        self.name = name
        self.seed = components.check_seed(seed)
        self.device = check_device_form(device)
        self.fidelity = dict(fidelity or {})
        self.max_retries = max_retries
        self.config = dict(config or {})
        self.objectives = Objectives.parse(objectives)
        self.constraints = Constraints.parse(constraints)
        self.strategy_options = dict(strategy_options or {})
        with components.naming("space"):
            self.space = components.make_space(space, space_options or {})
        with components.naming("strategy"):
            self.strategy_name, self._strategy_factory = components.strategy_factory(strategy)
        with components.naming("evaluator"):
            self.evaluator = components.make_evaluator(evaluator, evaluator_options or {})
        evaluator_name = type(self.evaluator).__name__
        self.objectives.check_metrics(self.evaluator.metric_names, evaluator_name)
        self.constraints.check_metrics(self.evaluator.metric_names, evaluator_name)
        self.evaluator.check_fidelity(self.fidelity, self.space)  # its messages name fidelity
        self.prefilter = components.check_prefilter(prefilter, self.evaluator)
        self._prefilter_score: Callable[[Any], float] | None = None
        self.scheduler_options = dict(scheduler_options or {})
        with components.naming("scheduler"):
            self.scheduler_name, self._scheduler_factory = components.scheduler_factory(scheduler)
        if self._scheduler_factory is None and self.scheduler_options:
            raise ConfigError("scheduler_options given without a scheduler; name one")
        with components.naming("strategy"):
            self.strategy_ = self.new_strategy()  # checks the options before anything is stored
        with components.naming("scheduler"):
            self.scheduler_ = self.new_scheduler()
        components.check_one_shot(
            self.strategy_, self.strategy_name, self.scheduler_name, self.prefilter
        )
        components.check_multi_objective(self.objectives, self.strategy_, self.strategy_name)
        components.warn_single_objective(self.objectives, self.scheduler_)
        components.check_record(self.spec())  # what the store will keep: JSON, and not too much
        self._storage = storage if isinstance(storage, Storage) else None
        self._storage_url = normalize_url(storage) if not isinstance(storage, Storage) else ""
        self._record: ExperimentRecord | None = None
        self._opening = threading.RLock()  # a thread may read trials while the search runs

    def __repr__(self) -> str:
        return f"Experiment({self.name!r}, storage={self.storage_url!r})"

    # ---- the store, opened when first needed -------------------------------------------------

    @property
    def storage_url(self) -> str:
        """Where the experiment is stored (known without opening the store)."""
        return self._storage.url if self._storage is not None else self._storage_url

    @property
    def storage(self) -> Storage:
        """The store (opened on first use)."""
        with self._opening:
            if self._storage is None:
                self._storage = Storage(self._storage_url)
            return self._storage

    @property
    def record(self) -> ExperimentRecord:
        """This experiment in the store: created on first use, or found and checked against
        these settings (a resume with other settings is refused, naming the one that differs)."""
        with self._opening:
            if self._record is None:
                self._record = self._open_record()
            return self._record

    # ---- set-up ------------------------------------------------------------------------------

    def new_strategy(self) -> SearchMethod:
        """A fresh strategy (or one-shot method) with this experiment's space, seed, objectives
        and options (a strategy behind the pre-filter when one is set)."""
        strategy = construct_strategy(
            self.strategy_name,
            self._strategy_factory,
            self.space,
            self.seed,
            self.objectives,
            self.strategy_options,
        )
        if not self.prefilter or not isinstance(strategy, Strategy):
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

    def spec(self) -> ExperimentSpec:
        """How this search is set up: its identity (a resumed run must match it) and what
        rebuilds its space and evaluator (its config, or the registered names and options of
        the ones it was given)."""
        space_part = Component.of_space(self.space)
        evaluator_part = Component.of_evaluator(self.evaluator)
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
            space_component=space_part,
            evaluator_component=evaluator_part,
            space_options=components.defining_options(self.space, space_part),
            evaluator=evaluator_part.name if evaluator_part else type(self.evaluator).__name__,
            evaluator_options=components.defining_options(self.evaluator, evaluator_part),
            fidelity=dict(self.fidelity),
            constraints=self.constraints,
        )

    def _open_record(self) -> ExperimentRecord:
        factory = self._strategy_factory
        replaced: Collection[str] = ()  # options an earlier version took, now not its identity
        if isinstance(factory, type) and issubclass(factory, Strategy):
            replaced = factory.replaced_options
        return open_record(self.storage, self.name, self.spec(), self.evaluator, replaced)

    def session(self) -> RunSession:
        """The narrow view of this experiment a search method runs against (opens the store);
        its trial numbers and ask/tell sequence continue after the stored trials."""
        from nasforge.execution import process_name

        session = RunSession(
            self.storage,
            self.record.id,
            self.objectives,
            self.space,
            self.evaluator,
            seed=self.seed,
            max_retries=self.max_retries,
            fidelity=dict(self.fidelity),
            device=self.device,
            worker=process_name(),
            constraints=self.constraints,
        )
        session.resume(session.trials(intermediate=False))
        return session

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
        trial_timeout: float | None = None,
        ordered: bool = False,
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
        ``ordered=True`` tells the strategy the results in the order it asked for them (a
        result that comes early waits, and so does its worker), so the same seed gives the
        same search with any number of workers.
        A one-shot method runs its own search in this process.

        Faults: a trial left ``running`` by a driver that died is retried (its process is gone,
        or its heartbeat, written every ``heartbeat_s`` seconds, is older than ``stale_after``);
        a live driver of the same experiment elsewhere is refused with a message. A trial whose
        worker dies while this process runs is retried up to ``max_retries`` times; one
        interrupted by this process stopping (Ctrl-C, SIGTERM, a kill) is retried by the next
        run however often that happens.

        ``trial_timeout`` (seconds) limits each trial with every executor: one that runs longer
        is stopped (its worker process killed, its Ray task cancelled, an in-process evaluation
        interrupted; see :mod:`nasforge.execution.local` for what cannot be interrupted there)
        and stored ``failed`` with ``timed out after S s (trial_timeout)``; it is not retried.
        ``max_time`` does not stop running trials; ``trial_timeout`` bounds them.

        When no trial has succeeded yet and the last
        :data:`~nasforge.experiment._loop.FAIL_FAST_TRIALS` (5, fewer with a smaller
        ``max_trials``) finished trials failed with the same error (the first line of their
        error text), the search stops with :class:`~nasforge.errors.SearchFailedError`; the
        failed trials stay stored.
        """
        runner = self.check_run(
            max_trials,
            max_time,
            executor,
            workers,
            devices,
            ray_address,
            gpus_per_trial,
            heartbeat_s,
            stale_after,
            trial_timeout,
            ordered,
        )
        session = self.session()
        reclaim_running(self.storage, self.record.id, self.name, stale_after)
        stored = session.trials()  # with curves: strategies and schedulers learn from them
        session.resume(stored)
        method = self.new_strategy()
        self.strategy_ = method
        on_trial: list[OnTrial] = [partial(callback, self) for callback in callbacks]
        on_report: OnReport = None
        bar = None
        if progress:
            from nasforge.experiment._progress import SearchProgress

            steps = self.evaluator.max_step(self.fidelity)
            total = max_trials
            if isinstance(method, OneShotMethod) and total is None:
                planned = method.planned_trials()
                total = None if planned is None else max(planned, len(stored))
            bar = SearchProgress(self.name, self.objectives, stored, total, steps)
            on_trial.append(bar.on_trial)
            on_report = bar.on_report
        with bar if bar is not None else contextlib.nullcontext():
            if isinstance(method, OneShotMethod):
                return self._run_one_shot(method, session, max_trials, max_time, on_trial, bar)
            state = replay(method, stored, self.max_retries)
            scheduler = self.new_scheduler()
            if scheduler is not None:
                scheduler.replay(stored)
            self.scheduler_ = scheduler
            loop = SearchLoop(session, method, state, scheduler)
            return loop.run(
                runner,
                max_trials,
                max_time,
                on_trial,
                on_report,
                heartbeat_s,
                trial_timeout,
                ordered,
            )

    def check_run(
        self,
        max_trials: int | None = None,
        max_time: float | None = None,
        executor: str | Executor = "local",
        workers: int = 1,
        devices: Sequence[str] | str | None = None,
        ray_address: str | None = None,
        gpus_per_trial: float = 0.0,
        heartbeat_s: float = 2.0,
        stale_after: float = 30.0,
        trial_timeout: float | None = None,
        ordered: bool = False,
    ) -> Executor:
        """Check the options of :meth:`run` as it does before it opens the store (the budget,
        the liveness settings, the trial time limit, the executor, and that the device of
        trials run on this machine is there) and return the executor that would run the
        trials (not started). For a caller that reads the store before it runs
        (``nasforge search``)."""
        components.check_run_options(
            max_trials,
            max_time,
            heartbeat_s,
            stale_after,
            ends_itself=isinstance(self.strategy_, OneShotMethod),
        )
        components.check_one_shot_executor(self.strategy_, self.strategy_name, executor, workers)
        components.check_trial_timeout(self.strategy_, self.strategy_name, trial_timeout)
        if not isinstance(ordered, bool):
            raise ConfigError(f"ordered={ordered!r}; allowed: True or False")
        runner = components.make_executor(
            executor, workers, devices, ray_address, gpus_per_trial, self.device
        )
        components.check_devices_here(self.evaluator, executor, self.device, devices)
        return runner

    def _run_one_shot(
        self,
        method: OneShotMethod,
        session: RunSession,
        max_trials: int | None,
        max_time: float | None,
        on_trial: Sequence[OnTrial],
        bar: SearchProgress | None = None,
    ) -> list[Trial]:
        def tell(trial: Trial) -> None:
            for callback in on_trial:
                callback(trial)

        finished = method.search(session, max_trials, max_time, tell)
        if bar is not None:  # the end of the run: what its result is worth, when it says
            report = load_report(self.storage, self.record.id)
            if report is not None:
                bar.note(format_report(report))
        return finished

    # ---- results -----------------------------------------------------------------------------

    def trials(self, status: TrialStatus | str | None = None) -> list[Trial]:
        """Every stored trial by number, optionally only those with ``status``, each with the
        constraints it breaks (``trial.violations``; ``trial.feasible``)."""
        trials = self._judged(intermediate=True)
        if status is None:
            return trials
        wanted = TrialStatus(status)
        return [t for t in trials if t.status == wanted]


__all__ = ["Callback", "Experiment", "best_trial", "pareto_trials"]
