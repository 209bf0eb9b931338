"""Making the parts of an experiment from what a user passes: names, objects or factories.

Each function checks its input and raises a one-line :class:`~nasforge.errors.ConfigError`
naming the field and what is allowed; none of them touches the store.
"""

from __future__ import annotations

import json
import platform
import warnings
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError, NasforgeError, NasforgeWarning
from nasforge.estimation import Evaluator, FunctionEvaluator, create_evaluator
from nasforge.objectives import Objectives
from nasforge.oneshot import OneShotMethod
from nasforge.schedulers import SCHEDULERS, Scheduler
from nasforge.space import Space
from nasforge.strategies import MULTI_OBJECTIVE_STRATEGIES, STRATEGIES, Strategy

if TYPE_CHECKING:
    from nasforge.execution import Executor
    from nasforge.experiment.spec import Component, ExperimentSpec

#: what a ``strategy`` name or factory makes: an ask/tell strategy or a one-shot method
SearchMethod = Strategy | OneShotMethod

#: the largest seed (the store keeps it as a signed 64-bit integer)
MAX_SEED = 2**63 - 1
#: the most trials a budget may ask for
MAX_TRIALS = 1_000_000
#: the longest ``max_time`` in seconds: a year
MAX_TIME_S = 366 * 24 * 3600
#: the most bytes a free-form section (``fidelity``, each ``options``) may take as stored JSON
MAX_SECTION_BYTES = 64 * 1024


def check_seed(seed: Any, field: str = "seed") -> int:
    """``seed`` if it is an integer from 0 to 2**63-1 (not a bool); a ``ConfigError`` naming
    ``field`` otherwise."""
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed <= MAX_SEED:
        raise ConfigError(f"{field} must be an integer from 0 to 2**63-1, got {seed!r}")
    return seed


def check_budget(
    max_trials: Any,
    max_time: Any,
    trials_field: str = "max_trials",
    time_field: str = "max_time",
) -> None:
    """Refuse a budget that cannot end or that no search could mean (bounds: :data:`MAX_TRIALS`
    trials, :data:`MAX_TIME_S` seconds); ``None`` leaves that part unset."""
    if max_trials is not None and (
        isinstance(max_trials, bool)
        or not isinstance(max_trials, int)
        or not 1 <= max_trials <= MAX_TRIALS
    ):
        raise ConfigError(
            f"{trials_field} must be an integer from 1 to {MAX_TRIALS:,}, got {max_trials!r}"
        )
    if max_time is not None and (
        isinstance(max_time, bool)
        or not isinstance(max_time, (int, float))
        or not 0 < max_time <= MAX_TIME_S
    ):
        raise ConfigError(
            f"{time_field} must be a number of seconds > 0 and at most {MAX_TIME_S:,} (a "
            f"year), got {max_time!r}"
        )


def check_stored(section: str, value: Any, limit: int = MAX_SECTION_BYTES) -> None:
    """Refuse a free-form ``section`` of the experiment's record that is not JSON or takes more
    than ``limit`` bytes as JSON (counted while encoding: a structure that repeats itself is
    not expanded past the limit)."""
    size = 0
    try:
        for chunk in json.JSONEncoder().iterencode(value):
            size += len(chunk.encode())
            if size > limit:
                raise ConfigError(
                    f"{section} takes more than {limit:,} bytes as JSON; allowed: at most "
                    f"{limit:,} (a setting, not data: pass data to the evaluator itself)"
                )
    except (TypeError, ValueError) as exc:
        raise ConfigError(
            f"{section} cannot be stored: {exc}; allowed: numbers, strings, booleans, None, "
            "lists and mappings with string keys"
        ) from None


def check_sections(sections: Mapping[str, Any]) -> None:
    """Refuse a free-form section the experiment's record could not keep: one that is not JSON
    or takes more than :data:`MAX_SECTION_BYTES` (a ``config``: 16 times that)."""
    for section, value in sections.items():
        limit = 16 * MAX_SECTION_BYTES if section == "config" else MAX_SECTION_BYTES
        check_stored(section, value, limit)


