"""Standalone Python source for a found network: plain ``torch.nn``, no nasforge import.

What a user pastes into their own project: one file that defines the network of one arch and
loads its weights from a sibling ``.pt`` state dict. The cell is written out edge by edge (its
``forward`` reads like the NAS-Bench-201 string it came from), ``none`` edges and nodes that
cannot reach the output are left out, and module names match nasforge's so that the state dict
of the in-library model loads into it (without the keys of the left-out edges).

A generator is registered per space name (:func:`register_codegen`); the built-in one covers
``nb201`` with the five NAS-Bench-201 operations, in 1-D and 2-D.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nasforge.errors import ConfigError, one_of
from nasforge.export.source import ModelSpec
from nasforge.registry import Registry
from nasforge.space import CellGraph, Space, TrainingSpace

#: ``generator(space, spec, weights_file, note) -> source text``
CodeGenerator = Callable[[Space, ModelSpec, str, str], str]

CODEGENS: Registry[str] = Registry("code generator")
CODEGENS.register(
    "nb201",
    "nasforge.export.codegen:nb201_source",
    "NAS-Bench-201 cell in its macro network (the five NAS-Bench-201 operations).",
)


def register_codegen(space: str, generator: CodeGenerator | str, summary: str = "") -> None:
    """Make ``format='code'`` available for the space registered as ``space``."""
    CODEGENS.register(space, generator, summary)


def generate_code(space: Space, spec: ModelSpec, weights_file: str, note: str = "") -> str:
    """The standalone source for ``spec``'s network, reading ``weights_file`` beside it.

    Raises:
        ConfigError: no code generator is registered for the space, or it cannot express the
            arch (e.g. an operation it does not know).
    """
    if space.name not in CODEGENS:
        raise ConfigError(
            f"format='code' is not supported for space {space.name!r}; supported spaces: "
            f"{one_of(CODEGENS.names())}; use format 'pytorch', 'torchscript' or 'onnx'"
        )
    generator: Any = CODEGENS.get(space.name)
    return str(generator(space, spec, weights_file, note))


#: the operations the nb201 generator writes out, as ``(module expression or None, comment)``;
#: ``None``: no module (``none`` adds nothing, ``skip_connect`` is the input itself)
_NB201_OPS: dict[str, str | None] = {
    "none": None,
    "skip_connect": None,
    "nor_conv_1x1": "ReLUConvBN(c, c, 1, 1)",
    "nor_conv_3x3": "ReLUConvBN(c, c, 3, 1)",
    "avg_pool_3x3": "AvgPool(3, stride=1, padding=1, count_include_pad=False)",
}


def nb201_source(space: Space, spec: ModelSpec, weights_file: str, note: str = "") -> str:
    """Source of the NAS-Bench-201 macro network around ``spec``'s cell (see module docs)."""
    from nasforge.spaces.nb201 import NB201Space

    inner = space.inner if isinstance(space, TrainingSpace) else space
    if not isinstance(inner, NB201Space):
        raise ConfigError(
            f"format='code': space {space.name!r} is a {type(space).__name__}; allowed: an "
            "NB201Space (with or without training dimensions)"
        )
    arch = space.parse(spec.arch)
    if isinstance(space, TrainingSpace):  # training values do not change the network
        arch = space.split(arch)[0]
    space = inner
    (cell,) = space.cells(arch)
    for edge in cell.edges:
        if edge.op not in _NB201_OPS:
            raise ConfigError(
                f"format='code' cannot write operation {edge.op!r} of arch {spec.arch!r}; "
                f"allowed: {one_of(_NB201_OPS)}; use format 'pytorch', 'torchscript' "
                "or 'onnx'"
            )
    ndim = len(spec.input_shape) - 1
    channels = space.channels_of(arch, spec.build_options.get("channels"))
    n_cells = spec.build_options.get("n_cells", space.n_cells)
    modules, forward = _cell_body(cell)
    suffix = f"{ndim}d"
    fields = {
        "arch": spec.arch,
        "ndim": ndim,
        "shape": ", ".join(str(n) for n in spec.input_shape),
        "input_shape": repr(tuple(spec.input_shape)),
        "num_classes": spec.num_classes,
        "channels": channels,
        "n_cells": n_cells,
        "weights_file": weights_file,
        "note": note or "the state dict in WEIGHTS",
        "conv": f"nn.Conv{suffix}",
        "bn": f"nn.BatchNorm{suffix}",
        "pool": f"nn.AvgPool{suffix}",
        "modules": modules,
        "forward": forward,
    }
    return _NB201_TEMPLATE.format(**fields)


