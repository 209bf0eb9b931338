"""``ExperimentSpec``: the typed record of how an experiment was set up, as its store keeps it.

The store holds it as JSON (the ``spec`` of :class:`~nasforge.storage.ExperimentRecord`). Two
parts: the *identity* of the search (every setting that changes what a trial means or which
trials are run: the space and its options, the strategy and its options, the evaluator and its
options, the fidelity, the objectives and hard constraints, the seed, the scheduler, the
pre-filter), which a resumed run must match, and what rebuilds its space and evaluator later
(the YAML config of ``nasforge search``, or for an experiment made from Python the
``rebuild`` record of its built-in space and evaluator), which retrain, export and the plots
read back. Older records load too: a key they lack reads as absent, and a resume compares
only the identity keys they hold (:data:`LATER_KEYS`). Where trials run (executor, workers,
devices, heartbeats) is not part of the identity: a resume may change it.
"""

from __future__ import annotations

import json
import math
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from typing import Any

from nasforge.constraints import Constraints
from nasforge.errors import ConfigError
from nasforge.objectives import Objectives

#: keys present in a record only when a scheduler (or a pre-filter, or hard constraints) is
#: set; a resume must agree on them either way
OPTIONAL_KEYS: tuple[str, ...] = ("scheduler", "scheduler_options", "prefilter", "constraints")
#: identity keys that records written before them lack; a resume of such a record compares
#: what it holds (every record written since holds all of them)
LATER_KEYS: tuple[str, ...] = ("space_options", "evaluator", "evaluator_options", "fidelity")
#: identity keys holding every constructor option of a registered part: compared option by
#: option, those both sides hold (an option added or made a runtime option since is not)
PART_OPTIONS: tuple[str, ...] = ("space_options", "evaluator_options")


@dataclass(frozen=True)
class Component:
    """A registered space or evaluator, by name, with the keyword options that rebuild it."""

    name: str
    options: dict[str, Any] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        return {"name": self.name, "options": dict(self.options)}

    @classmethod
    def of_space(cls, space: Any) -> Component | None:
        """The registered name and options that rebuild ``space`` (``None``: a custom one)."""
        from nasforge.spaces import SPACES

        found = SPACES.options_of(space)
        return cls(*found) if found is not None else None

    @classmethod
    def of_evaluator(cls, evaluator: Any) -> Component | None:
        """The registered name and options that rebuild ``evaluator`` (``None``: a custom one)."""
        from nasforge.estimation import EVALUATORS

        found = EVALUATORS.options_of(evaluator)
        return cls(*found) if found is not None else None

    @classmethod
    def from_json(cls, data: Any) -> Component | None:
        if not isinstance(data, Mapping) or not data.get("name"):
            return None
        return cls(str(data["name"]), dict(data.get("options") or {}))


