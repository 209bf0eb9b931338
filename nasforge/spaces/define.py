"""Search spaces written once, as PyTorch code with explicit choice points.

A *definition* is any callable ``definition(ch, task, **sizes) -> torch.nn.Module`` (a function,
or an ``nn.Module`` class whose ``__init__`` takes ``(ch, task, ...)``). It builds the network
the way any PyTorch code does, and asks ``ch`` (a :class:`Choices`) wherever the network is a
choice:

- ``ch.op(label, {"conv3": lambda: ..., "pool": lambda: ...})``: one module among candidates
  (each candidate a function that builds it, so choices made inside a candidate belong to it);
- ``ch.value(label, [16, 32, 64])``, ``ch.int(label, low, high)``, ``ch.float(label, low, high,
  log=True)``: a value for a hyperparameter (width, kernel size, expansion, ...);
- ``ch.inputs(label, n, k=1)``: which ``k`` of ``n`` earlier tensors a node reads (indices, for
  the module's ``forward`` to use);
- ``ch.repeat(label, [1, 2, 3])``: how many times a block is repeated (a ``range`` to loop over);
  choices inside the later repetitions are active only when the depth reaches them;
- the same label asked twice ties the two points to one decision.

:class:`DefinedSpace` derives the :class:`~nasforge.space.Space` from the definition (running it
once with every candidate built, on PyTorch's ``meta`` device so no weights are allocated) and
builds, for an arch, the plain module the definition returns with each choice resolved: only the
chosen candidates are constructed and no nasforge object is left inside, so TorchScript, ONNX
and the export parity checks see ordinary PyTorch. Nothing traces or wraps the user's code; a
definition that can be imported (``module:name``) works with the process and Ray executors and
is rebuilt from the store by ``nasforge retrain`` and ``export``.

Example:
    >>> from torch import nn
    >>> def tiny(ch, task):
    ...     width = ch.value("width", [8, 16])
    ...     act = ch.op("act", {"relu": nn.ReLU, "gelu": nn.GELU})
    ...     return nn.Sequential(nn.Flatten(), nn.LazyLinear(width), act,
    ...                          nn.Linear(width, task.num_classes))
    >>> space = DefinedSpace(tiny)
    >>> space
    DefinedSpace('tiny', 2 dims, size=4)
    >>> space.names, space.size()
    (['width', 'act'], 4)
    >>> model = space.build(space.parse("width=16,act=gelu"), Task((1, 12), 3))
    >>> model[2]
    GELU(approximate='none')
"""

from __future__ import annotations

import builtins
import importlib
import inspect
import itertools
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError, SpaceError, one_of
from nasforge.space import Arch, Categorical, Dimension, Float, Int, ModelSpace, Space, Task

if TYPE_CHECKING:  # pragma: no cover - typing only; importing this module imports no torch
    import torch

#: what a definition is: ``definition(ch, task, **sizes) -> nn.Module``
Definition = Callable[..., Any]


def inputs_value(indices: Sequence[int]) -> str:
    """The text of an input choice's value: the chosen indices joined by ``+`` (``"0+2"``)."""
    return "+".join(str(i) for i in sorted(indices))


class Choices(ABC):
    """What a space definition asks at each choice point. Never keep it in the built module."""

    @abstractmethod
    def value(self, label: str, candidates: Sequence[Any]) -> Any:
        """One of ``candidates`` (numbers, strings or booleans)."""

    @abstractmethod
    def int(self, label: str, low: builtins.int, high: builtins.int) -> builtins.int:
        """An integer in ``[low, high]``."""

    @abstractmethod
    def float(
        self, label: str, low: builtins.float, high: builtins.float, log: bool = False
    ) -> builtins.float:
        """A number in ``[low, high]``, on a log scale when ``log``."""

    @abstractmethod
    def op(self, label: str, candidates: Mapping[str, Callable[[], Any]]) -> Any:
        """The module built by the chosen candidate (name -> function that builds it)."""

    @abstractmethod
    def inputs(self, label: str, n: builtins.int, k: builtins.int = 1) -> tuple[builtins.int, ...]:
        """The indices (ascending) of the ``k`` of ``n`` earlier tensors a node reads."""

    @abstractmethod
    def repeat(self, label: str, depths: Sequence[builtins.int]) -> range:
        """``range(depth)`` for the chosen number of repetitions among ``depths``."""


