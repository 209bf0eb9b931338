"""The architecture value: which choice was made for each dimension of a space."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any


class Arch(Mapping[str, Any]):
    """An immutable, hashable architecture: a mapping from dimension name to chosen value.

    ``key`` is the canonical string that identifies it (for a cell space, the NAS-Bench-201 string
    ``|nor_conv_3x3~0|+|...|``). Two archs are equal when their keys are equal. An ``Arch`` is
    normally made by its space (``space.make(values)``, ``space.sample(rng)``,
    ``space.parse(key)``), which checks the values and computes the key; a dimension that is
    inactive under a condition holds ``None``.

    Example:
        >>> a = Arch({"depth": 3, "op": "conv"}, key="depth=3,op=conv")
        >>> a["depth"], a.key
        (3, 'depth=3,op=conv')
        >>> Arch.from_json(a.to_json()) == a
        True
    """

    __slots__ = ("_hash", "_key", "_values")

    def __init__(self, values: Mapping[str, Any], key: str | None = None) -> None:
        self._values = dict(values)
        self._key = key if key is not None else default_key(self._values)
        self._hash = hash(self._key)

    @property
    def key(self) -> str:
        return self._key

    def __getitem__(self, name: str) -> Any:
        return self._values[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._values)

    def __len__(self) -> int:
        return len(self._values)

    def __hash__(self) -> int:
        return self._hash

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Arch):
            return self._key == other._key
        return NotImplemented

    def __repr__(self) -> str:
        return f"Arch({self._key!r})"

    def replace(self, **changes: Any) -> dict[str, Any]:
        """Return the values as a new dict with ``changes`` applied (give it to ``space.make``)."""
        values = dict(self._values)
        values.update(changes)
        return values

    def to_dict(self) -> dict[str, Any]:
        return {"key": self._key, "values": dict(self._values)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Arch:
        return cls(data["values"], key=data["key"])

    @classmethod
    def from_json(cls, text: str) -> Arch:
        return cls.from_dict(json.loads(text))


def format_value(value: Any) -> str:
    """The canonical text of one value inside a key (floats with 6 significant digits)."""
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, float):
        return f"{value:.6g}"
    return str(value)


def default_key(values: Mapping[str, Any]) -> str:
    """``name=value`` pairs in the given order, inactive (``None``) dimensions left out."""
    return ",".join(f"{k}={format_value(v)}" for k, v in values.items() if v is not None)
