"""Explicit name -> factory registries for spaces, strategies, evaluators, datasets and ops.

Nothing registers itself by being imported somewhere a reader cannot follow: each package's
``__init__`` lists its built-ins in one place, and users add theirs with ``register``.
"""

from __future__ import annotations

import importlib
import inspect
import sys
from collections.abc import Callable, Iterator
from typing import Any, Generic, TypeVar

from nasforge.errors import NasforgeError, UnknownNameError

T = TypeVar("T")


class Registry(Generic[T]):
    """A named collection of factories with a one-line description each.

    Example:
        >>> reg: Registry[type] = Registry("thing")
        >>> _ = reg.register("int", int, "Python integers")
        >>> reg.create("int", 3)
        3
    """

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self._items: dict[str, tuple[Callable[..., T] | str, str]] = {}

    def register(
        self,
        name: str,
        factory: Callable[..., T] | str,
        summary: str = "",
        *,
        overwrite: bool = False,
    ) -> Callable[..., T] | str:
        """Register ``factory`` under ``name``.

        ``factory`` may be a ``"module:attribute"`` string, imported on first use, so that a
        registry naming a torch-based class does not import torch until that class is wanted.
        """
        if not name or not isinstance(name, str):
            raise NasforgeError(f"{self.kind} name must be a non-empty string, got {name!r}")
        if name in self._items and not overwrite:
            raise NasforgeError(f"{self.kind} {name!r} is already registered")
        if not summary and not isinstance(factory, str):
            doc = (getattr(factory, "__doc__", None) or "").strip()
            summary = doc.splitlines()[0] if doc else ""
        self._items[name] = (factory, summary)
        return factory

    def unregister(self, name: str) -> None:
        """Remove ``name`` (e.g. a strategy a test registered for itself)."""
        self.get(name)
        del self._items[name]

    def get(self, name: str) -> Callable[..., T]:
        try:
            factory = self._items[name][0]
        except KeyError:
            raise UnknownNameError(self.kind, name, self._items) from None
        if isinstance(factory, str):
            module, _, attr = factory.partition(":")
            loaded: Any = getattr(importlib.import_module(module), attr)
            return loaded  # type: ignore[no-any-return]
        return factory

    def target(self, name: str) -> Callable[..., T] | str:
        """What ``name`` was registered with, not imported: the factory or its
        ``"module:attribute"`` string."""
        if name not in self._items:
            raise UnknownNameError(self.kind, name, self._items)
        return self._items[name][0]

    def create(self, name: str, *args: object, **kwargs: object) -> T:
        return self.get(name)(*args, **kwargs)

    def summary(self, name: str) -> str:
        self.get(name)
        return self._items[name][1]

    def names(self) -> list[str]:
        return list(self._items)

    def options_of(self, obj: object) -> tuple[str, dict[str, Any]] | None:
        """The registered name and keyword options that rebuild ``obj``, or ``None``.

        ``obj`` must be an instance of exactly a registered class (not a subclass), and every
        constructor parameter must be kept as an attribute of the same name (scikit-learn's
        ``get_params`` habit) with a JSON value (numbers, strings, lists, dicts). A class
        registered by ``"module:attribute"`` is only looked at when its module is already
        imported: ``obj`` could not be an instance of it otherwise.
        """
        for name, (registered, _) in self._items.items():
            factory: Any = registered
            if isinstance(registered, str):
                module, _, attr = registered.partition(":")
                if module not in sys.modules:
                    continue
                factory = getattr(sys.modules[module], attr, None)
            if type(obj) is not factory:
                continue
            options: dict[str, Any] = {}
            for param in inspect.signature(factory).parameters.values():
                if param.kind in (param.VAR_KEYWORD, param.VAR_POSITIONAL):
                    return None
                if not hasattr(obj, param.name):
                    return None
                value = getattr(obj, param.name)
                value = list(value) if isinstance(value, tuple) else value
                if not _is_json(value):
                    return None
                options[param.name] = value
            return name, options
        return None

    def __contains__(self, name: object) -> bool:
        return name in self._items

    def __iter__(self) -> Iterator[str]:
        return iter(self._items)


def _is_json(value: Any) -> bool:
    """Whether ``value`` is made only of JSON types (so a store can keep it as it is)."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return True
    if isinstance(value, list):
        return all(_is_json(v) for v in value)
    if isinstance(value, dict):
        return all(isinstance(k, str) and _is_json(v) for k, v in value.items())
    return False
