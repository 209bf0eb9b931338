"""``large-scale-evolution``: the growing networks of Real et al. 2017, in 1-D and 2-D.

"Large-Scale Evolution of Image Classifiers" (Real et al., ICML 2017) starts from networks
without a convolution (global pooling and a linear classifier) and grows them one mutation at
a time; children inherit their parent's trained weights wherever the shapes still match, so
each network trains a few epochs more instead of from scratch.

**The genome** (every value plain JSON; the key is its canonical JSON):

- ``lr``: the learning rate the network trains with (the paper evolves it);
- ``layers``: the backbone, in order; each layer is ``[id, "conv", kernel, channels,
  stride]`` (convolution, batch norm, ReLU) or ``[id, "one"]`` (a one-to-one layer: batch norm
  and ReLU). ``id`` is a positive integer unique in the genome, given when the layer is
  inserted and kept by every later mutation: a layer's weights are named after it
  (``layers.l<id>``), so a child finds its parent's tensors after an insertion or removal;
- ``skips``: ``[src, dst]`` pairs of node ids (``0`` the input, else a layer's output), each
  adding ``src``'s map to ``dst``'s output (``src`` at least two nodes before ``dst``). A map
  of another size is average-pooled to ``dst``'s size and its channels cut or padded with zeros
  (no parameters, so a skip never blocks inheritance).

The network: the backbone, global average pooling, a linear classifier (``head``).

**Mutations** (:meth:`LargeScaleEvolutionSpace.mutations`, chosen uniformly among those that
apply): ``alter-learning-rate`` (times a factor in [1/2, 2]), ``insert-convolution`` (kernel
3, stride 1 or 2, as many channels as its input; ``channels`` after the input),
``remove-convolution``, ``alter-stride`` (1 and 2 swap), ``alter-channels`` (times a factor in
[1/2, 2], within 1 to ``max_channels``), ``alter-filter-size`` (another of ``kernels``),
``insert-one-to-one``, ``remove-one-to-one``, ``add-skip`` and ``remove-skip``. The paper's
``identity`` (train again as is) and ``reset-weights`` give back the parent's genome: every
strategy here evaluates each genome once, so they are left out; weight inheritance itself is
the training evaluator's ``inherit`` option.

**Drawing** (``space.cells(arch)``, ``nasforge plot --kind cell``): one cell whose nodes are
the input and each layer's output; a layer is the edge into its node (``k3 c16``, ``/2`` for
stride 2, ``1:1`` for one-to-one) and each skip an edge ``skip``.

**Encoding** (for surrogates, :attr:`~nasforge.space.genome.GenomeSpace.summary_names`): the
layer count, convolutions, one-to-one layers and skips (each over ``max_layers``), the
learning rate (log10, shifted to [0, 1] over 1e-4..1), the share of convolutions of each
kernel and with stride 2, and the mean and largest log2 channel count over log2
``max_channels``.

Example:
    >>> import numpy as np
    >>> space = LargeScaleEvolutionSpace(start="empty")
    >>> arch = space.sample(np.random.default_rng(0))
    >>> arch.key
    '{"layers":[],"lr":0.1,"skips":[]}'
    >>> grown = space.mutate(space.mutate(arch, np.random.default_rng(1)),
    ...                      np.random.default_rng(2))
    >>> space.parse(grown.key) == grown
    True
"""

from __future__ import annotations

import math
from collections.abc import Iterator, Mapping
from typing import Any

import numpy as np
from torch import nn

from nasforge.errors import ConfigError, SpaceError, one_of
from nasforge.space import Arch, CellEdge, CellGraph, Task
from nasforge.space.genome import GenomeSpace, Move
from nasforge.spaces._growing import GrowingNet
from nasforge.spaces._options import check_positive_ints

#: the ways a search starts: networks without a convolution (the paper), or random ones
STARTS = ("random", "empty")
#: the learning rate stays within these bounds
LR_LOW, LR_HIGH = 1e-4, 1.0
#: the ``start: random`` networks have up to this many convolutions
RANDOM_START_LAYERS = 3


def _round(x: float) -> float:
    return float(f"{x:.6g}")