def check_record(spec: ExperimentSpec) -> None:
    """:func:`check_sections` of every free-form section of a record: the fidelity, the
    options of the space, strategy, evaluator and scheduler, the pre-filter and the config."""
    parts = {"space_options": spec.space_component, "evaluator_options": spec.evaluator_component}
    check_sections(
        {
            "fidelity": spec.fidelity,
            "strategy_options": spec.strategy_options,
            "scheduler_options": spec.scheduler_options,
            "prefilter": spec.prefilter,
            **{key: part.options if part else None for key, part in parts.items()},
            "config": spec.config,
        }
    )


def defining_options(part: Any, component: Component | None) -> dict[str, Any] | None:
    """The options of a registered space or evaluator ``part`` that define what a trial means:
    those of its ``component`` (all of them, as they rebuild it) less those it declares as
    ``runtime_options`` (where or how fast it runs); ``None`` for a custom part."""
    if component is None:
        return None
    runtime = set(getattr(part, "runtime_options", ()))
    return {key: value for key, value in component.options.items() if key not in runtime}


@contextmanager
def naming(where: str) -> Iterator[None]:
    """Prefix the message of a user error raised inside with ``where`` it came from.

    The factories of spaces, evaluators, strategies and schedulers name the option they
    refuse (``nb201: n_cells=-1; allowed: ...``) but not the part of the experiment that gave
    it; the experiment names the part (``space``, ``evaluator``, ...) and a YAML search its
    file, so the CLI prints ``search.yaml: space: nb201: n_cells=-1; allowed: ...``. The error
    keeps its class (a test or a caller catching :class:`~nasforge.errors.UnknownNameError`
    still does) and a message that already starts with ``where`` (``fidelity has unknown key``)
    is left as it is.

    Example:
        >>> try:
        ...     with naming("space"):
        ...         raise ConfigError("nb201: n_cells=-1; allowed: an integer >= 1")
        ... except ConfigError as exc:
        ...     print(exc)
        space: nb201: n_cells=-1; allowed: an integer >= 1
    """
    try:
        yield
    except NasforgeError as exc:
        message = exc.args[0] if exc.args and isinstance(exc.args[0], str) else None
        if message is not None and not message.startswith(where):
            exc.args = (f"{where}: {message}", *exc.args[1:])
        raise


def make_space(space: Space | str, options: Mapping[str, Any]) -> Space:
    """A :class:`Space` given as such, or the registered space called ``space``."""
    if isinstance(space, Space):
        return space
    if isinstance(space, str):
        from nasforge.spaces import create_space

        return create_space(space, **options)
    raise ConfigError(f"space must be a Space or the name of a registered space, got {space!r}")


def make_evaluator(
    evaluator: Evaluator | Callable[..., Any] | str, options: Mapping[str, Any]
) -> Evaluator:
    """An :class:`Evaluator` as given, a registered one by name, or a user's function."""
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


def strategy_factory(
    strategy: str | Callable[..., SearchMethod],
) -> tuple[str, Callable[..., SearchMethod]]:
    """``(name, factory)`` of a registered strategy or one-shot method, or of a user's factory."""
    return _factory("strategy", strategy, (Strategy, OneShotMethod), STRATEGIES.get)


def scheduler_factory(
    scheduler: str | Callable[..., Scheduler] | None,
) -> tuple[str | None, Callable[..., Scheduler] | None]:
    """``(name, factory)`` of a registered scheduler or a user's factory; ``None`` for none."""
    if scheduler is None:
        return None, None
    return _factory("scheduler", scheduler, (Scheduler,), SCHEDULERS.get)