# ---- the dimensions of each kind of choice point --------------------------------------------


def _value_dim(label: str, candidates: Sequence[Any]) -> Categorical:
    if isinstance(candidates, (str, bytes)) or not isinstance(candidates, Sequence):
        raise SpaceError(f"choice {label!r}: candidates must be a list, got {candidates!r}")
    return Categorical(label, list(candidates))


def _op_names(label: str, candidates: Mapping[str, Any]) -> list[str]:
    if not isinstance(candidates, Mapping) or not candidates:
        raise SpaceError(
            f"choice {label!r}: candidates must be a non-empty mapping of name -> function that "
            f"builds the module, got {candidates!r}"
        )
    names = list(candidates)
    bad = [n for n in names if not isinstance(n, str) or not n or any(c in n for c in ",=+ ")]
    if bad:
        raise SpaceError(
            f"choice {label!r}: candidate name {bad[0]!r} must be a non-empty string without ',=+ '"
        )
    return names


def _inputs_dim(label: str, n: int, k: int) -> Categorical:
    for name, value, low in (("n", n, 1), ("k", k, 1)):
        if isinstance(value, bool) or not isinstance(value, int) or value < low:
            raise SpaceError(f"choice {label!r}: {name}={value!r}; allowed: an integer >= {low}")
    if k > n:
        raise SpaceError(f"choice {label!r}: k={k} inputs of n={n}; allowed: k <= n")
    combos = [inputs_value(c) for c in itertools.combinations(range(n), k)]
    return Categorical(label, combos)


def _repeat_dim(label: str, depths: Sequence[int]) -> Dimension:
    values = list(depths)
    if not values or any(isinstance(d, bool) or not isinstance(d, int) or d < 0 for d in values):
        raise SpaceError(
            f"choice {label!r}: depths must be a non-empty list of integers >= 0, got {depths!r}"
        )
    values = sorted(set(values))
    if len(values) > 1 and values == list(range(values[0], values[-1] + 1)):
        return Int(label, values[0], values[-1])
    return Categorical(label, values)


def _depths(dim: Dimension) -> list[int]:
    return list(dim.values())


# ---- finding the dimensions: one run of the definition with every candidate -----------------


