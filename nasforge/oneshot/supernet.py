"""The supernet: every choice point of a space held at once, one architecture parameter per label.

A space written with choice points (:mod:`nasforge.spaces.define`) is run once more, with a
:class:`SupernetChoices` answering its choices:

- ``ch.op(label, candidates)`` builds *every* candidate and returns a :class:`MixedOp` holding
  them; its forward is one relaxation of a mixed operation, decided by the supernet's mode, not
  by the model code:

  - ``"softmax"``: the softmax-weighted sum of all candidates (DARTS);
  - ``"gumbel"``: one candidate drawn by a hard Gumbel-softmax, its output scaled by a factor
    that equals 1 but carries the gradient of the soft sample (GDAS);
  - ``"dirichlet"``: the weighted sum with weights drawn from a Dirichlet distribution whose
    concentration the architecture parameters give (DrNAS);
  - ``"path"``: one candidate per label, the path the caller set (:meth:`Supernet.use`) or drew
    (:meth:`Supernet.sample_uniform`: random one-shot / SPOS, ENAS's controller samples);

- ``ch.inputs(label, n, k)`` returns live indices: a sequence that reads, whenever the model's
  forward iterates it, the combination of inputs of the current path. Inputs are chosen by
  sampling (path mode); the weighted relaxations cannot weigh tensors the model code selects by
  index, so they refuse a space with input choices (the ``darts`` space states its own
  supernet, DARTS's every-edge cell, through :meth:`supernet_definition`);
- ``ch.value``, ``ch.int``, ``ch.float`` and ``ch.repeat`` are held fixed (the ``fixed``
  option, by default the first candidate, the lower bound, and the largest depth): one set of
  weights cannot serve several widths or depths, so the supernet searches operations and
  inputs, and the derived arch carries the fixed values.

A space may state its supernet itself: ``space.supernet_definition() -> (definition, sizes)``
(the definition run with :class:`SupernetChoices`) and ``space.derive(weights, fixed) -> Arch``
(the arch from each label's candidate weights); otherwise a :class:`~nasforge.spaces.DefinedSpace`
or a space with a definition (``nb201``) uses its own definition and the strongest candidate
per label.

Example:
    >>> from nasforge.space import Task
    >>> from nasforge.spaces import NB201Space
    >>> space = NB201Space(n_cells=1, channels=4)
    >>> net = Supernet(space, Task((1, 12), 3))
    >>> sorted(net.labels)[:2], len(net.labels["edge_1_0"])
    (['edge_1_0', 'edge_2_0'], 5)
    >>> net(torch.zeros(2, 1, 12)).shape
    torch.Size([2, 3])
    >>> net.derive().key.count("~")  # one operation per edge
    6
"""

from __future__ import annotations

import builtins
import contextlib
import itertools
import math
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import Any

import torch
from torch import nn

from nasforge.errors import ConfigError, SpaceError, one_of
from nasforge.space import Arch, Space, Task
from nasforge.spaces.define import (
    Choices,
    DefinedSpace,
    Definition,
    _build_candidate,
    _indices,
    _inputs_dim,
    _op_names,
    _repeat_dim,
    _value_dim,
    inputs_value,
)

#: the relaxations a supernet's forward can use
MODES: tuple[str, ...] = ("softmax", "gumbel", "dirichlet", "path")

#: modes that weigh every candidate in one forward pass
WEIGHTED_MODES: tuple[str, ...] = ("softmax", "dirichlet")


