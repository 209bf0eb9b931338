"""Search-space primitives: dimensions, spaces, cells and the ``Arch`` value.

This package imports nothing else of nasforge and no torch.
"""

from __future__ import annotations

from nasforge.space.arch import Arch
from nasforge.space.base import Space
from nasforge.space.cell import (
    CellSpace,
    CellStringError,
    cell_graph_from_key,
    edge_name,
    format_cell_string,
    parse_cell_string,
)
from nasforge.space.dims import Categorical, Dimension, Float, Int
from nasforge.space.graph import ABSENT_OPS, CellEdge, CellGraph
from nasforge.space.model import ModelSpace
from nasforge.space.task import Task
from nasforge.space.training import (
    TRAINING_DEFAULTS,
    TrainingModelSpace,
    TrainingSpace,
    training_values,
    with_training,
)

__all__ = [
    "ABSENT_OPS",
    "TRAINING_DEFAULTS",
    "Arch",
    "Categorical",
    "CellEdge",
    "CellGraph",
    "CellSpace",
    "CellStringError",
    "Dimension",
    "Float",
    "Int",
    "ModelSpace",
    "Space",
    "Task",
    "TrainingModelSpace",
    "TrainingSpace",
    "cell_graph_from_key",
    "edge_name",
    "format_cell_string",
    "parse_cell_string",
    "training_values",
    "with_training",
]