class _Recorder(Choices):
    """Runs through a definition and records its choice points as dimensions.

    Every candidate of an op is built (under the condition that the op chose it), every
    repetition up to the largest depth (under the condition that the depth reaches it). The
    value handed back is the first candidate, or the last with ``pick_last``: running both and
    comparing tells a choice whose presence depends on a plain ``if`` on another value.
    """

    def __init__(self, pick_last: bool = False) -> None:
        self.pick_last = pick_last
        self.dims: dict[str, Dimension] = {}
        self.conditions: dict[str, dict[str, tuple[Any, ...]]] = {}
        self._stack: list[tuple[str, tuple[Any, ...]]] = []

    def _when(self) -> dict[str, tuple[Any, ...]]:
        when: dict[str, tuple[Any, ...]] = {}
        for parent, allowed in self._stack:
            if parent in when:
                allowed = tuple(v for v in when[parent] if v in allowed)
            when[parent] = allowed
        return when

    def _record(self, dim: Dimension) -> Dimension:
        when = self._when()
        if dim.name in when:
            raise SpaceError(f"choice {dim.name!r} is asked again inside one of its own candidates")
        known = self.dims.get(dim.name)
        if known is None:
            self.dims[dim.name] = dim
            self.conditions[dim.name] = when
            return dim
        if repr(known) != repr(dim):
            raise SpaceError(
                f"choice {dim.name!r} is asked twice with different candidates ({known!r} and "
                f"{dim!r}); a label shared by several points ties them, so they must match"
            )
        # a tied label is active where any of its points is: keep only the common conditions
        before = self.conditions[dim.name]
        self.conditions[dim.name] = {
            parent: allowed for parent, allowed in before.items() if when.get(parent) == allowed
        }
        return known

    def _pick(self, values: Sequence[Any]) -> Any:
        return values[-1] if self.pick_last else values[0]

    def value(self, label: str, candidates: Sequence[Any]) -> Any:
        dim = self._record(_value_dim(label, candidates))
        return self._pick(dim.values())

    def int(self, label: str, low: builtins.int, high: builtins.int) -> builtins.int:
        self._record(Int(label, low, high))
        return high if self.pick_last else low

    def float(
        self, label: str, low: builtins.float, high: builtins.float, log: bool = False
    ) -> builtins.float:
        self._record(Float(label, low, high, log=log))
        return float(high if self.pick_last else low)

    def op(self, label: str, candidates: Mapping[str, Callable[[], Any]]) -> Any:
        names = _op_names(label, candidates)
        self._record(Categorical(label, names))
        chosen = self._pick(names)
        result = None
        for name in names:
            self._stack.append((label, (name,)))
            try:
                built = _build_candidate(label, name, candidates[name])
            finally:
                self._stack.pop()
            if name == chosen:
                result = built
        return result

    def inputs(self, label: str, n: builtins.int, k: builtins.int = 1) -> tuple[builtins.int, ...]:
        dim = self._record(_inputs_dim(label, n, k))
        return _indices(self._pick(dim.values()))

    def repeat(self, label: str, depths: Sequence[builtins.int]) -> range:
        dim = self._record(_repeat_dim(label, depths))
        return _Repetitions(self, label, _depths(dim))  # type: ignore[return-value]


class _Repetitions:
    """``range(largest depth)`` whose repetition ``i`` records its choices under the condition
    that the depth is above ``i``."""

    def __init__(self, recorder: _Recorder, label: str, depths: list[int]) -> None:
        self.recorder, self.label, self.depths = recorder, label, depths

    def __iter__(self) -> Iterator[int]:
        for i in range(max(self.depths)):
            self.recorder._stack.append((self.label, tuple(d for d in self.depths if d > i)))
            try:
                yield i
            finally:
                self.recorder._stack.pop()

    def __len__(self) -> int:
        return max(self.depths)


def _build_candidate(label: str, name: str, factory: Any) -> Any:
    if not callable(factory):
        raise SpaceError(
            f"choice {label!r}: candidate {name!r} must be a function that builds the module "
            f"(e.g. lambda: nn.ReLU()), got {factory!r}"
        )
    return factory()


def _indices(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in str(text).split("+"))


# ---- building an arch: every choice resolved, only the chosen candidates built ---------------