class _Router:
    """What every mixed operation of one supernet reads: the mode, the architecture
    parameters, the current path and the sample drawn for this forward pass."""

    def __init__(self) -> None:
        self.mode = "softmax"
        self.alphas: nn.ParameterDict | None = None
        self.path: dict[str, int] = {}
        self.tau = 1.0
        self.generator: torch.Generator | None = None
        #: weights given from outside (:meth:`Supernet.weighed`), used instead of the mode's
        self.given: dict[str, torch.Tensor] | None = None
        #: for each label of :attr:`given`, which candidates weigh exactly 0 (not computed)
        self.given_zero: dict[str, list[bool]] = {}
        #: whether a weighted sum normalises its pooling candidates' outputs
        self.pool_norm = False
        #: noise added to the architecture parameters (:meth:`Supernet.perturb`)
        self.noise: dict[str, torch.Tensor] | None = None
        self._drawn: dict[str, Any] = {}

    def begin(self) -> None:
        self._drawn = {}

    def weights(self, label: str) -> tuple[int, torch.Tensor | None] | torch.Tensor:
        """``(index, scale)`` for a single candidate (``scale`` ``None``: plain), or a vector
        of weights over all candidates."""
        if self.mode == "path":
            return self.path[label], None
        if self.given is not None:
            return self.given[label]
        if label in self._drawn:
            return self._drawn[label]  # type: ignore[no-any-return]
        assert self.alphas is not None
        alpha = self.alphas[label]
        if self.noise is not None and label in self.noise:
            alpha = alpha + self.noise[label]
        drawn: Any
        if self.mode == "softmax":
            drawn = torch.softmax(alpha, dim=-1)
        elif self.mode == "dirichlet":
            concentration = nn.functional.elu(alpha) + 1.0
            drawn = _dirichlet(concentration, self.generator)
        else:  # gumbel
            drawn = _hard_gumbel(alpha, self.tau, self.generator)
        self._drawn[label] = drawn
        return drawn  # type: ignore[no-any-return]


def _dirichlet(concentration: torch.Tensor, generator: torch.Generator | None) -> torch.Tensor:
    """A reparameterised Dirichlet sample (normalised Gamma draws, with the generator's
    randomness for reproducibility)."""
    if generator is None:
        return torch.distributions.Dirichlet(concentration).rsample()
    with _seeded_from(generator):
        return torch.distributions.Dirichlet(concentration).rsample()


@contextlib.contextmanager
def _seeded_from(generator: torch.Generator) -> Iterator[None]:
    """Run with the global CPU generator seeded from ``generator`` (Dirichlet's sampler takes
    no generator), the global state restored after."""
    seed = int(torch.randint(0, 2**62, (), generator=generator))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield


def _hard_gumbel(
    alpha: torch.Tensor, tau: float, generator: torch.Generator | None
) -> tuple[int, torch.Tensor]:
    uniform = torch.rand(alpha.shape, generator=generator).to(alpha.device)
    gumbel = -torch.log(-torch.log(uniform.clamp(1e-10, 1 - 1e-10)))
    soft = torch.softmax((torch.log_softmax(alpha, dim=-1) + gumbel) / tau, dim=-1)
    index = int(soft.argmax())
    # 1 in value, the soft sample's gradient: the straight-through estimator
    return index, 1.0 - soft[index].detach() + soft[index]


class MixedOp(nn.Module):
    """Every candidate of one operation choice; the supernet's mode decides the forward."""

    def __init__(self, label: str, candidates: Mapping[str, nn.Module], router: _Router) -> None:
        super().__init__()
        self.label = label
        self.names = list(candidates)
        self.candidates = nn.ModuleDict(dict(candidates))
        self._router = [router]  # in a list: not a submodule, not in the state dict
        self._zero = [_is_zero(m) for m in self.candidates.values()]
        self._pooling = [_is_pooling(m) for m in self.candidates.values()]

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        chosen = self._router[0].weights(self.label)
        ops = list(self.candidates.values())
        if isinstance(chosen, tuple):
            index, scale = chosen
            out = ops[index](x)
            return out if scale is None else out * scale
        total: torch.Tensor | None = None
        router = self._router[0]
        norm = router.pool_norm
        skip = self._zero
        if router.given is not None:  # a candidate given the weight 0 is not computed
            skip = [a or b for a, b in zip(skip, router.given_zero[self.label], strict=True)]
        for weight, op, zero, pooling in zip(chosen, ops, skip, self._pooling, strict=True):
            if zero:
                continue  # contributes nothing: a `none`, or a candidate given the weight 0
            out = op(x)
            if norm and pooling:  # a batch norm without affine or running statistics
                out = nn.functional.batch_norm(out, None, None, training=True)
            y = weight * out
            total = y if total is None else total + y
        return total if total is not None else ops[0](x) * 0.0  # zeros of the output's shape

    def extra_repr(self) -> str:
        return f"label={self.label!r}"


def _is_zero(module: nn.Module) -> bool:
    from nasforge.ops.nb201 import Zero

    return isinstance(module, Zero)


def _is_pooling(module: nn.Module) -> bool:
    """Whether ``module`` pools (max or average): a candidate whose output DARTS's search
    network normalises in the weighted sum."""
    pools = (nn.modules.pooling._MaxPoolNd, nn.modules.pooling._AvgPoolNd)
    return any(isinstance(m, pools) for m in module.modules())


