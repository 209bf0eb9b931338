"""The NAS-Bench-201 space: one cell of 4 nodes and 6 edges inside a fixed macro network.

Arch keys are NAS-Bench-201's own strings, so archs match the benchmark table row for row, and
the same space builds 1-D networks for signals (MNIST-1D) and 2-D networks for images.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import partial
from typing import TYPE_CHECKING

from nasforge.errors import ConfigError, SpaceError, one_of
from nasforge.ops import NB201_OPS
from nasforge.space import (
    Arch,
    Categorical,
    CellGraph,
    CellSpace,
    Dimension,
    Float,
    ModelSpace,
    Task,
)
from nasforge.spaces._options import check_operations, check_positive_ints

if TYPE_CHECKING:  # pragma: no cover - typing only; torch is imported by ``build``
    from torch import nn

    from nasforge.spaces.define import Choices

#: the optional hyperparameter dimensions, in the order they follow the cell in a key
HYPERPARAMETERS: tuple[str, ...] = ("lr", "weight_decay", "width")


def hyperparameter_dim(name: str) -> Dimension:
    """The dimension of the optional hyperparameter ``name`` (see :data:`HYPERPARAMETERS`)."""
    if name == "lr":
        return Float("lr", 1e-3, 0.5, log=True)
    if name == "weight_decay":
        return Float("weight_decay", 1e-5, 1e-2, log=True)
    if name == "width":
        return Categorical("width", [8, 16, 32])
    raise ConfigError(
        f"nb201: hyperparameters has unknown entry {name!r}; allowed: {one_of(HYPERPARAMETERS)}"
    )


class NB201Space(CellSpace, ModelSpace):
    """NAS-Bench-201: a 4-node cell whose 6 edges each pick one operation, in a fixed network.

    The network: a 3x3 stem convolution and BN, three stages of ``n_cells`` cells with
    ``C``, ``2C`` and ``4C`` channels joined by stride-2 residual blocks, then BN-ReLU, global
    average pooling and a linear classifier. With the five default operations the space holds
    15,625 archs, named as in the benchmark:
    ``|nor_conv_3x3~0|+|nor_conv_3x3~0|avg_pool_3x3~1|+|skip_connect~0|nor_conv_3x3~1|skip_connect~2|``.

    Args:
        n_cells: cells per stage (NAS-Bench-201 uses 5).
        channels: C, the width of the first stage (NAS-Bench-201 uses 16).
        ops: the operations an edge may pick, a subset of :func:`nasforge.ops.list_ops`
            (default: the five NAS-Bench-201 operations).
        hyperparameters: optional extra dimensions searched with the cell: ``"lr"``
            (learning rate, 1e-3..0.5, log scale), ``"weight_decay"`` (1e-5..1e-2, log scale)
            and ``"width"`` (C in 8, 16 or 32; replaces ``channels``). They follow the cell in
            the key: ``|...|,lr=0.05``. The training evaluator uses ``lr`` and ``weight_decay``.

    Example:
        >>> space = NB201Space(n_cells=1, channels=8)
        >>> space.size()
        15625
        >>> arch = space.parse(
        ...     "|nor_conv_3x3~0|+|none~0|skip_connect~1|+|none~0|none~1|skip_connect~2|"
        ... )
        >>> net = space.build(arch, Task(input_shape=(1, 40), num_classes=10))
    """

    def __init__(
        self,
        n_cells: int = 5,
        channels: int = 16,
        ops: list[str] | None = None,
        hyperparameters: list[str] | None = None,
    ) -> None:
        check_positive_ints("nb201: ", n_cells=n_cells, channels=channels)
        if isinstance(hyperparameters, str):
            raise ConfigError(
                f"nb201: hyperparameters={hyperparameters!r}; allowed: a list of names, not a "
                "string"
            )
        ops = check_operations("nb201: ", ops, NB201_OPS)
        names = list(hyperparameters or [])
        if len(set(names)) != len(names):
            raise ConfigError(f"nb201: hyperparameters={names!r} names an entry twice")
        for name in names:
            hyperparameter_dim(name)  # raises for an unknown name
        extra = [hyperparameter_dim(name) for name in HYPERPARAMETERS if name in names]
        self.n_cells, self.channels = n_cells, channels
        self.hyperparameters = [name for name in HYPERPARAMETERS if name in names]
        super().__init__(n_nodes=4, ops=ops, extra=extra, name="nb201")

    def channels_of(self, arch: Arch, channels: int | None = None) -> int:
        """C of ``arch``: its ``width`` dimension when searched, else ``channels`` (by default
        the space's)."""
        if "width" in self.hyperparameters:
            return int(arch["width"])
        return self.channels if channels is None else channels

    @property
    def size_options(self) -> Mapping[str, int]:
        """``n_cells`` (cells per stage) and ``channels`` (C), which :meth:`build` may change."""
        return {"n_cells": self.n_cells, "channels": self.channels}

    def build(  # type: ignore[override]
        self,
        arch: Arch,
        task: Task,
        *,
        n_cells: int | None = None,
        channels: int | None = None,
    ) -> nn.Module:
        """The macro network for ``arch``, with 1-D or 2-D layers as ``task.ndim`` says.

        ``n_cells`` and ``channels`` build a smaller or larger network around the same cell
        than the space's options say (lower-fidelity training); a searched ``width`` dimension
        still wins over ``channels``.
        """

        for field, value in (("n_cells", n_cells), ("channels", channels)):
            if value is not None and (
                isinstance(value, bool) or not isinstance(value, int) or value < 1
            ):
                raise ConfigError(f"nb201: build {field}={value!r}; allowed: an integer >= 1")
        arch = self.validate(arch)
        if task.ndim not in (1, 2):
            raise SpaceError(
                f"nb201: task input_shape={task.input_shape!r} has {task.ndim} spatial "
                "dimensions; allowed: (channels, length) or (channels, height, width)"
            )
        from nasforge.spaces.define import ArchChoices

        return _network(
            self.cell_templates()[0],
            ArchChoices(arch, self),
            task,
            n_cells=self.n_cells if n_cells is None else n_cells,
            channels=self.channels_of(arch, channels),
        )

    def supernet_definition(self) -> tuple[Callable[..., nn.Module], dict[str, int]]:
        """The definition a supernet is built from: this space's cell (its own operations)
        in the macro network, every edge a choice point; searched hyperparameters are held
        fixed by the supernet."""
        template = self.cell_templates()[0]
        return partial(_network, template), dict(self.size_options)


def _network(
    template: CellGraph, ch: Choices, task: Task, n_cells: int, channels: int
) -> nn.Module:
    from nasforge.spaces._macro import Cell, MacroNetwork

    ndim = task.ndim
    return MacroNetwork(
        lambda width: Cell(template, width, ndim, choices=ch),
        channels=channels,
        n_cells=n_cells,
        in_channels=task.input_shape[0],
        num_classes=task.num_classes,
        ndim=ndim,
    )


def nb201_network(ch: Choices, task: Task, n_cells: int = 5, channels: int = 16) -> nn.Module:
    """NAS-Bench-201 written with choice points (:mod:`nasforge.spaces.define`): the macro
    network whose every cell asks ``ch.op("edge_j_i", ...)`` for its six edges among the five
    operations, one label per edge shared by all cells. :class:`NB201Space` builds its archs
    through this definition; ``DefinedSpace(nb201_network)`` finds the same cell dimensions
    (keyed ``edge_1_0=...`` there, not in NAS-Bench-201's notation)."""
    (template,) = CellSpace(n_nodes=4, ops=list(NB201_OPS)).cell_templates()
    return _network(template, ch, task, n_cells, channels)