class LargeScaleEvolutionSpace(GenomeSpace):
    """Growing networks of Large-Scale Evolution (Real et al. 2017); see the module docstring.

    Args:
        start: ``"random"`` (random networks of up to 3 convolutions and a random learning
            rate: a population with variety, and what random search samples) or ``"empty"``
            (the paper's: no convolution, learning rate ``lr``).
        max_layers: the most layers (convolutions and one-to-one layers) a network grows to.
        channels: the channels of a convolution inserted after the input.
        max_channels: the most channels of a convolution.
        kernels: the kernel sizes ``alter-filter-size`` chooses among (odd).
        lr: the learning rate of an empty network (a random start draws it within a factor
            of 2 around this).
    """

    registered_as = "large-scale-evolution"

    def __init__(
        self,
        start: str = "random",
        max_layers: int = 12,
        channels: int = 16,
        max_channels: int = 128,
        kernels: tuple[int, ...] | list[int] = (1, 3, 5, 7),
        lr: float = 0.1,
    ) -> None:
        where = "large-scale-evolution "
        if start not in STARTS:
            raise ConfigError(f"{where}start={start!r}; allowed: {one_of(STARTS)}")
        check_positive_ints(where, max_layers=max_layers, channels=channels)
        check_positive_ints(where, max_channels=max_channels)
        if channels > max_channels:
            raise ConfigError(f"{where}channels={channels}; allowed: at most max_channels")
        kernels = list(kernels) if not isinstance(kernels, str) else kernels  # type: ignore[assignment]
        if (
            not isinstance(kernels, list)
            or not kernels
            or any(
                isinstance(k, bool) or not isinstance(k, int) or k < 1 or k % 2 == 0
                for k in kernels
            )
            or len(set(kernels)) != len(kernels)
        ):
            raise ConfigError(f"{where}kernels={kernels!r}; allowed: distinct odd integers >= 1")
        if isinstance(lr, bool) or not isinstance(lr, (int, float)) or not LR_LOW <= lr <= LR_HIGH:
            raise ConfigError(f"{where}lr={lr!r}; allowed: a number in [{LR_LOW}, {LR_HIGH}]")
        self.start = start
        self.max_layers = max_layers
        self.channels = channels
        self.max_channels = max_channels
        self.kernels = sorted(kernels)
        self.lr = float(lr)
        super().__init__(("layers", "lr", "skips"), name="large-scale-evolution")

    # ---- checking -----------------------------------------------------------------------------

    def check_genome(self, values: Mapping[str, Any]) -> dict[str, Any]:
        where = f"space {self.name!r}"
        lr = values["lr"]
        if (
            isinstance(lr, bool)
            or not isinstance(lr, (int, float))
            or not (LR_LOW <= lr <= LR_HIGH)
        ):
            raise SpaceError(f"{where}: lr={lr!r}; allowed: a number in [{LR_LOW}, {LR_HIGH}]")
        layers = values["layers"]
        if not isinstance(layers, (list, tuple)) or len(layers) > self.max_layers:
            raise SpaceError(
                f"{where}: layers must be a list of at most max_layers={self.max_layers} layers"
            )
        out_layers: list[list[Any]] = []
        ids: list[int] = [0]
        for layer in layers:
            out_layers.append(self._check_layer(layer, ids))
            ids.append(out_layers[-1][0])
        position = {layer_id: i for i, layer_id in enumerate(ids)}
        skips = values["skips"]
        if not isinstance(skips, (list, tuple)):
            raise SpaceError(f"{where}: skips must be a list of [src, dst] pairs")
        pairs: set[tuple[int, int]] = set()
        for skip in skips:
            if (
                not isinstance(skip, (list, tuple))
                or len(skip) != 2
                or any(s not in position or isinstance(s, bool) for s in skip)
                or position[skip[1]] - position[skip[0]] < 2
                or tuple(skip) in pairs
            ):
                raise SpaceError(
                    f"{where}: skip {skip!r}; allowed: distinct [src, dst] ids of the input (0) "
                    "or layers, src at least two nodes before dst"
                )
            pairs.add((int(skip[0]), int(skip[1])))
        ordered = sorted(pairs, key=lambda p: (position[p[1]], position[p[0]]))
        return {"layers": out_layers, "lr": _round(float(lr)), "skips": [list(p) for p in ordered]}

    def _check_layer(self, layer: Any, ids: list[int]) -> list[Any]:
        where = f"space {self.name!r}: layer {layer!r}"
        if not isinstance(layer, (list, tuple)) or not layer:
            raise SpaceError(
                f"{where}; allowed: [id, 'conv', kernel, channels, stride] or [id, 'one']"
            )
        layer_id = layer[0]
        if isinstance(layer_id, bool) or not isinstance(layer_id, int) or layer_id < 1:
            raise SpaceError(f"{where}: id must be an integer >= 1")
        if layer_id in ids:
            raise SpaceError(f"{where}: id {layer_id} appears twice")
        if list(layer[1:]) == ["one"]:
            return [layer_id, "one"]
        if len(layer) != 5 or layer[1] != "conv":
            raise SpaceError(
                f"{where}; allowed: [id, 'conv', kernel, channels, stride] or [id, 'one']"
            )
        _, _, kernel, channels, stride = layer
        if kernel not in self.kernels or isinstance(kernel, bool):
            raise SpaceError(f"{where}: kernel {kernel!r}; allowed: {one_of(self.kernels)}")
        if (
            isinstance(channels, bool)
            or not isinstance(channels, int)
            or not (1 <= channels <= self.max_channels)
        ):
            raise SpaceError(f"{where}: channels {channels!r}; allowed: 1 to {self.max_channels}")
        if stride not in (1, 2) or isinstance(stride, bool):
            raise SpaceError(f"{where}: stride {stride!r}; allowed: 1 or 2")
        return [layer_id, "conv", int(kernel), int(channels), int(stride)]

    # ---- drawing and mutating -----------------------------------------------------------------

    def initial(self, rng: np.random.Generator) -> dict[str, Any]:
        if self.start == "empty":
            return {"layers": [], "lr": self.lr, "skips": []}
        lr = min(LR_HIGH, max(LR_LOW, self.lr * 2.0 ** float(rng.uniform(-1, 1))))
        layers: list[list[Any]] = []
        channels = self.channels
        for i in range(int(rng.integers(0, min(RANDOM_START_LAYERS, self.max_layers) + 1))):
            kernel = self.kernels[int(rng.integers(len(self.kernels)))]
            channels = min(self.max_channels, channels * int(rng.choice([1, 2])))
            layers.append([i + 1, "conv", kernel, channels, int(rng.choice([1, 2]))])
        skips = [
            [a, b] for b in range(2, len(layers) + 1) for a in range(b - 1) if rng.random() < 0.25
        ]
        return {"layers": layers, "lr": lr, "skips": skips}

    def mutations(self, values: Mapping[str, Any]) -> dict[str, Move]:
        layers = values["layers"]
        convs = [i for i, layer in enumerate(layers) if layer[1] == "conv"]
        ones = [i for i, layer in enumerate(layers) if layer[1] == "one"]
        room = len(layers) < self.max_layers
        moves: dict[str, Move] = {"alter-learning-rate": self._alter_lr}
        if room:
            moves["insert-convolution"] = self._insert_conv
        if convs:
            moves["remove-convolution"] = lambda v, r: self._remove(v, _pick(convs, r))
            moves["alter-stride"] = lambda v, r: self._set(v, _pick(convs, r), 4, None)
            moves["alter-channels"] = self._alter_channels
            if len(self.kernels) > 1:
                moves["alter-filter-size"] = self._alter_kernel
        if room:
            moves["insert-one-to-one"] = self._insert_one
        if ones:
            moves["remove-one-to-one"] = lambda v, r: self._remove(v, _pick(ones, r))
        if self._missing_skips(values):
            moves["add-skip"] = lambda v, r: self._add_skip(v, _pick(self._missing_skips(v), r))
        if values["skips"]:
            moves["remove-skip"] = self._remove_skip
        return moves

    def _alter_lr(self, v: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        lr = v["lr"] * 2.0 ** float(rng.uniform(-1, 1))
        return {**v, "lr": min(LR_HIGH, max(LR_LOW, lr))}

    def _insert(self, v: dict[str, Any], at: int, layer: list[Any]) -> dict[str, Any]:
        return {**v, "layers": [*v["layers"][:at], layer, *v["layers"][at:]]}

    def _next_id(self, v: Mapping[str, Any]) -> int:
        return max((layer[0] for layer in v["layers"]), default=0) + 1

    def _input_channels(self, v: Mapping[str, Any], at: int) -> int:
        """Channels of the map a layer inserted at ``at`` reads (``channels`` after the input)."""
        for layer in reversed(v["layers"][:at]):
            if layer[1] == "conv":
                return int(layer[3])
        return self.channels

    def _insert_conv(self, v: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        at = int(rng.integers(len(v["layers"]) + 1))
        kernel = 3 if 3 in self.kernels else self.kernels[len(self.kernels) // 2]
        conv = [
            self._next_id(v),
            "conv",
            kernel,
            self._input_channels(v, at),
            int(rng.choice([1, 2])),
        ]
        return self._insert(v, at, conv)

    def _insert_one(self, v: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        return self._insert(v, int(rng.integers(len(v["layers"]) + 1)), [self._next_id(v), "one"])

    def _remove(self, v: dict[str, Any], at: int) -> dict[str, Any]:
        gone = v["layers"][at][0]
        layers = [layer for i, layer in enumerate(v["layers"]) if i != at]
        position = {0: 0, **{layer[0]: i + 1 for i, layer in enumerate(layers)}}
        skips = [s for s in v["skips"] if gone not in s and position[s[1]] - position[s[0]] >= 2]
        return {**v, "layers": layers, "skips": skips}

    def _set(self, v: dict[str, Any], at: int, field: int, value: Any) -> dict[str, Any]:
        layer = list(v["layers"][at])
        layer[field] = (3 - layer[4]) if field == 4 and value is None else value
        layers = list(v["layers"])
        layers[at] = layer
        return {**v, "layers": layers}

    def _convs(self, v: Mapping[str, Any]) -> list[int]:
        return [i for i, layer in enumerate(v["layers"]) if layer[1] == "conv"]

    def _alter_channels(self, v: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        at = _pick(self._convs(v), rng)
        factor = 2.0 ** float(rng.uniform(-1, 1))
        channels = max(1, min(self.max_channels, round(v["layers"][at][3] * factor)))
        return self._set(v, at, 3, channels)

    def _alter_kernel(self, v: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        at = _pick(self._convs(v), rng)
        others = [k for k in self.kernels if k != v["layers"][at][2]]
        return self._set(v, at, 2, _pick(others, rng))

    def _missing_skips(self, v: Mapping[str, Any]) -> list[list[int]]:
        ids = [0, *(layer[0] for layer in v["layers"])]
        present = {tuple(s) for s in v["skips"]}
        return [
            [ids[a], ids[b]]
            for b in range(2, len(ids))
            for a in range(b - 1)
            if (ids[a], ids[b]) not in present
        ]

    def _remove_skip(self, v: dict[str, Any], rng: np.random.Generator) -> dict[str, Any]:
        gone = _pick(v["skips"], rng)
        return {**v, "skips": [s for s in v["skips"] if s != gone]}

    def _add_skip(self, v: dict[str, Any], skip: list[int]) -> dict[str, Any]:
        return {**v, "skips": [*v["skips"], skip]}

    def variants(self, values: Mapping[str, Any]) -> Iterator[dict[str, Any]]:
        v = dict(values)
        for factor in (0.5, 2.0):
            yield {**v, "lr": min(LR_HIGH, max(LR_LOW, v["lr"] * factor))}
        for at in range(len(v["layers"])):
            layer = v["layers"][at]
            yield self._remove(v, at)
            if layer[1] != "conv":
                continue
            yield self._set(v, at, 4, None)
            for factor in (0.5, 2.0):
                channels = max(1, min(self.max_channels, round(layer[3] * factor)))
                yield self._set(v, at, 3, channels)
            for kernel in self.kernels:
                if kernel != layer[2]:
                    yield self._set(v, at, 2, kernel)
        if len(v["layers"]) < self.max_layers:
            kernel = 3 if 3 in self.kernels else self.kernels[len(self.kernels) // 2]
            for at in range(len(v["layers"]) + 1):
                for stride in (1, 2):
                    conv = [self._next_id(v), "conv", kernel, self._input_channels(v, at), stride]
                    yield self._insert(v, at, conv)
                yield self._insert(v, at, [self._next_id(v), "one"])
        for skip in self._missing_skips(v):
            yield self._add_skip(v, skip)
        for skip in v["skips"]:
            yield {**v, "skips": [s for s in v["skips"] if s != skip]}

    def splice(
        self, a: Mapping[str, Any], b: Mapping[str, Any], rng: np.random.Generator
    ) -> dict[str, Any]:
        """One-point crossover of the backbones: ``a``'s first layers, then ``b``'s last ones
        (ids of ``b`` renumbered after ``a``'s), the skips of either that still fit, and
        either learning rate."""
        cut_a = int(rng.integers(len(a["layers"]) + 1))
        cut_b = int(rng.integers(len(b["layers"]) + 1))
        head = [list(layer) for layer in a["layers"][:cut_a]]
        offset = max((layer[0] for layer in a["layers"]), default=0)
        renumber = {layer[0]: layer[0] + offset for layer in b["layers"]}
        tail = [[renumber[layer[0]], *layer[1:]] for layer in b["layers"][cut_b:]]
        layers = (head + tail)[: self.max_layers]
        position = {0: 0, **{layer[0]: i + 1 for i, layer in enumerate(layers)}}
        candidates = [list(s) for s in a["skips"]] + [
            [0 if s[0] == 0 else renumber[s[0]], renumber[s[1]]] for s in b["skips"]
        ]
        skips: list[list[int]] = []
        for s in candidates:
            fits = s[0] in position and s[1] in position
            if fits and position[s[1]] - position[s[0]] >= 2 and s not in skips:
                skips.append(s)
        lr = a["lr"] if rng.random() < 0.5 else b["lr"]
        return {"layers": layers, "lr": lr, "skips": skips}

    # ---- reading the genome -------------------------------------------------------------------

    @property
    def summary_names(self) -> tuple[str, ...]:
        return (
            "layers",
            "convolutions",
            "one_to_one",
            "skips",
            "log_lr",
            *(f"kernel_{k}" for k in self.kernels),
            "stride_2",
            "mean_log2_channels",
            "max_log2_channels",
        )

    def summary(self, values: Mapping[str, Any]) -> list[float]:
        layers = values["layers"]
        convs = [layer for layer in layers if layer[1] == "conv"]
        n, most = max(len(convs), 1), float(self.max_layers)
        log_channels = [math.log2(layer[3]) for layer in convs] or [0.0]
        top = max(1.0, math.log2(self.max_channels))
        return [
            len(layers) / most,
            len(convs) / most,
            (len(layers) - len(convs)) / most,
            len(values["skips"]) / most,
            (math.log10(values["lr"]) - math.log10(LR_LOW)) / -math.log10(LR_LOW),
            *(sum(1 for c in convs if c[2] == k) / n for k in self.kernels),
            sum(1 for c in convs if c[4] == 2) / n,
            float(np.mean(log_channels)) / top,
            max(log_channels) / top,
        ]

    def graphs(self, values: Mapping[str, Any]) -> tuple[CellGraph, ...]:
        layers = values["layers"]
        position = {0: 0, **{layer[0]: i + 1 for i, layer in enumerate(layers)}}
        edges = [CellEdge(i, i + 1, _label(layer)) for i, layer in enumerate(layers)]
        edges += [CellEdge(position[a], position[b], "skip") for a, b in values["skips"]]
        edges.sort(key=lambda e: (e.dst, e.src))
        n = len(layers) + 1
        return (CellGraph("network", n, inputs=(0,), outputs=(n - 1,), edges=tuple(edges)),)

    def build(self, arch: Arch, task: Task, **sizes: int) -> nn.Module:
        self.check_sizes(sizes)
        return GrowingNet(arch, task)


def _label(layer: list[Any]) -> str:
    """How a drawing names a layer: ``k3 c16`` (``/2`` for stride 2), ``1:1`` (one-to-one)."""
    if layer[1] == "one":
        return "1:1"
    _, _, kernel, channels, stride = layer
    return f"k{kernel} c{channels}" + ("/2" if stride == 2 else "")


def _pick(items: list[Any], rng: np.random.Generator) -> Any:
    return items[int(rng.integers(len(items)))]


__all__ = ["STARTS", "GrowingNet", "LargeScaleEvolutionSpace"]