class _LiveInputs(Sequence[int]):
    """The indices of an input choice, read from the supernet's current path on every use."""

    def __init__(self, label: str, combos: list[tuple[int, ...]], router: _Router) -> None:
        self.label, self.combos, self._router = label, combos, router

    def _now(self) -> tuple[int, ...]:
        index = self._router.path.get(self.label)
        if index is None:
            raise SpaceError(
                f"supernet: input choice {self.label!r} is chosen by sampling; mode "
                f"{self._router.mode!r} cannot weigh inputs the model selects by index"
            )
        return self.combos[index]

    def __getitem__(self, i: Any) -> Any:
        return self._now()[i]

    def __len__(self) -> int:
        return len(self.combos[0])

    def __iter__(self) -> Iterator[int]:
        return iter(self._now())


class SupernetChoices(Choices):
    """Answers a definition's choice points with the parts of a supernet (module docstring)."""

    def __init__(self, router: _Router, fixed: Mapping[str, Any]) -> None:
        self.router = router
        self.fixed = dict(fixed)
        self.ops: dict[str, list[str]] = {}
        self.inputs_: dict[str, list[str]] = {}
        self.held: dict[str, Any] = {}
        self.mixed: dict[str, list[MixedOp]] = {}

    def _hold(self, label: str, default: Any, allowed: Callable[[Any], bool], what: str) -> Any:
        value = self.fixed.get(label, default)
        if not allowed(value):
            raise ConfigError(f"fixed: {label}={value!r}; allowed: {what}")
        self.held[label] = value
        return value

    def value(self, label: str, candidates: Sequence[Any]) -> Any:
        values = _value_dim(label, candidates).values()
        return self._hold(label, values[0], lambda v: v in values, one_of(values))

    def int(self, label: str, low: builtins.int, high: builtins.int) -> builtins.int:
        return self._hold(  # type: ignore[no-any-return]
            label, low, lambda v: isinstance(v, int) and low <= v <= high, f"{low}..{high}"
        )

    def float(
        self, label: str, low: builtins.float, high: builtins.float, log: bool = False
    ) -> builtins.float:
        return builtins.float(
            self._hold(
                label,
                low,
                lambda v: isinstance(v, (int, builtins.float)) and low <= v <= high,
                f"{low}..{high}",
            )
        )

    def repeat(self, label: str, depths: Sequence[builtins.int]) -> range:
        values = list(_repeat_dim(label, depths).values())
        return range(self._hold(label, max(values), lambda v: v in values, one_of(values)))

    def op(self, label: str, candidates: Mapping[str, Callable[[], Any]]) -> Any:
        if label in self.fixed:  # a fixed operation: only it is built
            name = self._hold(label, None, lambda v: v in candidates, one_of(list(candidates)))
            return _build_candidate(label, name, candidates[name])
        names = _op_names(label, candidates)
        known = self.ops.setdefault(label, names)
        if known != names:
            raise SpaceError(f"choice {label!r} is asked twice with different candidates")
        built = {name: _build_candidate(label, name, candidates[name]) for name in names}
        mixed = MixedOp(label, built, self.router)
        self.mixed.setdefault(label, []).append(mixed)
        return mixed

    def inputs(self, label: str, n: builtins.int, k: builtins.int = 1) -> tuple[builtins.int, ...]:
        combos = [str(v) for v in _inputs_dim(label, n, k).values()]
        if label in self.fixed:
            value = self._hold(label, None, lambda v: str(v) in combos, one_of(combos))
            return _indices(str(value))
        self.inputs_.setdefault(label, combos)
        return _LiveInputs(label, [_indices(c) for c in combos], self.router)  # type: ignore[return-value]


def supernet_definition(space: Space) -> tuple[Definition, dict[str, int]]:
    """The definition a supernet of ``space`` is built from, and its network sizes."""
    stated = getattr(space, "supernet_definition", None)
    if callable(stated):
        definition, sizes = stated()
        return definition, dict(sizes)
    if isinstance(space, DefinedSpace):
        return space.definition_, dict(space.sizes)
    raise ConfigError(
        f"space {space.name!r} has no choice points to build a supernet from; allowed: a space "
        "written with choice points (nb201, darts, chain, mobile, inception, pytorch)"
    )