def _factory(
    kind: str, value: Any, bases: tuple[type, ...], lookup: Callable[[str], Any]
) -> tuple[str, Callable[..., Any]]:
    """``(name, factory)`` of a registered name or a user's factory (a class works)."""
    if isinstance(value, str):
        return value, lookup(value)
    if isinstance(value, bases):
        raise ConfigError(
            f"{kind} must be a name or a factory (e.g. the class), not an instance: a resumed "
            "experiment builds a fresh one and replays the stored trials into it"
        )
    if callable(value):
        return getattr(value, "name", "") or getattr(value, "__name__", "custom"), value
    raise ConfigError(f"{kind} must be a registered name or a factory, got {value!r}")


def check_prefilter(prefilter: Mapping[str, Any] | None, evaluator: Evaluator) -> dict[str, Any]:
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


def check_run_options(
    max_trials: int | None,
    max_time: float | None,
    heartbeat_s: float,
    stale_after: float,
    ends_itself: bool = False,
) -> None:
    """Refuse a budget that cannot end or liveness settings that would misjudge a live trial
    (``ends_itself``: the method ends on its own, as a one-shot method does after its epochs)."""
    if max_trials is None and max_time is None and not ends_itself:
        raise ConfigError("give max_trials or max_time (or both) so the search can end")
    check_budget(max_trials, max_time)
    check_liveness(heartbeat_s, stale_after)


def check_liveness(heartbeat_s: Any, stale_after: Any) -> None:
    """Refuse liveness settings that would misjudge a live trial: each a number of seconds
    above 0, and a heartbeat more often than a trial is judged stale."""
    for field, value in (("heartbeat_s", heartbeat_s), ("stale_after", stale_after)):
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
            raise ConfigError(f"{field} must be a number of seconds > 0, got {value!r}")
    if not stale_after > heartbeat_s:
        raise ConfigError(
            f"stale_after={stale_after!r} must be larger than heartbeat_s={heartbeat_s!r}, "
            "or a live trial's heartbeat would look stale"
        )


def check_devices_here(
    evaluator: Evaluator,
    executor: str | Executor,
    device: str,
    devices: Sequence[str] | str | None,
) -> None:
    """Refuse a device that trials run on this machine (executor ``local`` or ``processes``)
    would not find, before anything is stored; the evaluator says whether it uses one. A Ray
    cluster's machines, or a given executor's, are not this one's: their trials say so."""
    if executor == "local":
        wanted = [device]
    elif executor == "processes":
        listed = devices.split(",") if isinstance(devices, str) else list(devices or ())
        wanted = [d.strip() for d in listed if d.strip()] or [device]
    else:
        return
    for name in dict.fromkeys(wanted):
        evaluator.check_device(name)


def make_executor(
    executor: str | Executor,
    workers: int,
    devices: Sequence[str] | str | None,
    ray_address: str | None,
    gpus_per_trial: float,
    device: str,
) -> Executor:
    """The executor ``Experiment.run`` was asked for (an instance is used as it is)."""
    from nasforge.execution import Executor, create_executor

    if isinstance(executor, Executor):
        return executor
    if executor == "local" and devices:
        raise ConfigError(
            f"devices={devices!r} needs executor 'processes' with workers > 1 (--executor "
            f"processes --workers N); 'local' runs one trial at a time, workers={workers}"
        )
    if executor == "local" and ray_address:
        raise ConfigError("ray_address needs executor 'ray'; 'local' runs in this process")
    if ray_address and executor != "ray":
        raise ConfigError(f"ray_address needs executor 'ray', not {executor!r}")
    return create_executor(
        executor,
        workers,
        devices=devices,
        ray_address=ray_address,
        default_device=device,
        gpus_per_trial=gpus_per_trial,
    )


