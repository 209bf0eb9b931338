"""The ``mobile`` space: MnasNet / ProxylessNAS-style networks of mobile blocks, 1-D and 2-D.

The network is a stem, ``stages`` stages and a head. Following MnasNet's *factorised
hierarchical* space (Tan et al. 2019), the choices are made per stage, and every block of a
stage repeats them: this keeps the space tractable (10 dimensions a stage, 40 at the default four
stages) while letting early and late stages differ, which is what MnasNet found mattered.
Per stage ``s`` (labels ``stage{s}_...``):

- ``depth``: 1 to 4 blocks (``ch.repeat``); the first block strides 2, the others keep the size;
- ``width``: 0.5, 1 or 1.5 times the stage's base width ``channels * 2**s`` (rounded to a
  multiple of 4 so that every grouped convolution divides it);
- ``block``: the kind of block (``ch.op``), with the choices only that kind has:

  - ``dwsep``: MobileNet's depthwise-separable convolution (Howard et al. 2017), ``kernel``
    3, 5 or 7;
  - ``mbconv``: MobileNetV2 / MnasNet's inverted residual (Sandler et al. 2018), ``kernel`` 3,
    5 or 7, ``expansion`` 1, 3 or 6, ``se`` (squeeze-and-excitation of ratio 0.25, Hu et al.
    2018) on or off;
  - ``grouped``: a grouped convolution of ``groups`` 2 or 4 and ``kernel`` 3 or 5, then a
    pointwise 1x1 convolution that mixes the groups (ResNeXt / ShuffleNet's unit, without the
    shuffle);
  - ``fire``: SqueezeNet's fire module (Iandola et al. 2016) with a ``squeeze`` of 1/8 or 1/4
    of the stage's width; it cannot stride, so a stage of fire modules starts with a 3x3 max
    pool of stride 2, as SqueezeNet downsamples.

The stem is a 3x3 convolution of stride 1 (the inputs nasforge trains on are small: 40-sample
signals, 8x8 digits); the head is a 1x1 convolution to twice the last stage's base width,
global average pooling and a linear classifier. Every convolution is followed by batch norm and
ReLU, except the inverted residual's linear projection. A spatial size ``n`` becomes
``ceil(n / 2)`` at each stage.

Example:
    >>> space = MobileSpace(channels=8, stages=2)
    >>> space.size()
    104976
    >>> arch = space.parse(
    ...     "stage0_width=1.0,stage0_depth=2,stage0_block=mbconv,stage0_mbconv_kernel=5,"
    ...     "stage0_mbconv_expansion=6,stage0_mbconv_se=True,"
    ...     "stage1_width=0.5,stage1_depth=1,stage1_block=fire,stage1_fire_squeeze=0.25")
    >>> model = space.build(arch, Task((1, 40), 10))
    >>> [type(block).__name__ for block in model.stages[0]]
    ['InvertedResidual', 'InvertedResidual']
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import torch
from torch import nn

from nasforge.ops.blocks import DepthwiseSeparableConv, FireModule, InvertedResidual
from nasforge.ops.layers import ConvNormAct
from nasforge.space import Task
from nasforge.spaces._options import check_positive_ints
from nasforge.spaces.define import Choices, DefinedSpace

#: the blocks a stage repeats, in the order of the ``stage{s}_block`` dimension
BLOCK_KINDS: tuple[str, ...] = ("dwsep", "mbconv", "grouped", "fire")
#: how many blocks a stage may have
DEPTHS: tuple[int, ...] = (1, 2, 3, 4)
#: a stage's width as a multiple of its base width ``channels * 2**s``
WIDTH_MULTIPLIERS: tuple[float, ...] = (0.5, 1.0, 1.5)


def round_width(width: float) -> int:
    """``width`` rounded to the nearest multiple of 4, at least 4 (MnasNet rounds to 8): a
    grouped convolution of 2 or 4 groups then divides every width of the network."""
    return max(4, int(width + 2) // 4 * 4)


def _stage_candidates(
    ch: Choices, prefix: str, depth: range, c_in: int, c_out: int, ndim: int
) -> dict[str, Callable[[], nn.Module]]:
    """The stages a ``{prefix}_block`` choice picks among: ``depth`` blocks of one kind from
    ``c_in`` to ``c_out`` channels, the first of stride 2. Each kind asks its own choices
    first (once per stage) and then builds the blocks."""
    unit = partial(ConvNormAct, ndim=ndim)

    def blocks(make: Callable[[int, int], nn.Module]) -> nn.Sequential:
        return nn.Sequential(*[make(c_in if i == 0 else c_out, 2 if i == 0 else 1) for i in depth])

    def dwsep() -> nn.Sequential:
        kernel = ch.value(f"{prefix}_dwsep_kernel", [3, 5, 7])
        return blocks(
            lambda c, stride: DepthwiseSeparableConv(c, c_out, kernel, stride=stride, ndim=ndim)
        )

    def mbconv() -> nn.Sequential:
        kernel = ch.value(f"{prefix}_mbconv_kernel", [3, 5, 7])
        expansion = ch.value(f"{prefix}_mbconv_expansion", [1, 3, 6])
        se_ratio = 0.25 if ch.value(f"{prefix}_mbconv_se", [False, True]) else 0.0
        return blocks(
            lambda c, stride: InvertedResidual(
                c, c_out, kernel, stride=stride, expansion=expansion, se_ratio=se_ratio, ndim=ndim
            )
        )

    def grouped() -> nn.Sequential:
        groups = ch.value(f"{prefix}_grouped_groups", [2, 4])
        kernel = ch.value(f"{prefix}_grouped_kernel", [3, 5])
        return blocks(
            lambda c, stride: nn.Sequential(
                unit(c, c_out, kernel, stride=stride, groups=groups), unit(c_out, c_out, 1)
            )
        )

    def fire() -> nn.Sequential:
        squeeze = max(1, int(c_out * ch.value(f"{prefix}_fire_squeeze", [0.125, 0.25])))
        half = c_out // 2

        def make(c: int, stride: int) -> nn.Module:
            module = FireModule(c, squeeze, half, c_out - half, ndim=ndim, norm="batch")
            if stride == 1:
                return module
            pool = nn.MaxPool1d(3, 2, 1) if ndim == 1 else nn.MaxPool2d(3, 2, 1)
            return nn.Sequential(pool, module)

        return blocks(make)

    return {"dwsep": dwsep, "mbconv": mbconv, "grouped": grouped, "fire": fire}


class MobileNet(nn.Module):
    """The network of the ``mobile`` space (see the module docstring); a space definition.

    Args:
        ch: the choice points.
        task: the input shape (1-D signals or 2-D images) and the number of classes.
        channels: the base width: the stem's, and stage ``s``'s is ``channels * 2**s``.
        stages: how many stages, each halving the spatial size.

    Attributes:
        stem: 3x3 convolution, batch norm, ReLU.
        stages: one ``nn.Sequential`` per stage, of its blocks.
        head: 1x1 convolution, global average pooling, linear classifier.
    """

    def __init__(self, ch: Choices, task: Task, channels: int = 8, stages: int = 4) -> None:
        super().__init__()
        ndim = task.ndim
        width = round_width(channels)
        self.stem = ConvNormAct(task.input_shape[0], width, 3, ndim=ndim)
        built = []
        for s in range(stages):
            prefix = f"stage{s}"
            base = channels * 2**s
            c_out = round_width(base * ch.value(f"{prefix}_width", list(WIDTH_MULTIPLIERS)))
            depth = ch.repeat(f"{prefix}_depth", list(DEPTHS))
            candidates = _stage_candidates(ch, prefix, depth, width, c_out, ndim)
            built.append(ch.op(f"{prefix}_block", candidates))
            width = c_out
        self.stages = nn.Sequential(*built)
        head = round_width(2 * channels * 2 ** (stages - 1))
        pool = nn.AdaptiveAvgPool1d(1) if ndim == 1 else nn.AdaptiveAvgPool2d(1)
        self.head = nn.Sequential(
            ConvNormAct(width, head, 1, ndim=ndim),
            pool,
            nn.Flatten(),
            nn.Linear(head, task.num_classes),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.stages(self.stem(x)))  # type: ignore[no-any-return]


class MobileSpace(DefinedSpace):
    """The ``mobile`` space: :class:`MobileNet` with its choices (see the module docstring).

    Args:
        channels: the base width (the stem's; stage ``s`` has ``channels * 2**s`` before its
            width multiplier). A lower fidelity may shrink it.
        stages: how many stages (each halves the spatial size and has its own choices). A
            lower fidelity may build fewer; the space has the choices of ``stages``.

    Example:
        >>> MobileSpace(stages=1).names
        ['stage0_width', 'stage0_depth', 'stage0_block', 'stage0_dwsep_kernel', \
'stage0_mbconv_kernel', 'stage0_mbconv_expansion', 'stage0_mbconv_se', \
'stage0_grouped_groups', 'stage0_grouped_kernel', 'stage0_fire_squeeze']
    """

    registered_as = "mobile"

    def __init__(self, channels: int = 8, stages: int = 4) -> None:
        check_positive_ints("space 'mobile': ", channels=channels, stages=stages)
        self.channels, self.stages = channels, stages
        super().__init__(MobileNet, sizes={"channels": channels, "stages": stages})


__all__ = ["BLOCK_KINDS", "DEPTHS", "WIDTH_MULTIPLIERS", "MobileNet", "MobileSpace", "round_width"]