@dataclass(frozen=True)
class ExperimentSpec:
    """How an experiment was set up (see the module docstring).

    ``config`` is the checked YAML config of an experiment made by ``nasforge search``
    (``{}`` otherwise); ``space_component``/``evaluator_component`` are read from it, or from
    the ``rebuild`` record of an experiment made from Python (``None`` for a custom space or
    evaluator, which only the Python API can supply again).

    In the identity, ``evaluator`` is the registered name of the evaluator, and
    ``space_options``/``evaluator_options`` every constructor option of a registered space or
    evaluator less the evaluator's ``runtime_options`` (``device``, ``threads``), compared
    option by option (see :data:`PART_OPTIONS`). A custom space or evaluator (one whose
    options cannot be read back) is compared by what can be described: a space by its name,
    size and dimensions (``space_options`` is ``None``), an evaluator by its class name
    (``evaluator_options`` is ``None``); what its code does is not compared.
    """

    space: str
    space_size: int | float
    space_dims: tuple[str, ...]
    strategy: str
    strategy_options: dict[str, Any]
    objectives: Objectives
    seed: int
    scheduler: str | None = None
    scheduler_options: dict[str, Any] | None = None
    prefilter: dict[str, Any] | None = None
    config: dict[str, Any] = field(default_factory=dict)
    device: str = "auto"
    space_component: Component | None = None
    evaluator_component: Component | None = None
    space_options: dict[str, Any] | None = None
    evaluator: str = ""
    evaluator_options: dict[str, Any] | None = None
    fidelity: dict[str, Any] = field(default_factory=dict)
    constraints: Constraints = field(default_factory=Constraints)

    # ---- identity -----------------------------------------------------------------------------

    def identity(self) -> dict[str, Any]:
        """The settings a resumed run must match, as stored (scheduler keys only when set)."""
        out: dict[str, Any] = {
            "space": self.space,
            "space_size": "inf" if math.isinf(self.space_size) else self.space_size,
            "space_dims": list(self.space_dims),
            "strategy": self.strategy,
            "strategy_options": dict(self.strategy_options),
            "objectives": self.objectives.to_json(),
            "seed": self.seed,
            "space_options": _copy(self.space_options),
            "evaluator": self.evaluator,
            "evaluator_options": _copy(self.evaluator_options),
            "fidelity": dict(self.fidelity),
        }
        if self.scheduler is not None:
            out["scheduler"] = self.scheduler
            out["scheduler_options"] = dict(self.scheduler_options or {})
        if self.prefilter:
            out["prefilter"] = dict(self.prefilter)
        if self.constraints:
            out["constraints"] = self.constraints.to_json()
        return out

    def first_difference(
        self, stored: Mapping[str, Any], replaced: Collection[str] = ()
    ) -> tuple[str, Any, Any] | None:
        """``(key, stored value, this value)`` of the first identity setting that differs from
        a stored record's, else ``None``; for the options of a registered space or evaluator
        the key names the option (``"evaluator_options.epochs"``).

        Values are compared as JSON keeps them (a tuple as a list). Not compared: a key of
        :data:`LATER_KEYS` that the record lacks (it was written before that key), an option
        of :data:`PART_OPTIONS` that one side lacks, and the stored strategy options named in
        ``replaced`` (options an earlier version of the strategy took that are no longer part
        of its identity)."""
        stored = dict(stored)
        if replaced:
            options = stored.get("strategy_options") or {}
            stored["strategy_options"] = {k: v for k, v in options.items() if k not in replaced}
        mine = self.identity()
        for key in [*mine, *(k for k in OPTIONAL_KEYS if k not in mine)]:
            if key in LATER_KEYS and key not in stored:
                continue
            before, now = stored.get(key), mine.get(key)
            if key in PART_OPTIONS and isinstance(before, Mapping) and isinstance(now, Mapping):
                for option in before:
                    if option in now and _as_stored(before[option]) != _as_stored(now[option]):
                        return f"{key}.{option}", before[option], now[option]
            elif _as_stored(before) != _as_stored(now):
                return key, before, now
        return None

    # ---- the JSON record ----------------------------------------------------------------------

    def to_json(self) -> dict[str, Any]:
        """The record the store keeps: the identity, then the config or the rebuild record."""
        out = self.identity()
        out["config"] = dict(self.config)
        if not self.config:
            rebuild: dict[str, Any] = {"device": self.device}
            for key, part in (
                ("space", self.space_component),
                ("evaluator", self.evaluator_component),
            ):
                if part is not None:
                    rebuild[key] = part.to_json()
            out["rebuild"] = rebuild
        return out

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ExperimentSpec:
        """Read a stored record (of this or an older version)."""
        config = dict(data.get("config") or {})
        rebuild = dict(data.get("rebuild") or {})
        space_part = Component.from_json(rebuild.get("space"))
        evaluator_part = Component.from_json(rebuild.get("evaluator"))
        device = str(rebuild.get("device", "auto"))
        if config:  # a ``nasforge search`` config, checked when it was stored
            space_part = Component.from_json(_block(config.get("space")))
            evaluator_part = Component.from_json(_block(config.get("evaluator", "train")))
            device = str(config.get("device", "auto"))
        size = data.get("space_size", 0)
        space_options, evaluator_options = data.get("space_options"), data.get("evaluator_options")
        return cls(
            space=str(data.get("space", "")),
            space_size=math.inf if size == "inf" else size,
            space_dims=tuple(data.get("space_dims") or ()),
            strategy=str(data.get("strategy", "")),
            strategy_options=dict(data.get("strategy_options") or {}),
            objectives=Objectives.parse(data.get("objectives")),
            seed=int(data.get("seed", 0)),
            scheduler=data.get("scheduler"),
            scheduler_options=data.get("scheduler_options"),
            prefilter=data.get("prefilter") or None,
            config=config,
            device=device,
            space_component=space_part,
            evaluator_component=evaluator_part,
            space_options=dict(space_options) if isinstance(space_options, Mapping) else None,
            evaluator=str(data.get("evaluator") or ""),
            evaluator_options=(
                dict(evaluator_options) if isinstance(evaluator_options, Mapping) else None
            ),
            fidelity=dict(data.get("fidelity") or {}),
            constraints=Constraints.from_json(data.get("constraints")),
        )

    # ---- rebuilding ---------------------------------------------------------------------------

    def build_space(self, name: str = "experiment") -> Any:
        """The registered space this experiment searched, built again from its options.

        Raises:
            ConfigError: it was a custom space (not stored); pass the space object instead.
        """
        part = self.space_component
        if part is None:
            raise ConfigError(
                f"experiment {name!r} was made from Python with a space that is not a "
                "registered one (or whose options cannot be read back), so it is not "
                "stored; in Python pass space= (and evaluator= to train)"
            )
        from nasforge.spaces import create_space

        return create_space(part.name, **part.options)

    def build_evaluator(self) -> Any:
        """The registered evaluator this experiment used, built again; ``None`` for a custom
        one (a function, or a class that is not registered)."""
        part = self.evaluator_component
        if part is None:
            return None
        from nasforge.estimation import create_evaluator

        return create_evaluator(part.name, **part.options)


def _copy(options: Mapping[str, Any] | None) -> dict[str, Any] | None:
    return dict(options) if options is not None else None


def _as_stored(value: Any) -> Any:
    """``value`` as the store's JSON gives it back (tuples become lists)."""
    try:
        return json.loads(json.dumps(value))
    except (TypeError, ValueError):
        return value


def _block(value: Any) -> Any:
    """A config's ``space:``/``evaluator:`` entry as ``{name, options}`` (a bare name is one)."""
    return {"name": value} if isinstance(value, str) else value


__all__ = ["LATER_KEYS", "OPTIONAL_KEYS", "PART_OPTIONS", "Component", "ExperimentSpec"]
