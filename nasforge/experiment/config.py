"""A search described in YAML, checked in full before anything runs.

Example file::

    name: mnist1d-nb201
    seed: 0
    storage: sqlite:///nasforge.db
    space: {name: nb201, options: {n_cells: 1, channels: 16}}
    # any space's options may add training dimensions: training: {optimizer: [sgd, adam]}
    strategy: {name: regularized-evolution, options: {population_size: 10, sample_size: 3}}
    evaluator: {name: train, options: {dataset: mnist1d, epochs: 10}}
    scheduler: {name: asha, options: {reduction_factor: 3}}   # optional early stopping
    prefilter: {proxy: synflow, candidates: 10}              # optional zero-cost pre-filter
    objectives: {val_acc: max}
    constraints: [params <= 60000]                           # optional hard limits
    budget: {max_trials: 20, max_time: 600}
    execution: {executor: processes, workers: 4}             # optional; default: in-process
    # execution may also set heartbeat_s (2) and stale_after (30): how often running trials
    # write a heartbeat, and how old one may be before a rerun takes the trial back; and
    # ordered: true, results told in the order asked (the same search with any workers)

``constraints`` is a list of ``"metric <operator> bound"`` strings or a mapping such as
``{params_m: "<= 0.5"}`` (quote a condition that starts with ``>``: YAML reads a bare ``>`` as
the start of a folded block); it is stored in the canonical mapping form.

``space``, ``strategy``, ``evaluator`` and ``scheduler`` may also be a bare name. Every key is
checked: an unknown key, an unknown name, a value of the wrong type (``true`` where a number is
meant), a key given twice, or a free-form section (``fidelity``, each ``options``) of more than
64 KiB as JSON raises a :class:`ConfigError` whose one-line message names the key and what is
allowed. A file whose aliases (``*name``) would expand it past 100,000 values is refused before
it is read further.
"""

from __future__ import annotations

import inspect
import types
import typing
from collections.abc import Callable, Mapping
from contextlib import nullcontext
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    ValidationInfo,
    create_model,
    field_validator,
)

from nasforge.constraints import Constraints
from nasforge.errors import ConfigError, UnknownNameError
from nasforge.estimation.base import DEVICE_FORMS, check_device_form
from nasforge.experiment._yaml import YamlRefused, load_yaml
from nasforge.experiment.components import (
    MAX_SECTION_BYTES,
    MAX_SEED,
    MAX_TIME_S,
    MAX_TRIALS,
    check_liveness,
    check_stored,
    naming,
)
from nasforge.registry import Registry
from nasforge.storage import DEFAULT_STORAGE


def _is_number(annotation: Any) -> bool:
    """Whether ``annotation`` is ``int`` or ``float``, or a union of them (and ``None``)."""
    if annotation in (int, float):
        return True
    if typing.get_origin(annotation) in (typing.Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        return bool(args) and all(a in (int, float) for a in args)
    return False


def _refuse_bool(value: Any) -> Any:
    """``value`` unless it is a boolean where a number is meant (pydantic would read 1 or 0)."""
    if isinstance(value, bool):
        raise ValueError("must be a number, not true or false")
    return value


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=False)

    @field_validator("*", mode="before")
    @classmethod
    def _no_booleans_for_numbers(cls, value: Any, info: ValidationInfo) -> Any:
        field = cls.model_fields.get(info.field_name or "")
        if field is not None and _is_number(field.annotation):
            return _refuse_bool(value)
        return value


class Component(_Strict):
    """A registered thing chosen by name, with its keyword options."""

    name: str
    options: dict[str, Any] = Field(default_factory=dict)


class Prefilter(_Strict):
    """A zero-cost pre-filter: score ``candidates`` proposals with ``proxy``, train the best."""

    proxy: str = "synflow"
    candidates: int = Field(default=10, ge=1)


class Execution(_Strict):
    """Where trials run; not part of the search's identity (a resume may use more workers).

    ``trial_timeout`` (seconds, default none) limits each trial: one that runs longer is
    stopped and stored ``failed`` with ``timed out after S s (trial_timeout)``, not retried.
    ``ordered: true`` tells the strategy the results in the order asked, so the same seed
    gives the same search with several workers (see ``Experiment.run``).
    """

    executor: Literal["local", "processes", "ray"] = "local"
    workers: int = Field(default=1, ge=1)
    devices: list[str] | None = None
    ray_address: str | None = None
    gpus_per_trial: float = Field(default=0.0, ge=0)
    heartbeat_s: float = Field(default=2.0, gt=0)
    stale_after: float = Field(default=30.0, gt=0)
    trial_timeout: float | None = Field(default=None, gt=0)
    ordered: bool = False

    def run_options(self) -> dict[str, Any]:
        """Keyword options of ``Experiment.run``; ``workers > 1`` alone means processes."""
        executor = self.executor
        if executor == "local" and self.workers > 1:
            executor = "processes"
        return {
            "executor": executor,
            "workers": self.workers,
            "devices": self.devices,
            "ray_address": self.ray_address,
            "gpus_per_trial": self.gpus_per_trial,
            "heartbeat_s": self.heartbeat_s,
            "stale_after": self.stale_after,
            "trial_timeout": self.trial_timeout,
            "ordered": self.ordered,
        }


