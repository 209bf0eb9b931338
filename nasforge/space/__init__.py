"""Search-space primitives: dimensions, spaces, cells and the ``Arch`` value.

This package imports nothing else of nasforge and no torch.
"""

from __future__ import annotations

from nasforge.space.arch import Arch
from nasforge.space.base import Space
from nasforge.space.cell import CellSpace, edge_name
from nasforge.space.dims import Categorical, Dimension, Float, Int
from nasforge.space.model import ModelSpace
from nasforge.space.task import Task

__all__ = [
    "Arch",
    "Categorical",
    "CellSpace",
    "Dimension",
    "Float",
    "Int",
    "ModelSpace",
    "Space",
    "Task",
    "edge_name",
]