class Supernet(nn.Module):
    """The supernet of ``space`` for ``task`` (see the module docstring).

    Args:
        space: a space written with choice points.
        task: input shape and classes.
        fixed: values for choices the supernet holds fixed (values, numbers, depths), or an
            operation/input choice to take out of the search.
        bn_affine: whether the batch norms inside candidate operations learn a scale and shift
            while searching (DARTS: no).
        bn_track_stats: whether they keep running statistics (DARTS: no; then evaluation uses
            each batch's own statistics, which suits a supernet whose paths change).
        sizes: network sizes (``channels``, ``n_cells``...) instead of the space's.
        alpha_seed: seed of the architecture parameters' small random initialisation.
        pool_norm: whether the weighted relaxations (``"softmax"``, ``"dirichlet"``,
            :meth:`weighed`) pass each pooling candidate's output through a batch norm without
            affine or running statistics, as DARTS's search network does (pooling passes its
            input's scale on, while the other candidates end in a batch norm). It did not stop
            the collapse to max pooling on the ``darts`` space (BENCHMARKS.md). One candidate at
            a time (``"path"``, ``"gumbel"``) computes the arch's own network either way.
    """

    def __init__(
        self,
        space: Space,
        task: Task,
        *,
        fixed: Mapping[str, Any] | None = None,
        bn_affine: bool = False,
        bn_track_stats: bool = False,
        sizes: Mapping[str, int] | None = None,
        alpha_seed: int = 0,
        pool_norm: bool = False,
    ) -> None:
        super().__init__()
        self.space = space
        definition, base_sizes = supernet_definition(space)
        self._router = _Router()
        self._router.pool_norm = self.pool_norm = pool_norm
        choices = SupernetChoices(self._router, fixed or {})
        self.net = definition(choices, task, **{**base_sizes, **dict(sizes or {})})
        self.held: dict[str, Any] = dict(choices.held)
        self.op_labels: dict[str, list[str]] = dict(choices.ops)
        self.input_labels: dict[str, list[str]] = dict(choices.inputs_)
        self.labels: dict[str, list[str]] = {**self.op_labels, **self.input_labels}
        if not self.labels:
            raise ConfigError(
                f"space {space.name!r}: its supernet has no operation or input choice to search "
                "(every choice is a value, a number or a depth, which a supernet holds fixed)"
            )
        self._mixed = choices.mixed
        generator = torch.Generator().manual_seed(alpha_seed)
        self.alphas = nn.ParameterDict(
            {
                label: nn.Parameter(1e-3 * torch.randn(len(names), generator=generator))
                for label, names in self.labels.items()
            }
        )
        self._router.alphas = self.alphas
        self.bn_affine, self.bn_track_stats = bn_affine, bn_track_stats
        for ops in self._mixed.values():
            for mixed in ops:
                _set_batch_norm(mixed, bn_affine, bn_track_stats)
        _initialise_lazy(self, task)

    # ---- modes and paths -------------------------------------------------------------------

    @property
    def mode(self) -> str:
        return self._router.mode

    def set_mode(self, mode: str, *, tau: float | None = None) -> None:
        """Use relaxation ``mode`` (one of :data:`MODES`); ``tau``: the Gumbel temperature."""
        if mode not in MODES:
            raise ConfigError(f"supernet mode={mode!r}; allowed: {one_of(MODES)}")
        if mode in WEIGHTED_MODES and self.input_labels:
            label = next(iter(self.input_labels))
            raise ConfigError(
                f"space {self.space.name!r}: input choice {label!r} cannot be relaxed by mode "
                f"{mode!r} (the model selects inputs by index); allowed: a path mode "
                "(random-one-shot, enas) or a space that states its supernet"
            )
        self._router.mode = mode
        if tau is not None:
            self._router.tau = tau

    def set_generator(self, generator: torch.Generator | None) -> None:
        """The generator the Gumbel and Dirichlet draws use (reproducible searches)."""
        self._router.generator = generator

    def perturb(self, noise: Mapping[str, torch.Tensor] | None) -> None:
        """Until called with ``None``, the relaxations read each label's architecture
        parameters plus ``noise[label]`` (SDARTS's random smoothing trains the weights so)."""
        self._router.noise = None if noise is None else dict(noise)

    def use(self, path: Mapping[str, str]) -> None:
        """Set the path of ``"path"`` mode: a candidate name (an input combination such as
        ``"0+2"``) for every label."""
        indices = {}
        for label, names in self.labels.items():
            if label not in path:
                raise ConfigError(f"supernet path has no choice {label!r}")
            value = str(path[label])
            if value not in names:
                raise ConfigError(f"supernet path: {label}={value!r}; allowed: {one_of(names)}")
            indices[label] = names.index(value)
        self._router.path = indices

    def sample_uniform(self, generator: torch.Generator) -> dict[str, str]:
        """Draw one candidate per label uniformly, use it as the path, and return it."""
        path = {
            label: names[int(torch.randint(len(names), (), generator=generator))]
            for label, names in self.labels.items()
        }
        self.use(path)
        return path

    def path_of(self, arch: Arch) -> dict[str, str]:
        """The path an arch of the space takes through the supernet (its value per label;
        an inactive label takes its first candidate, which the arch never reaches)."""
        derive_path = getattr(self.space, "supernet_path", None)
        if callable(derive_path):
            return dict(derive_path(arch))
        path = {}
        for label, names in self.labels.items():
            value = arch.get(label) if label in arch else None
            path[label] = str(value) if value is not None else names[0]
        return path

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self._router.begin()
        return self.net(x)  # type: ignore[no-any-return]

    # ---- parameters -------------------------------------------------------------------------

    def arch_parameters(self) -> list[nn.Parameter]:
        return list(self.alphas.values())

    def weight_parameters(self) -> list[nn.Parameter]:
        alphas = {id(p) for p in self.alphas.values()}
        return [p for p in self.parameters() if id(p) not in alphas]

    @contextlib.contextmanager
    def weighed(self, weights: Mapping[str, Mapping[str, float]]) -> Iterator[None]:
        """Within the block, every mixed operation sums its candidates with the given weights
        (label -> candidate -> weight; a candidate left out weighs 0) instead of its mode's: what
        perturbation-based selection evaluates. Not in ``"path"`` mode."""
        if self._router.mode == "path":
            raise ConfigError("supernet.weighed: not in mode 'path'; allowed: a weighted mode")
        device = next(iter(self.alphas.values())).device
        given, zero = {}, {}
        for label, names in self.op_labels.items():  # weighted modes have no input choices
            row = [float(weights.get(label, {}).get(n, 0.0)) for n in names]
            given[label] = torch.tensor(row, device=device)
            zero[label] = [w == 0.0 for w in row]
        previous = self._router.given, self._router.given_zero
        self._router.given, self._router.given_zero = given, zero
        try:
            yield
        finally:
            self._router.given, self._router.given_zero = previous

    def weights(self) -> dict[str, dict[str, float]]:
        """Each label's distribution over its candidates (softmax of its parameters; for the
        Dirichlet relaxation, its mean)."""
        out = {}
        for label, names in self.labels.items():
            alpha = self.alphas[label].detach().float().cpu()
            if self._router.mode == "dirichlet":
                c = nn.functional.elu(alpha) + 1.0
                probs = c / c.sum()
            else:
                probs = torch.softmax(alpha, dim=-1)
            out[label] = {name: float(p) for name, p in zip(names, probs, strict=True)}
        return out

    def derive(self, weights: Mapping[str, Mapping[str, float]] | None = None) -> Arch:
        """The arch of the strongest candidates (the space's own rule when it states one)."""
        weights = self.weights() if weights is None else weights
        rule = getattr(self.space, "derive", None)
        if callable(rule):
            return rule(weights, self.held)  # type: ignore[no-any-return]
        values = {label: max(probs, key=probs.__getitem__) for label, probs in weights.items()}
        return arch_from(self.space, {**self.held, **values})

    def zero_candidates(self) -> set[str]:
        """Names of candidates that output zeros wherever they occur (``none``)."""
        zero: dict[str, bool] = {}
        for ops in self._mixed.values():
            for mixed in ops:
                for name, is_zero in zip(mixed.names, mixed._zero, strict=True):
                    zero[name] = zero.get(name, True) and is_zero
        return {name for name, is_zero in zero.items() if is_zero}

    def parameter_free(self) -> set[str]:
        """Names of candidates without trainable weights in every place they occur (skip,
        pooling, none: what a collapsed supernet prefers)."""
        free: dict[str, bool] = {}
        for ops in self._mixed.values():
            for mixed in ops:
                for name, module in mixed.candidates.items():
                    has = any(True for _ in module.parameters())
                    free[name] = free.get(name, True) and not has
        return {name for name, is_free in free.items() if is_free}