class Budget(_Strict):
    """When the search ends: ``max_trials`` trials in total (at most a million), or
    ``max_time`` seconds of this run (at most a year)."""

    max_trials: int | None = Field(default=None, ge=1, le=MAX_TRIALS)
    max_time: float | None = Field(default=None, gt=0, le=MAX_TIME_S)


def _default_objectives() -> dict[str, Literal["max", "min"]]:
    return {"val_acc": "max"}


class SearchConfig(_Strict):
    """The whole search; see the module docstring for the file form."""

    name: str = "nasforge"
    seed: int = Field(default=0, ge=0, le=MAX_SEED)
    storage: str = DEFAULT_STORAGE
    device: str = "auto"
    space: Component
    strategy: Component = Component(name="regularized-evolution")
    evaluator: Component = Component(name="train")
    scheduler: Component | None = None
    prefilter: Prefilter | None = None
    objectives: dict[str, Literal["max", "min"]] = Field(default_factory=_default_objectives)
    # checked by ``Constraints.parse`` (in ``parse_config``), which names the bad entry
    constraints: Any = None
    budget: Budget = Field(default_factory=Budget)
    execution: Execution = Field(default_factory=Execution)
    fidelity: dict[str, Any] = Field(default_factory=dict)
    max_retries: int = Field(default=2, ge=0)

    @field_validator("space", "strategy", "evaluator", "scheduler", mode="before")
    @classmethod
    def _bare_name(cls, value: Any) -> Any:
        return {"name": value} if isinstance(value, str) else value

    @field_validator("device")
    @classmethod
    def _device_form(cls, value: str) -> str:
        try:
            return check_device_form(value)
        except ConfigError:  # pydantic names the key and the value
            raise ValueError(f"not a device; allowed: {DEVICE_FORMS}") from None


def load_config(path: str | Path) -> SearchConfig:
    """Read and check a YAML search file (names and options included)."""
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise ConfigError(f"cannot read config {str(path)!r}: {exc.strerror or exc}") from None
    try:
        data = load_yaml(text)
    except YamlRefused as exc:
        raise ConfigError(f"config {str(path)!r} line {exc.line}: {exc}") from None
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise ConfigError(f"config {str(path)!r}{where}: not valid YAML ({problem})") from None
    if not isinstance(data, Mapping):
        raise ConfigError(
            f"config {str(path)!r}: expected a mapping of keys, got {type(data).__name__}"
        )
    return parse_config(data, source=str(path))


def parse_config(data: Mapping[str, Any], source: str = "config") -> SearchConfig:
    """Check a config mapping; options are checked against each named factory's signature."""
    try:
        config = SearchConfig.model_validate(dict(data))
    except ValidationError as exc:
        raise ConfigError(f"{source}: {_first_error(exc, SearchConfig)}") from None
    from nasforge.estimation import EVALUATORS
    from nasforge.schedulers import SCHEDULERS
    from nasforge.strategies import STRATEGIES
    from nasforge.strategies.base import check_replaced_options

    try:
        constraints = Constraints.parse(config.constraints)
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None
    config = config.model_copy(update={"constraints": constraints.to_json() or None})
    for section, value in _free_form(config).items():
        try:
            check_stored(section, value, MAX_SECTION_BYTES)
        except ConfigError as exc:
            raise ConfigError(f"{source}: {exc}") from None
    try:
        check_liveness(config.execution.heartbeat_s, config.execution.stale_after)
    except ConfigError as exc:
        raise ConfigError(f"{source}: execution: {exc}") from None
    check_space_options(config.space, source)
    if config.strategy.name in STRATEGIES:  # before the signature: say what replaced them
        factory = STRATEGIES.get(config.strategy.name)
        where = f"{source}: strategy.options"
        check_replaced_options(config.strategy.name, factory, config.strategy.options, where)
    skip = ("space", "seed", "objectives")
    check_options(STRATEGIES, "strategy", config.strategy, source, skip=skip)
    check_options(EVALUATORS, "evaluator", config.evaluator, source, skip=())
    if config.scheduler is not None:
        check_options(SCHEDULERS, "scheduler", config.scheduler, source, skip=())
    if config.prefilter is not None:
        from nasforge.estimation.proxies import PROXIES

        if config.prefilter.proxy not in PROXIES:
            raise ConfigError(
                f"{source}: prefilter.proxy: unknown proxy {config.prefilter.proxy!r}; "
                f"known: {', '.join(PROXIES)}"
            )
    return config


