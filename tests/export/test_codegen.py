"""The standalone source: what it writes for each kind of cell, and what it refuses."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pytest
import torch
from torch import nn

from nasforge.errors import ConfigError, SpaceError
from nasforge.estimation.train import TrainEvaluator
from nasforge.export import ModelSpec, export_model, generate_code, load_model
from nasforge.ops import OPS
from nasforge.space import Arch, Categorical, Space, Task
from nasforge.spaces import NB201Space

if TYPE_CHECKING:
    from tests.export.conftest import MakeStore

UNREACHABLE = "|nor_conv_3x3~0|+|nor_conv_1x1~0|nor_conv_3x3~1|+|nor_conv_1x1~0|none~1|none~2|"
SKIP_ONLY = (
    "|skip_connect~0|+|skip_connect~0|skip_connect~1|"
    "+|skip_connect~0|skip_connect~1|skip_connect~2|"
)
ALL_NONE = "|none~0|+|none~0|none~1|+|none~0|none~1|none~2|"


def source_of(key: str, space: NB201Space | None = None, shape: tuple[int, ...] = (1, 8)) -> str:
    space = space or NB201Space(n_cells=1, channels=4)
    spec = ModelSpec(space.name, None, key, shape, 3)
    return generate_code(space, spec, "net.pt")


def cell_lines(text: str) -> list[str]:
    """The lines of the cell's ``forward``."""
    body = text.split("def forward(self, node0: torch.Tensor) -> torch.Tensor:\n")[1]
    return [line.strip() for line in body.split("\n\n")[0].splitlines()]


def test_unreachable_nodes_and_none_edges_are_left_out() -> None:
    text = source_of(UNREACHABLE)
    compile(text, "net.py", "exec")
    assert cell_lines(text) == [
        "# node1 does not reach the output: not computed",
        "# node2 does not reach the output: not computed",
        'node3 = self.edges["0_3"](node0)  # |nor_conv_1x1~0|none~1|none~2|',
        "return node3",
    ]
    assert text.count("ReLUConvBN(c, c,") == 1  # only the edge 0 -> 3 has a module


def test_a_skip_only_cell_has_no_modules_and_sums_its_inputs() -> None:
    text = source_of(SKIP_ONLY)
    assert cell_lines(text) == [
        "node1 = node0  # |skip_connect~0|",
        "node2 = node0 + node1  # |skip_connect~0|skip_connect~1|",
        "node3 = node0 + node1 + node2  # |skip_connect~0|skip_connect~1|skip_connect~2|",
        "return node3",
    ]
    assert "ReLUConvBN(c, c," not in text and "AvgPool(3," not in text


def test_an_all_none_cell_outputs_zeros() -> None:
    assert cell_lines(source_of(ALL_NONE))[-2:] == [
        "node3 = torch.zeros_like(node0)  # |none~0|none~1|none~2|",
        "return node3",
    ]


def test_2d_tasks_get_2d_layers_and_a_searched_width_sets_the_channels() -> None:
    space = NB201Space(n_cells=2, channels=4, hyperparameters=["width"])
    text = source_of(SKIP_ONLY + ",width=32", space, shape=(3, 8, 8))
    assert "Conv = nn.Conv2d\n" in text and "AvgPool = nn.AvgPool2d\n" in text
    assert "CHANNELS = 32\n" in text and "N_CELLS = 2\n" in text
    assert "INPUT_SHAPE = (3, 8, 8)\n" in text and "import nasforge" not in text


def test_an_operation_the_generator_does_not_know_is_refused_by_name() -> None:
    OPS.register("double_skip", "nasforge.ops.nb201:skip_connect", "for this test")
    try:
        space = NB201Space(n_cells=1, channels=4, ops=["none", "double_skip"])
        key = "|double_skip~0|+|none~0|none~1|+|none~0|none~1|double_skip~2|"
        with pytest.raises(ConfigError, match="cannot write operation 'double_skip'"):
            source_of(key, space)
    finally:
        OPS.unregister("double_skip")


class TinyMLP(Space):
    """A model space that is not registered and has no code generator."""

    def __init__(self) -> None:
        super().__init__([Categorical("hidden", [4, 8])], name="tiny-mlp")

    def build(self, arch: Arch, task: Task) -> nn.Module:
        size = int(np.prod(task.input_shape))
        hidden = int(arch["hidden"])
        return nn.Sequential(
            nn.Flatten(), nn.Linear(size, hidden), nn.ReLU(), nn.Linear(hidden, task.num_classes)
        )


def test_a_space_without_generator_exports_every_other_format(
    make_store: MakeStore, tmp_path: Path
) -> None:
    space = TinyMLP()
    store = make_store(space, ["hidden=4", "hidden=8"])
    common = {"space": space, "evaluator": TrainEvaluator("digits")}
    with pytest.raises(ConfigError, match="format='code' is not supported for space 'tiny-mlp'"):
        export_model("exp", store, format="code", out=tmp_path / "n.py", **common)
    for fmt in ("pytorch", "torchscript", "onnx"):
        result = export_model("exp", store, format=fmt, out=tmp_path / f"m.{fmt}", **common)
        assert result.trial == 1 and result.arch == "hidden=8"  # the best val_acc
        assert result.check.passed and result.check.samples == 64
    with pytest.raises(ConfigError, match="its options were not stored"):
        load_model(tmp_path / "m.pytorch")
    model = load_model(tmp_path / "m.pytorch", space=space)
    assert model[1].out_features == 8
    with torch.inference_mode():
        assert model(torch.zeros(2, 1, 8, 8)).shape == (2, 10)


def test_a_space_that_cannot_build_models_is_refused_in_one_line(
    make_store: MakeStore, tmp_path: Path
) -> None:
    space = Space([Categorical("hidden", [4, 8])], name="choices")
    store = make_store(space, ["hidden=4"])
    with pytest.raises(SpaceError, match="cannot build a model"):
        export_model(
            "exp",
            store,
            format="pytorch",
            out=tmp_path / "m.pt",
            space=space,
            task=Task((1, 8), 3),
        )


def test_training_values_do_not_change_the_written_network() -> None:
    from nasforge.space import with_training

    space = with_training(NB201Space(n_cells=1, channels=4), optimizer="adam", dropout=[0.2])
    training = space.sample(np.random.default_rng(0)).key.partition(",")[2]
    arch = space.parse(f"{UNREACHABLE},{training}")
    text = generate_code(space, ModelSpec(space.name, None, arch.key, (1, 8), 3), "net.pt")
    compile(text, "net.py", "exec")
    assert cell_lines(text) == cell_lines(source_of(UNREACHABLE))