def arch_from(space: Space, values: Mapping[str, Any]) -> Arch:
    """The arch of ``space`` with ``values``, dropping those of dimensions that the others make
    inactive (a supernet decides every label, active or not)."""
    kept: dict[str, Any] = {}
    for dim in space.dims:
        kept[dim.name] = values.get(dim.name) if dim.is_active(kept) else None
    return space.make(kept)


def _set_batch_norm(module: nn.Module, affine: bool, track: bool) -> None:
    """Replace the batch norms inside ``module`` by ones with the search's setting."""
    for name, child in list(module.named_children()):
        if isinstance(child, nn.modules.batchnorm._BatchNorm) and (
            child.affine != affine or child.track_running_stats != track
        ):
            new = type(child)(child.num_features, eps=child.eps, momentum=child.momentum,
                              affine=affine, track_running_stats=track)  # fmt: skip
            setattr(module, name, new.to(_device_of(child)))
        else:
            _set_batch_norm(child, affine, track)


def _device_of(module: nn.Module) -> torch.device:
    for tensor in itertools.chain(module.parameters(), module.buffers()):
        return tensor.device
    return torch.device("cpu")


def _initialise_lazy(model: Supernet, task: Task) -> None:
    from torch.nn.modules.lazy import LazyModuleMixin

    if not any(isinstance(m, LazyModuleMixin) for m in model.modules()):
        return
    training, mode = model.training, model.mode
    model.eval()
    model._router.mode = "softmax" if not model.input_labels else "path"
    if model.input_labels:
        model.sample_uniform(torch.Generator().manual_seed(0))
    with torch.no_grad():
        model(torch.zeros(2, *task.input_shape))
    model._router.mode = mode
    model.train(training)


