"""Dimensions of a search space: ``Categorical``, ``Int`` and ``Float``.

Each dimension samples, checks, mutates and encodes its own values; a :class:`~nasforge.space.Space`
combines them. A dimension may be *conditional*: ``when={"optimizer": ["sgd"]}`` makes it active
only while the ``optimizer`` dimension holds ``"sgd"``; an inactive dimension holds ``None``.
"""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nasforge.errors import SpaceError, one_of


def _round6(x: float) -> float:
    """Round to 6 significant digits so a value survives its own key text exactly."""
    return float(f"{x:.6g}")


class Dimension(ABC):
    """One named choice. Subclasses define the set of values and how to move inside it."""

    def __init__(self, name: str, when: Mapping[str, Sequence[Any]] | None = None) -> None:
        if not isinstance(name, str) or not name or any(c in name for c in ",=|~+ "):
            raise SpaceError(f"dimension name {name!r} must be a non-empty string without ',=|~+ '")
        self.name = name
        self.when = {k: tuple(v) for k, v in (when or {}).items()}

    def is_active(self, values: Mapping[str, Any]) -> bool:
        """Whether the dimension is active given the values of the dimensions before it."""
        return all(values.get(parent) in allowed for parent, allowed in self.when.items())

    @abstractmethod
    def sample(self, rng: np.random.Generator) -> Any: ...

    @property
    @abstractmethod
    def default(self) -> Any:
        """The value a dimension takes when it must be filled without a generator."""

    @abstractmethod
    def check(self, value: Any) -> Any:
        """Return ``value`` in canonical form, or raise :class:`SpaceError` naming the dimension."""

    @abstractmethod
    def mutate(self, value: Any, rng: np.random.Generator) -> Any:
        """A value different from ``value`` when one exists, chosen at random."""

    @abstractmethod
    def neighbors(self, value: Any) -> list[Any]:
        """The values one step away from ``value``."""

    @property
    @abstractmethod
    def size(self) -> float:
        """Number of values (``math.inf`` for a continuous dimension)."""

    @abstractmethod
    def values(self) -> list[Any]:
        """All values of a finite dimension."""

    @property
    @abstractmethod
    def width(self) -> int:
        """Length of this dimension's part of the fixed-length encoding."""

    @abstractmethod
    def encode(self, value: Any) -> list[float]: ...

    @abstractmethod
    def from_text(self, text: str) -> Any:
        """Parse the text of a value as it appears in an arch key."""

    def _bad(self, value: Any, allowed: str) -> SpaceError:
        return SpaceError(f"dimension {self.name!r}: value {value!r} is not allowed; {allowed}")


class Categorical(Dimension):
    """A choice among a fixed list of values (strings, numbers or booleans).

    Example:
        >>> Categorical("op", ["conv3x3", "conv5x5", "skip"]).size
        3
    """

    def __init__(
        self, name: str, choices: Sequence[Any], when: Mapping[str, Sequence[Any]] | None = None
    ) -> None:
        super().__init__(name, when)
        self.choices = tuple(choices)
        if not self.choices:
            raise SpaceError(f"dimension {name!r}: choices must not be empty")
        if len(set(map(repr, self.choices))) != len(self.choices):
            raise SpaceError(f"dimension {name!r}: choices must be distinct, got {self.choices}")

    def __repr__(self) -> str:
        return f"Categorical({self.name!r}, {list(self.choices)!r})"

    def sample(self, rng: np.random.Generator) -> Any:
        return self.choices[int(rng.integers(len(self.choices)))]

    @property
    def default(self) -> Any:
        return self.choices[0]

    def check(self, value: Any) -> Any:
        for choice in self.choices:
            if value == choice and type(value) is type(choice):
                return choice
        for choice in self.choices:  # numbers given as another numeric type, e.g. 2.0 for 2
            if not isinstance(value, bool) and not isinstance(choice, bool) and value == choice:
                return choice
        raise self._bad(value, f"allowed: {one_of(self.choices)}")

    def mutate(self, value: Any, rng: np.random.Generator) -> Any:
        others = [c for c in self.choices if c != value]
        return others[int(rng.integers(len(others)))] if others else value

    def neighbors(self, value: Any) -> list[Any]:
        return [c for c in self.choices if c != value]

    @property
    def size(self) -> float:
        return len(self.choices)

    def values(self) -> list[Any]:
        return list(self.choices)

    @property
    def width(self) -> int:
        return len(self.choices)

    def encode(self, value: Any) -> list[float]:
        return [1.0 if c == value else 0.0 for c in self.choices]

    def from_text(self, text: str) -> Any:
        for choice in self.choices:
            if str(choice) == text or (isinstance(choice, float) and f"{choice:.6g}" == text):
                return choice
        raise self._bad(text, f"allowed: {one_of(self.choices)}")


