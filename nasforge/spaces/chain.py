"""``chain``: MetaQNN / NAS-RL layer sequences of variable depth, in 1-D and 2-D.

The networks of MetaQNN (Baker et al. 2017) and NAS-RL (Zoph & Le 2017): a chain of 1 to
``max_layers`` layers, each a **convolution** (kernel 1, 3 or 5; ``channels`` x 1, 2 or 4
filters; stride 1 or 2; batch norm and ReLU) or a **max pooling** (MetaQNN's kernel/stride
pairs 2/2, 3/2 and 5/3), then global average pooling, 0 to 2 **fully connected** layers
(``channels`` x 2, 4 or 8 units, ReLU) and the classifier.

**Skip connections (NAS-RL).** Convolution ``i`` always reads layer ``i - 1`` and may also read
any earlier layer ``k < i - 1`` (one on/off choice ``skip{i}_{k}`` each, as NAS-RL's anchor
points decide each earlier layer separately). As in NAS-RL the inputs are concatenated along
channels and a smaller map is padded with zeros (at its end) to the largest one, so a skip from
before a downsampling brings the map back to the larger size.

**MetaQNN's rules, held by the space.** At most two fully connected layers: structural (their
count is a 0-2 choice), and ``make`` names the rule when a hand-made arch asks for more. No
pooling once the map is one wide: the map size after each layer follows from the arch (every
layer maps ``n`` to ``ceil(n / stride)``, a convolution with skips starts from its largest
input) for the input the space is designed for (``input_size``, the length of a signal or the
side of an image); the rule is :meth:`ChainSpace.violation`, which ``sample``, ``mutate``,
``crossover``, ``neighbors``, ``enumerate``, ``size`` and ``make`` all respect.

**Another input size.** ``build`` builds for any task: the rules are a property of the space at
``input_size``, and every layer is padded so that a map of 1 stays 1, so a network searched at
one size still runs on another (on a smaller input a late pooling may then meet a one-wide map
and do nothing). Search with ``input_size`` set to the size you train on.

Example:
    >>> space = ChainSpace(max_layers=2, input_size=8)
    >>> space.size()
    6006
    >>> arch = space.parse("depth=2,layer0=pool,pool0=k5s3,layer1=pool,pool1=k3s2,fc_layers=0")
    >>> space.map_sizes(arch)
    [8, 3, 2]
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Mapping, Sequence
from functools import cache, partial
from typing import Any

import torch
import torch.nn.functional as F  # noqa: N812 - PyTorch's usual name
from torch import nn

from nasforge.errors import ConfigError, SpaceError
from nasforge.ops.layers import ConvNormAct
from nasforge.space import Arch, Task
from nasforge.spaces._options import check_positive_ints
from nasforge.spaces.define import Choices, DefinedSpace

#: convolution kernel sizes, filter multiples of ``channels`` and strides (MetaQNN, NAS-RL)
KERNELS = (1, 3, 5)
WIDTHS = (1, 2, 4)
STRIDES = (1, 2)
#: MetaQNN's pooling kernel/stride pairs, by name
POOLS = {"k2s2": (2, 2), "k3s2": (3, 2), "k5s3": (5, 3)}
#: fully connected units, multiples of ``channels``; at most two such layers (MetaQNN)
FC_WIDTHS = (2, 4, 8)
MAX_FC = 2
#: the largest ``max_layers`` (the skip choices grow with its square)
LAYER_LIMIT = 12


def concat_padded(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
    """Concatenate maps along channels, padding each with zeros at its end to the largest
    size in every spatial dimension (NAS-RL's rule for inputs of different sizes)."""
    spatial = range(2, tensors[0].dim())
    largest = [max(int(t.shape[d]) for t in tensors) for d in spatial]
    padded = []
    for t in tensors:
        pad: list[int] = []
        for d in reversed(spatial):  # F.pad lists the last dimension first
            pad += [0, largest[d - 2] - int(t.shape[d])]
        padded.append(F.pad(t, pad) if any(pad) else t)
    return torch.cat(padded, dim=1)


def max_pool(ndim: int, kernel: int, stride: int) -> nn.Module:
    """Max pooling that maps ``n`` to ``ceil(n / stride)`` (so 1 stays 1) for any kernel."""
    cls = nn.MaxPool1d if ndim == 1 else nn.MaxPool2d
    if kernel % 2:
        return cls(kernel, stride, padding=kernel // 2)
    return cls(kernel, stride, ceil_mode=True)


class ChainNet(nn.Module):
    """The chain network, written with choice points (see the module docstring).

    Args:
        ch: the choices.
        task: input shape and classes.
        channels: the filter unit: convolutions have ``channels`` x 1, 2 or 4 filters and
            fully connected layers ``channels`` x 2, 4 or 8 units (a lower fidelity shrinks it).
        max_layers: the most convolution and pooling layers.
    """

    def __init__(self, ch: Choices, task: Task, channels: int = 16, *, max_layers: int) -> None:
        super().__init__()
        ndim = task.ndim
        widths = [task.input_shape[0]]  # channels of each output: the input, then each layer
        self.layers = nn.ModuleList()
        self.sources: list[list[int]] = []  # per layer: earlier layers it also reads
        for i in ch.repeat("depth", list(range(1, max_layers + 1))):
            conv = partial(self._conv, ch, i, widths, channels, ndim)
            pool = partial(self._pool, ch, i, ndim)
            layer = ch.op(f"layer{i}", {"conv": conv, "pool": pool})
            self.layers.append(layer)
            self.sources.append(list(getattr(layer, "sources", [])))
            widths.append(getattr(layer, "out_channels", widths[-1]))
        head: list[nn.Module] = [nn.Flatten()]
        width = widths[-1]
        for j in ch.repeat("fc_layers", list(range(MAX_FC + 1))):
            units = channels * ch.value(f"fc{j}", list(FC_WIDTHS))
            head += [nn.Linear(width, units), nn.ReLU()]
            width = units
        head.append(nn.Linear(width, task.num_classes))
        self.head = nn.Sequential(*head)
        self.ndim = ndim

    @staticmethod
    def _conv(ch: Choices, i: int, widths: list[int], channels: int, ndim: int) -> nn.Module:
        sources = [k for k in range(i - 1) if ch.value(f"skip{i}_{k}", [False, True])]
        kernel = ch.value(f"kernel{i}", list(KERNELS))
        filters = channels * ch.value(f"width{i}", list(WIDTHS))
        stride = ch.value(f"stride{i}", list(STRIDES))
        c_in = widths[i] + sum(widths[k + 1] for k in sources)
        layer = ConvNormAct(c_in, filters, kernel, stride=stride, ndim=ndim)
        layer.sources = sources  # type: ignore[assignment]
        layer.out_channels = filters  # type: ignore[assignment]
        return layer

    @staticmethod
    def _pool(ch: Choices, i: int, ndim: int) -> nn.Module:
        return max_pool(ndim, *POOLS[ch.value(f"pool{i}", list(POOLS))])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        outputs = [x]
        for layer, sources in zip(self.layers, self.sources, strict=True):
            h = outputs[-1]
            if sources:
                h = concat_padded([h, *(outputs[k + 1] for k in sources)])
            outputs.append(layer(h))
        pooled = outputs[-1].flatten(2).mean(dim=2)
        logits: torch.Tensor = self.head(pooled)
        return logits


def _positive(field: str, value: Any, high: int | None = None) -> int:
    check_positive_ints("chain ", **{field: value})
    if high is not None and value > high:
        raise ConfigError(f"chain {field}={value!r}; allowed: an integer in [1, {high}]")
    return value


class ChainSpace(DefinedSpace):
    """MetaQNN / NAS-RL chains of convolution and pooling layers with skip connections and up
    to two fully connected layers, in 1-D and 2-D (see the module docstring).

    Args:
        max_layers: the most convolution and pooling layers (1 to 12).
        input_size: the input length (signals) or side (images) the space is designed for:
            MetaQNN's one-wide rule is checked against it (MNIST-1D: 40; CIFAR: 32).
        channels: the filter unit (a network size a lower fidelity may shrink).
    """

    registered_as = "chain"

    def __init__(self, max_layers: int = 6, input_size: int = 40, channels: int = 16) -> None:
        self.max_layers = _positive("max_layers", max_layers, LAYER_LIMIT)
        self.input_size = _positive("input_size", input_size)
        self.channels = _positive("channels", channels)
        super().__init__(ChainNet, sizes={"channels": channels}, task_shape=(1, input_size))

    def _run(self, choices: Choices, task: Task, sizes: Mapping[str, int]) -> Any:
        return ChainNet(choices, task, **sizes, max_layers=self.max_layers)

    # ---- MetaQNN's rules ----------------------------------------------------------------------

    def map_sizes(self, values: Mapping[str, Any]) -> list[int]:
        """The map size (length, or side) at the input and after each layer, for
        ``input_size``."""
        sizes = [self.input_size]
        for i in range(int(values["depth"])):
            if values[f"layer{i}"] == "pool":
                sizes.append(math.ceil(sizes[-1] / POOLS[values[f"pool{i}"]][1]))
                continue
            read = [sizes[-1]] + [sizes[k + 1] for k in range(i - 1) if values[f"skip{i}_{k}"]]
            sizes.append(math.ceil(max(read) / values[f"stride{i}"]))
        return sizes

    def violation(self, values: Mapping[str, Any]) -> str | None:
        sizes = self.map_sizes(values)
        for i in range(int(values["depth"])):
            if values[f"layer{i}"] == "pool" and sizes[i] == 1:
                return (
                    f"no pooling once the map is one wide (MetaQNN): layer{i} pools a map of "
                    f"size 1 (input_size={self.input_size}, sizes {sizes[: i + 1]})"
                )
        return None

    def make(self, values: Mapping[str, Any]) -> Arch:
        fc = values.get("fc_layers")
        if isinstance(fc, int) and not isinstance(fc, bool) and fc > MAX_FC:
            raise SpaceError(
                f"space {self.name!r}: arch breaks a rule: at most {MAX_FC} fully connected "
                f"layers (MetaQNN); fc_layers={fc}"
            )
        return super().make(values)

    def size(self) -> float:
        """The chains that obey the rules, counted exactly (by the map sizes they reach)."""
        per_conv = len(KERNELS) * len(WIDTHS)
        per_fc = sum(len(FC_WIDTHS) ** n for n in range(MAX_FC + 1))

        @cache
        def chains(sizes: tuple[int, ...]) -> int:
            """Chains that start with layers giving ``sizes`` (the input first)."""
            i = len(sizes) - 1
            total = 1 if i else 0
            if i == self.max_layers:
                return total
            if sizes[-1] > 1:
                for _, stride in POOLS.values():
                    total += chains((*sizes, math.ceil(sizes[-1] / stride)))
            for skips in itertools.product((False, True), repeat=max(i - 1, 0)):
                read = max([sizes[-1]] + [sizes[k + 1] for k, on in enumerate(skips) if on])
                for stride in STRIDES:
                    total += per_conv * chains((*sizes, math.ceil(read / stride)))
            return total

        return chains((self.input_size,)) * per_fc


__all__ = ["ChainNet", "ChainSpace", "concat_padded", "max_pool"]