# ---- memory ---------------------------------------------------------------------------------


def estimate_memory(model: Supernet, task: Task, batch_size: int) -> dict[str, float]:
    """Predicted peak bytes of one training step of ``model`` in its mode at ``batch_size``.

    Weights, their gradients and the optimiser's momentum (3 copies), plus the activations
    autograd keeps: the outputs of every leaf module in one forward pass, measured on two
    samples on the meta device (no memory used) and scaled to the batch, times 2 for the
    backward pass's gradients of them.
    """
    params = sum(p.numel() * p.element_size() for p in model.parameters())
    buffers = sum(b.numel() * b.element_size() for b in model.buffers())
    activations = _activation_bytes(model, task, 2) / 2 * batch_size
    total = 3 * params + buffers + 2 * activations
    return {
        "params_bytes": float(params),
        "activation_bytes": float(activations),
        "peak_bytes": float(total),
    }


def _activation_bytes(model: Supernet, task: Task, batch: int) -> float:
    total = [0]

    def count(_module: nn.Module, _inputs: Any, output: Any) -> None:
        if isinstance(output, torch.Tensor):
            total[0] += output.numel() * output.element_size()

    hooks = [
        m.register_forward_hook(count)
        for m in model.modules()
        if not any(True for _ in m.children())
    ]
    device = next(iter(model.parameters())).device
    if model.mode == "path" and not model._router.path:
        model.sample_uniform(torch.Generator().manual_seed(0))
    try:
        with torch.no_grad():
            model(torch.zeros(batch, *task.input_shape, device=device))
    finally:
        for hook in hooks:
            hook.remove()
    return float(total[0])


def memory_advice(
    predicted: float,
    available: float,
    batch_size: int,
    where: str,
    partial_channels: bool = False,
) -> str | None:
    """A one-line refusal when ``predicted`` bytes exceed ``available``, proposing a batch that
    fits (and PC-DARTS's partial channel connections when the space takes them), or ``None``."""
    if predicted <= available:
        return None
    fits = max(1, int(batch_size * available / predicted * 0.9))
    partial = ", partial_channels: 4 (PC-DARTS)" if partial_channels else ""
    return (
        f"the supernet needs about {predicted / 2**20:.0f} MiB at batch_size={batch_size} but "
        f"{where} has {available / 2**20:.0f} MiB free; allowed: batch_size <= {fits}{partial}, "
        "or a smaller network (channels, n_cells)"
    )


def available_memory(device: torch.device) -> float:
    """Free bytes of ``device``: CUDA's free memory, else the host's available memory."""
    if device.type == "cuda":
        free, _ = torch.cuda.mem_get_info(device)
        return float(free)
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    return math.inf


__all__ = [
    "MODES",
    "MixedOp",
    "Supernet",
    "SupernetChoices",
    "arch_from",
    "available_memory",
    "estimate_memory",
    "inputs_value",
    "memory_advice",
    "supernet_definition",
]