def check_one_shot(
    method: SearchMethod, name: str, scheduler: str | None, prefilter: Mapping[str, Any]
) -> None:
    """A one-shot method runs its own search: no scheduler or pre-filter in front of it."""
    if isinstance(method, OneShotMethod):
        for option, value in (("scheduler", scheduler), ("prefilter", prefilter)):
            if value:
                raise ConfigError(
                    f"{option}: strategy {name!r} is a one-shot method, which evaluates "
                    f"candidates itself; remove the {option}"
                )


def check_one_shot_executor(
    method: SearchMethod, name: str, executor: str | Executor, workers: int
) -> None:
    """A one-shot method trains one supernet in this process: the local executor, 1 worker."""
    if isinstance(method, OneShotMethod) and (executor != "local" or workers != 1):
        raise ConfigError(
            f"executor: strategy {name!r} is a one-shot method, which trains one supernet in "
            "this process; run it with the local executor and 1 worker"
        )


def check_trial_timeout(method: SearchMethod, name: str, trial_timeout: float | None) -> None:
    """``trial_timeout`` is a number of seconds > 0, or None; a one-shot method has no trials
    to time out."""
    if trial_timeout is None:
        return
    if (
        isinstance(trial_timeout, bool)
        or not isinstance(trial_timeout, (int, float))
        or not trial_timeout > 0
    ):
        raise ConfigError(
            f"trial_timeout must be a number of seconds > 0 (or None), got {trial_timeout!r}"
        )
    if isinstance(method, OneShotMethod):
        raise ConfigError(
            f"trial_timeout: strategy {name!r} is a one-shot method, which runs no separate "
            "trials to time out; leave trial_timeout unset"
        )


def check_multi_objective(objectives: Objectives, method: SearchMethod, name: str) -> None:
    """Refuse several objectives for a search method that optimises one only.

    Such a method would optimise the primary objective and leave the others to chance: a
    search that looks like a Pareto search and is not one. The message names the methods that
    search several.
    """
    if not objectives.multi or method.multi_objective:
        return
    listed = ", ".join(f"{n!r} ({d})" for n, d in objectives.items())
    raise ConfigError(
        f"strategy {name!r} optimises one objective and cannot search several ({listed}); "
        f"use {', '.join(MULTI_OBJECTIVE_STRATEGIES)} or reinforce with a reward option, or "
        "keep one objective"
    )


def warn_single_objective(objectives: Objectives, scheduler: Scheduler | str | None) -> None:
    """Say so when the scheduler stops trials by the primary of several objectives alone.

    ``scheduler`` is the search's scheduler (or its name): one that is ``multi_objective``
    (``moasha``) judges every objective and is not warned about."""
    if (
        objectives.multi
        and scheduler is not None
        and not getattr(scheduler, "multi_objective", False)
    ):
        label = scheduler
        if not isinstance(scheduler, str):
            label = scheduler.name or type(scheduler).__name__
        warnings.warn(
            f"scheduler {label!r} stops trials by the primary objective "
            f"{objectives.primary!r} alone; 'moasha' judges every objective",
            NasforgeWarning,
            stacklevel=3,
        )


def versions() -> dict[str, str]:
    """The versions of Python and of the packages a search's results depend on."""
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for package in ("nasforge", "torch", "numpy", "optuna", "sqlalchemy"):
        try:
            out[package] = version(package)
        except PackageNotFoundError:
            out[package] = "not installed"
    return out


__all__ = [
    "MAX_SECTION_BYTES",
    "MAX_SEED",
    "MAX_TIME_S",
    "MAX_TRIALS",
    "SearchMethod",
    "check_budget",
    "check_devices_here",
    "check_liveness",
    "check_multi_objective",
    "check_one_shot",
    "check_one_shot_executor",
    "check_prefilter",
    "check_record",
    "check_run_options",
    "check_sections",
    "check_seed",
    "check_stored",
    "check_trial_timeout",
    "defining_options",
    "make_evaluator",
    "make_executor",
    "make_space",
    "naming",
    "scheduler_factory",
    "strategy_factory",
    "versions",
    "warn_single_objective",
]