def _free_form(config: SearchConfig) -> dict[str, Any]:
    """The sections of ``config`` that hold anything (stored as they are), by key path."""
    out: dict[str, Any] = {"fidelity": config.fidelity}
    for key in ("space", "strategy", "evaluator", "scheduler"):
        part = getattr(config, key)
        if part is not None:
            out[f"{key}.options"] = part.options
    return out


def build_experiment(config: SearchConfig, storage: Any = None, source: str = "") -> Any:
    """The :class:`~nasforge.Experiment` a checked config describes (resumed if it is stored).

    ``storage`` (a URL or a ``Storage``) replaces the config's store, e.g. when the experiment
    was read back from another URL than the one it was written with. ``source`` (the file the
    config was read from) starts the message of an error a component raises, after the part
    of the experiment it names: ``search.yaml: evaluator: unknown dataset 'mnist'; known: ...``.
    """
    from nasforge.experiment.experiment import Experiment

    with naming(source) if source else nullcontext():
        return Experiment(
            space=config.space.name,
            space_options=config.space.options,
            strategy=config.strategy.name,
            strategy_options=config.strategy.options,
            evaluator=config.evaluator.name,
            evaluator_options=config.evaluator.options,
            objectives=config.objectives,
            constraints=config.constraints,
            storage=config.storage if storage is None else storage,
            name=config.name,
            seed=config.seed,
            device=config.device,
            fidelity=config.fidelity,
            max_retries=config.max_retries,
            config=config.model_dump(mode="json"),
            scheduler=config.scheduler.name if config.scheduler is not None else None,
            scheduler_options=config.scheduler.options if config.scheduler is not None else None,
            prefilter=config.prefilter.model_dump() if config.prefilter is not None else None,
        )


def check_space_options(component: Component, source: str) -> None:
    """Check a space's options against its factory, and its ``training`` option (every space
    takes one: :func:`~nasforge.space.with_training`'s fields) against the training fields."""
    from nasforge.space.training import check_training_options
    from nasforge.spaces import SPACES, TRAINING_OPTION

    options = dict(component.options)
    training = options.pop(TRAINING_OPTION, None)
    own = component.model_copy(update={"options": options})
    check_options(SPACES, "space", own, source, skip=())
    if training is None or training is False:
        return
    try:
        check_training_options(training, where=f"space.options.{TRAINING_OPTION}")
    except ConfigError as exc:
        raise ConfigError(f"{source}: {exc}") from None


def check_options(
    registry: Registry[Any], key: str, component: Component, source: str, skip: tuple[str, ...]
) -> None:
    """Check ``component.options`` against the signature of the factory it names."""
    try:
        factory = registry.get(component.name)
    except UnknownNameError as exc:
        raise ConfigError(f"{source}: {key}.name: {exc}") from None
    model = _options_model(factory, skip)
    if model is None:
        return
    try:
        model.model_validate(component.options)
    except ValidationError as exc:
        raise ConfigError(f"{source}: {key}.options.{_first_error(exc, model)}") from None


def _options_model(factory: Callable[..., Any], skip: tuple[str, ...]) -> type[BaseModel] | None:
    target = factory.__init__ if inspect.isclass(factory) else factory  # type: ignore[misc]
    try:
        signature = inspect.signature(factory)
        hints = typing.get_type_hints(target)
    except (TypeError, ValueError, NameError):
        return None
    fields: dict[str, Any] = {}
    for name, param in signature.parameters.items():
        if name in skip or name == "self":
            continue
        if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
            return None  # accepts anything: nothing to check
        annotation = hints.get(name, Any)
        if _is_number(annotation):
            annotation = Annotated[annotation, BeforeValidator(_refuse_bool)]
        default = ... if param.default is inspect.Parameter.empty else param.default
        fields[name] = (annotation, default)
    return create_model(  # type: ignore[call-overload,no-any-return]
        f"{getattr(factory, '__name__', 'Factory')}Options",
        __config__=ConfigDict(extra="forbid", arbitrary_types_allowed=True),
        **fields,
    )


def _first_error(exc: ValidationError, model: type[BaseModel]) -> str:
    """One line naming the key path, the problem and, for unknown keys, what is allowed."""
    error = exc.errors()[0]
    loc = ".".join(str(part) for part in error["loc"])
    if error["type"] == "extra_forbidden":
        allowed = _allowed_keys(model, error["loc"][:-1])
        return f"{loc}: unknown key; allowed: {', '.join(allowed)}"
    if error["type"] == "missing":
        return f"{loc}: required key is missing"
    value = error.get("input")
    message = error["msg"].rstrip(".").removeprefix("Value error, ")
    return f"{loc}: {message} (got {value!r})"


def _allowed_keys(model: type[BaseModel], path: tuple[Any, ...]) -> list[str]:
    current: Any = model
    for part in path:
        field = getattr(current, "model_fields", {}).get(part)
        if field is None:
            return []
        current = field.annotation
    return sorted(getattr(current, "model_fields", {}))