class ArchChoices(Choices):
    """Answers each choice point from ``arch`` of ``space``: how a space built on choice points
    (a :class:`DefinedSpace`, or a space whose ``build`` runs a definition) builds an arch."""

    def __init__(self, arch: Arch, space: Space) -> None:
        self.arch, self.space = arch, space

    def _get(self, label: str) -> Any:
        if label not in self.arch:
            raise SpaceError(
                f"space {self.space.name!r}: the definition asked choice {label!r}, which the "
                f"space has not got (it has {one_of(self.space.names)}); did the definition change?"
            )
        value = self.arch[label]
        if value is None:
            raise SpaceError(
                f"space {self.space.name!r}: the definition asked choice {label!r}, inactive in "
                f"arch {self.arch.key!r}; ask a choice inside ch.op() or ch.repeat() when it "
                "depends on another"
            )
        return value

    def value(self, label: str, candidates: Sequence[Any]) -> Any:
        chosen = self._get(label)
        if chosen not in list(candidates):
            raise SpaceError(
                f"space {self.space.name!r}: choice {label!r} holds {chosen!r}, not one of its "
                f"candidates now ({list(candidates)!r}); candidates must not depend on the task "
                "or the network sizes"
            )
        return chosen

    def int(self, label: str, low: builtins.int, high: builtins.int) -> builtins.int:
        return int(self._get(label))

    def float(
        self, label: str, low: builtins.float, high: builtins.float, log: bool = False
    ) -> builtins.float:
        return float(self._get(label))

    def op(self, label: str, candidates: Mapping[str, Callable[[], Any]]) -> Any:
        name = self._get(label)
        return _build_candidate(label, name, candidates[name])

    def inputs(self, label: str, n: builtins.int, k: builtins.int = 1) -> tuple[builtins.int, ...]:
        return _indices(self._get(label))

    def repeat(self, label: str, depths: Sequence[builtins.int]) -> range:
        return range(int(self._get(label)))


# ---- the space ----------------------------------------------------------------------------------


def _import(path: str) -> Definition:
    module, sep, attr = path.partition(":")
    if not sep or not module or not attr:
        raise ConfigError(f"definition={path!r}; allowed: 'package.module:name'")
    try:
        found: Any = importlib.import_module(module)
        for part in attr.split("."):
            found = getattr(found, part)
    except (ImportError, AttributeError) as exc:
        raise ConfigError(f"definition={path!r} cannot be imported: {exc}") from None
    if not callable(found):
        raise ConfigError(f"definition={path!r} is not callable")
    return found  # type: ignore[no-any-return]


def import_path(obj: Any) -> str | None:
    """``"module:qualname"`` that imports ``obj`` back, or ``None`` (a lambda, a local function)."""
    module, qualname = getattr(obj, "__module__", None), getattr(obj, "__qualname__", "")
    if not module or not qualname or "<" in qualname or module == "__main__":
        return None
    path = f"{module}:{qualname}"
    try:
        return path if _import(path) is obj else None
    except ConfigError:
        return None