def _cell_body(cell: CellGraph) -> tuple[str, str]:
    """The ``ModuleDict`` entries and the ``forward`` lines of a one-input, one-output cell
    whose nodes sum their incoming edges (``node0`` is the input)."""
    (last,) = cell.outputs
    needed = cell.needed_nodes({"none"})
    modules: list[str] = []
    lines: list[str] = []
    for j in range(1, cell.n_nodes):
        if j not in needed:
            lines.append(f"# node{j} does not reach the output: not computed")
            continue
        terms: list[str] = []
        incoming = cell.incoming(j)
        for edge in incoming:
            op, i = edge.op, edge.src
            if op == "none":
                continue
            expression = _NB201_OPS[str(op)]
            if expression is None:  # skip_connect
                terms.append(f"node{i}")
                continue
            modules.append(f'"{i}_{j}": {expression},  # {op}~{i}')
            terms.append(f'self.edges["{i}_{j}"](node{i})')
        ops = "|".join(f"{e.op}~{e.src}" for e in incoming)
        value = " + ".join(terms) if terms else "torch.zeros_like(node0)"
        lines.append(f"node{j} = {value}  # |{ops}|")
    lines.append(f"return node{last}")
    pad_modules = "\n".join(" " * 16 + m for m in modules)
    pad_forward = "\n".join(" " * 8 + line for line in lines)
    return pad_modules, pad_forward


_NB201_TEMPLATE = '''\
"""A network found by neural architecture search (nasforge), as plain PyTorch.

The NAS-Bench-201 cell (Dong & Yang 2020)

    {arch}

in its macro network: a 3x3 stem, three stages of {n_cells} cell(s) with C={channels}, 2C and 4C
channels joined by stride-2 residual blocks, then BN-ReLU, global average pooling and a linear
classifier. Input: ({shape}) per sample ({ndim}-D); output: {num_classes} class logits.
Weights: {note}.

This file needs only torch; copy it (and its weights) into a project:

    model = load_model()  # reads {weights_file} beside this file; eval mode
    logits = model(x)     # x: (batch, {shape})
"""

from __future__ import annotations

from pathlib import Path

import torch
from torch import nn

ARCH = "{arch}"
INPUT_SHAPE = {input_shape}
NUM_CLASSES = {num_classes}
CHANNELS = {channels}
N_CELLS = {n_cells}
WEIGHTS = Path(__file__).with_name("{weights_file}")

Conv = {conv}
BatchNorm = {bn}
AvgPool = {pool}


class ReLUConvBN(nn.Sequential):
    """ReLU, bias-free convolution (size kept at stride 1), batch norm."""

    def __init__(self, c_in: int, c_out: int, kernel: int, stride: int) -> None:
        super().__init__(
            nn.ReLU(),
            Conv(c_in, c_out, kernel, stride=stride, padding=kernel // 2, bias=False),
            BatchNorm(c_out),
        )


class Cell(nn.Module):
    """The found cell: node j sums the operations on its edges from nodes i < j."""

    def __init__(self, c: int) -> None:
        super().__init__()
        self.edges = nn.ModuleDict(
            {{
{modules}
            }}
        )

    def forward(self, node0: torch.Tensor) -> torch.Tensor:
{forward}


class ResidualReduction(nn.Module):
    """Stride-2 residual block between stages: (C, n) -> (2C, n / 2)."""

    def __init__(self, c_in: int, c_out: int) -> None:
        super().__init__()
        self.conv_a = ReLUConvBN(c_in, c_out, 3, 2)
        self.conv_b = ReLUConvBN(c_out, c_out, 3, 1)
        self.downsample = nn.Sequential(
            AvgPool(2, stride=2, padding=0, ceil_mode=True, count_include_pad=False),
            Conv(c_in, c_out, 1, bias=False),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.downsample(x) + self.conv_b(self.conv_a(x))


class Network(nn.Module):
    """Stem, three stages of cells joined by residual reductions, pooling, classifier."""

    def __init__(self) -> None:
        super().__init__()
        c = CHANNELS
        self.stem = nn.Sequential(
            Conv(INPUT_SHAPE[0], c, 3, stride=1, padding=1, bias=False), BatchNorm(c)
        )
        layers: list[nn.Module] = []
        for stage in range(3):
            if stage > 0:
                layers.append(ResidualReduction(c, 2 * c))
                c *= 2
            layers.extend(Cell(c) for _ in range(N_CELLS))
        self.cells = nn.Sequential(*layers)
        self.lastact = nn.Sequential(BatchNorm(c), nn.ReLU())
        self.classifier = nn.Linear(c, NUM_CLASSES)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        features = self.lastact(self.cells(self.stem(x)))
        return self.classifier(features.flatten(2).mean(dim=2))


def load_model(weights: str | Path | None = WEIGHTS, device: str = "cpu") -> Network:
    """The network with the weights in ``weights`` (``None``: freshly initialised), in eval mode."""
    model = Network()
    if weights is not None:
        model.load_state_dict(torch.load(weights, map_location="cpu", weights_only=True))
    return model.to(device).eval()


if __name__ == "__main__":
    net = load_model()
    print(ARCH, "->", tuple(net(torch.zeros(2, *INPUT_SHAPE)).shape))
'''
