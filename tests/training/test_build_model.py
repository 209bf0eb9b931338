"""Building a space's network at other network sizes, and what the toolkit may import."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from torch import nn

import nasforge.training
from nasforge.errors import ConfigError
from nasforge.space import CellSpace, Task
from nasforge.spaces import NB201Space
from nasforge.training import build_model, count_parameters

KEY = "|nor_conv_3x3~0|+|skip_connect~0|none~1|+|none~0|none~1|avg_pool_3x3~2|"
TASK = Task((1, 8), 3)


def test_sizes_override_the_spaces_own() -> None:
    space = NB201Space(n_cells=1, channels=8)
    arch = space.parse(KEY)
    default = build_model(space, arch, TASK, {})
    smaller = build_model(space, arch, TASK, {"channels": (4, "fidelity 'channels'")})
    same = NB201Space(n_cells=1, channels=4).build(arch, TASK)
    assert count_parameters(smaller) == count_parameters(same) < count_parameters(default)
    deeper = build_model(space, arch, TASK, {"n_cells": (2, "n_cells")})
    assert count_parameters(deeper) > count_parameters(default)


def test_a_size_the_space_does_not_declare_is_refused_naming_it() -> None:
    space = CellSpace(4, ["nor_conv_3x3", "skip_connect", "none"], name="plain")
    arch = space.parse(KEY.replace("avg_pool_3x3", "none"))
    with pytest.raises(ConfigError) as info:
        build_model(space, arch, TASK, {"channels": (4, "fidelity 'channels'")})
    message = str(info.value)
    assert message.startswith("fidelity 'channels'=4 needs a space that builds with another")
    assert "space 'plain' (CellSpace)" in message and "\n" not in message


def test_count_parameters() -> None:
    assert count_parameters(nn.Linear(3, 2)) == 8
    assert count_parameters(nn.Sequential()) == 0


# nasforge.interrupt: the torch-free stop flag of the bottom layer, checked every step
ALLOWED = (
    "nasforge.training",
    "nasforge.space",
    "nasforge.data",
    "nasforge.errors",
    "nasforge.interrupt",
)


def test_the_toolkit_imports_only_space_data_errors_and_the_stop_flag_of_nasforge() -> None:
    for path in Path(nasforge.training.__file__).parent.glob("*.py"):
        for node in ast.walk(ast.parse(path.read_text())):
            names = []
            if isinstance(node, ast.ImportFrom) and node.module:
                names = [node.module]
            elif isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            for name in names:
                if name == "nasforge" or name.startswith("nasforge."):
                    assert name.startswith(ALLOWED), f"{path.name} imports {name}"
