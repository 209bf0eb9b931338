"""``ExperimentSpec``: the typed record of how an experiment was set up, as its store keeps it.

The store holds it as JSON (the ``spec`` of :class:`~nasforge.storage.ExperimentRecord`). Two
parts: the *identity* of the search (space, strategy and its options, objectives, seed,
scheduler, pre-filter), which a resumed run must match, and what rebuilds its space and
evaluator later (the YAML config of ``nasforge search``, or for an experiment made from Python
the ``rebuild`` record of its built-in space and evaluator), which retrain, export and the
plots read back. Older records load too: a key they lack reads as absent.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from nasforge.errors import ConfigError
from nasforge.objectives import Objectives

#: keys present in a record only when a scheduler (or a pre-filter) is set; a resume must agree
#: on them either way
OPTIONAL_KEYS: tuple[str, ...] = ("scheduler", "scheduler_options", "prefilter")


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
        }
        if self.scheduler is not None:
            out["scheduler"] = self.scheduler
            out["scheduler_options"] = dict(self.scheduler_options or {})
        if self.prefilter:
            out["prefilter"] = dict(self.prefilter)
        return out

    def first_difference(self, stored: Mapping[str, Any]) -> tuple[str, Any, Any] | None:
        """``(key, stored value, this value)`` of the first identity setting that differs from
        a stored record's, else ``None``."""
        mine = self.identity()
        for key in [*mine, *(k for k in OPTIONAL_KEYS if k not in mine)]:
            if stored.get(key) != mine.get(key):
                return key, stored.get(key), mine.get(key)
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


def _block(value: Any) -> Any:
    """A config's ``space:``/``evaluator:`` entry as ``{name, options}`` (a bare name is one)."""
    return {"name": value} if isinstance(value, str) else value


__all__ = ["OPTIONAL_KEYS", "Component", "ExperimentSpec"]