class DefinedSpace(ModelSpace):
    """The space of a definition written with choice points (see the module docstring).

    Args:
        definition: ``definition(ch, task, **sizes) -> nn.Module``, or its import path
            ``"package.module:name"`` (what YAML gives and what the store keeps); the default is
            nasforge's own example, :class:`nasforge.spaces.examples.ConvNet`.
        sizes: the network-size keywords the definition takes, with the values this space
            uses (default: the definition's keyword parameters with integer defaults, such as
            ``channels: int = 16``); a lower fidelity may shrink them.
        task_shape: the input shape the definition is run with to find its choices (the choices
            must not depend on the task).
    """

    def __init__(
        self,
        definition: Definition | str = "nasforge.spaces.examples:ConvNet",
        sizes: Mapping[str, int] | None = None,
        task_shape: Sequence[int] = (3, 16, 16),
    ) -> None:
        self.definition_ = _import(definition) if isinstance(definition, str) else definition
        if not callable(self.definition_):
            raise ConfigError(f"definition must be callable or 'module:name', got {definition!r}")
        found = definition if isinstance(definition, str) else import_path(definition)
        self.definition: Definition | str = found if found is not None else definition
        self.sizes = {**_default_sizes(self.definition_), **dict(sizes or {})}
        self.task_shape = list(task_shape)
        self._task = Task(tuple(self.task_shape), 10)
        dims = self._discover()
        super().__init__(dims, name=self.registered_as)
        self.check_sizes(self.sizes, "sizes")

    #: the name this class is registered under, and so the space's ``name`` (what an export
    #: and the store rebuild it by); a space built on this class registers its own
    registered_as = "pytorch"

    def __repr__(self) -> str:
        shown = getattr(self.definition_, "__qualname__", None) or repr(self.definition_)
        return f"{type(self).__name__}({shown!r}, {len(self.dims)} dims, size={self.size()})"

    @property
    def size_options(self) -> Mapping[str, int]:
        return dict(self.sizes)

    def _run(self, choices: Choices, task: Task, sizes: Mapping[str, int]) -> Any:
        return self.definition_(choices, task, **sizes)

    def _discover(self) -> list[Dimension]:
        """Run the definition twice (first and last candidates) and check both ask the same."""
        found = []
        for pick_last in (False, True):
            recorder = _Recorder(pick_last)
            _on_meta(lambda r=recorder: self._run(r, self._task, self.sizes))  # type: ignore[misc]
            found.append(recorder)
        first, last = found
        if list(first.dims) != list(last.dims) or first.conditions != last.conditions:
            differs = sorted(set(first.dims) ^ set(last.dims)) or [
                n for n in first.dims if first.conditions[n] != last.conditions.get(n)
            ]
            raise SpaceError(
                f"space definition {getattr(self.definition_, '__name__', '?')!r}: choice "
                f"{differs[0]!r} is asked or not depending on another choice's value in plain "
                "Python; ask it inside ch.op() (a candidate's own choice) or ch.repeat()"
            )
        if not first.dims:
            raise SpaceError(
                f"space definition {getattr(self.definition_, '__name__', '?')!r} asks no choice"
            )
        return [_with_when(dim, first.conditions[name]) for name, dim in first.dims.items()]

    def build(self, arch: Arch, task: Task, **sizes: int) -> torch.nn.Module:
        import torch

        self.check_sizes(sizes)
        arch = self.validate(arch)
        model = self._run(ArchChoices(arch, self), task, {**self.sizes, **sizes})
        if not isinstance(model, torch.nn.Module):
            raise SpaceError(
                f"space definition {self.name!r} returned {type(model).__name__}, not a "
                "torch.nn.Module"
            )
        _refuse_kept_choices(model, self.name)
        _initialise_lazy(model, task)
        return model


def _default_sizes(definition: Definition) -> dict[str, int]:
    """The keyword parameters after ``(ch, task)`` whose defaults are integers: the network
    sizes a definition takes (``channels: int = 16``)."""
    try:
        params = list(inspect.signature(definition).parameters.values())[2:]
    except (TypeError, ValueError):
        return {}
    return {
        p.name: p.default
        for p in params
        if isinstance(p.default, int) and not isinstance(p.default, bool)
    }


def _with_when(dim: Dimension, when: Mapping[str, tuple[Any, ...]]) -> Dimension:
    if not when:
        return dim
    dim.when = {parent: tuple(allowed) for parent, allowed in when.items()}
    return dim


def _on_meta(run: Callable[[], Any]) -> None:
    """Run ``run`` with new tensors on PyTorch's ``meta`` device (no memory for weights); a
    definition that needs real values (``.item()``, data-dependent code) runs on the CPU."""
    import torch

    try:
        with torch.device("meta"):
            run()
    except (NotImplementedError, RuntimeError):
        run()


def _refuse_kept_choices(model: Any, name: str) -> None:
    for module in model.modules():
        for attr, value in vars(module).items():
            if isinstance(value, Choices):
                raise SpaceError(
                    f"space definition {name!r} keeps its Choices object in "
                    f"{type(module).__name__}.{attr}; use it while building and do not store it"
                )


def _initialise_lazy(model: Any, task: Task) -> None:
    """Materialise lazy modules (``nn.LazyLinear``...) with one sample, so the built network
    has its parameters (for counting, optimisers and export) before it trains."""
    import torch
    from torch.nn.modules.lazy import LazyModuleMixin

    if not any(isinstance(m, LazyModuleMixin) for m in model.modules()):
        return
    training = model.training
    model.eval()
    with torch.no_grad():
        model(torch.zeros(1, *task.input_shape))
    model.train(training)


__all__ = ["ArchChoices", "Choices", "DefinedSpace", "Definition", "import_path", "inputs_value"]