class _Numeric(Dimension):
    def __init__(
        self,
        name: str,
        low: float,
        high: float,
        log: bool = False,
        when: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        super().__init__(name, when)
        if not low < high:
            raise SpaceError(f"dimension {name!r}: low ({low}) must be below high ({high})")
        if log and low <= 0:
            raise SpaceError(f"dimension {name!r}: a log-scale range needs low > 0, got {low}")
        self.low, self.high, self.log = low, high, log

    def __repr__(self) -> str:
        log = ", log=True" if self.log else ""
        return f"{type(self).__name__}({self.name!r}, {self.low}, {self.high}{log})"

    @property
    def default(self) -> Any:
        return self.check(self._from_unit(0.5))

    def _to_unit(self, value: float) -> float:
        if self.log:
            return (math.log(value) - math.log(self.low)) / (
                math.log(self.high) - math.log(self.low)
            )
        return (value - self.low) / (self.high - self.low)

    def _from_unit(self, u: float) -> float:
        u = min(max(u, 0.0), 1.0)
        if self.log:
            return math.exp(math.log(self.low) + u * (math.log(self.high) - math.log(self.low)))
        return self.low + u * (self.high - self.low)

    @property
    def width(self) -> int:
        return 1

    def encode(self, value: Any) -> list[float]:
        return [self._to_unit(value)]

    def _range_text(self) -> str:
        return f"allowed: {self.low} <= value <= {self.high}" + (" (log scale)" if self.log else "")


class Int(_Numeric):
    """An integer in ``[low, high]`` (both included), optionally on a log scale.

    Example:
        >>> Int("layers", 1, 5).values()
        [1, 2, 3, 4, 5]
    """

    def __init__(
        self,
        name: str,
        low: int,
        high: int,
        log: bool = False,
        when: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        super().__init__(name, int(low), int(high), log, when)

    @property
    def default(self) -> int:
        return round(self._from_unit(0.5))

    def sample(self, rng: np.random.Generator) -> int:
        if self.log:  # uniform in log space over the integers' cells
            u = rng.random()
            lo, hi = math.log(self.low - 0.4999), math.log(self.high + 0.4999)
            return int(min(max(round(math.exp(lo + u * (hi - lo))), self.low), self.high))
        return int(rng.integers(int(self.low), int(self.high) + 1))

    def check(self, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise self._bad(value, "expected an integer; " + self._range_text())
        if not math.isfinite(value) or value != int(value) or not self.low <= value <= self.high:
            raise self._bad(value, self._range_text())
        return int(value)

    def mutate(self, value: Any, rng: np.random.Generator) -> int:
        if self.high == self.low:
            return int(value)
        span = max(1, round(0.2 * (self.high - self.low)))
        while True:
            step = int(rng.integers(1, span + 1)) * (1 if rng.random() < 0.5 else -1)
            new = value + step
            if self.low <= new <= self.high:
                return int(new)

    def neighbors(self, value: Any) -> list[int]:
        return [v for v in (value - 1, value + 1) if self.low <= v <= self.high]

    @property
    def size(self) -> float:
        return self.high - self.low + 1

    def values(self) -> list[int]:
        return list(range(int(self.low), int(self.high) + 1))

    def from_text(self, text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise self._bad(text, "expected an integer") from None
        return self.check(value)


class Float(_Numeric):
    """A real number in ``[low, high]``, optionally on a log scale.

    Values are kept to 6 significant digits so that an arch's key names it exactly.

    Example:
        >>> lr = Float("lr", 1e-3, 1.0, log=True)
        >>> 1e-3 <= lr.sample(np.random.default_rng(0)) <= 1.0
        True
    """

    #: step of ``neighbors`` and spread of ``mutate``, as a fraction of the (log) range
    step = 0.1

    def __init__(
        self,
        name: str,
        low: float,
        high: float,
        log: bool = False,
        when: Mapping[str, Sequence[Any]] | None = None,
    ) -> None:
        # bounds kept to 6 significant digits like every value, so each bound is a value
        super().__init__(name, _round6(low), _round6(high), log, when)

    def sample(self, rng: np.random.Generator) -> float:
        return self._clip(_round6(self._from_unit(float(rng.random()))))

    def _clip(self, value: float) -> float:
        return min(max(value, self.low), self.high)

    def check(self, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
            raise self._bad(value, "expected a number; " + self._range_text())
        value = _round6(float(value)) + 0.0  # + 0.0 turns -0.0 into 0.0: one key per value
        if not self.low <= value <= self.high:
            raise self._bad(value, self._range_text())
        return value

    def mutate(self, value: Any, rng: np.random.Generator) -> float:
        u = self._to_unit(value)
        for _ in range(100):
            new = self._clip(_round6(self._from_unit(u + rng.normal(0.0, self.step))))
            if new != value:
                return new
        return value

    def neighbors(self, value: Any) -> list[float]:
        u = self._to_unit(value)
        out = []
        for du in (-self.step, self.step):
            new = self._clip(_round6(self._from_unit(u + du)))
            if new != value and new not in out:
                out.append(new)
        return out

    @property
    def size(self) -> float:
        return math.inf

    def values(self) -> list[float]:
        raise SpaceError(f"dimension {self.name!r} is continuous and cannot be enumerated")

    def from_text(self, text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise self._bad(text, "expected a number") from None
        return self.check(value)
