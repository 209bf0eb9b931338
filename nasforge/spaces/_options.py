"""Checks of the constructor options the registered spaces share (sizes, operation lists), one
line each, prefixed with ``where`` (the space that refuses, as its messages spell it)."""

from __future__ import annotations

from collections.abc import Sequence

from nasforge.errors import ConfigError, one_of
from nasforge.ops import list_ops


def check_positive_ints(where: str, **values: object) -> None:
    """Refuse any of ``values`` that is not an integer >= 1 (a bool is not one)."""
    for field, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            raise ConfigError(f"{where}{field}={value!r}; allowed: an integer >= 1")


def check_operations(where: str, ops: object, default: Sequence[str]) -> list[str]:
    """``ops`` (``None``: ``default``) as a list of distinct registered operations."""
    if isinstance(ops, str):
        raise ConfigError(f"{where}ops={ops!r}; allowed: a list of names, not a string")
    chosen = list(default if ops is None else ops)  # type: ignore[call-overload]
    known = list_ops()
    for op in chosen:
        if op not in known:
            raise ConfigError(f"{where}ops has unknown operation {op!r}; allowed: {one_of(known)}")
    if not chosen or len(set(chosen)) != len(chosen):
        raise ConfigError(
            f"{where}ops={chosen!r}; allowed: a non-empty list of distinct operations"
        )
    return chosen
