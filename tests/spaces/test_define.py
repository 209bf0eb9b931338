"""Spaces written as PyTorch code with choice points (``nasforge.spaces.define``)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

import nasforge as nf
from nasforge.errors import ConfigError, SpaceError
from nasforge.space import Arch, Categorical, Int, Task
from nasforge.spaces import DefinedSpace, create_space
from nasforge.spaces.define import Choices
from nasforge.spaces.examples import ConvNet

SIGNALS = Task((1, 24), 3)
IMAGES = Task((1, 8, 8), 3)


def test_the_example_states_its_choices_with_conditions_from_depth() -> None:
    space = DefinedSpace(ConvNet)
    assert space.names == [
        "width_mult",
        "depth",
        "block0",
        "act",
        "block1",
        "skip1",
        "block2",
        "skip2",
    ]
    assert isinstance(space.dim("depth"), Int)
    assert space.dim("block0").when == {"depth": (1, 2, 3)}
    assert space.dim("block2").when == {"depth": (3,)}
    assert space.dim("skip2").values() == ["0", "1", "2"]
    assert space.dim("act").when == {}  # tied across blocks: active wherever any block is
    assert space.size_options == {"channels": 16}
    shallow = space.parse("width_mult=1,depth=1,block0=maxpool,act=relu")
    assert shallow["block1"] is None and shallow["skip2"] is None


@pytest.mark.filterwarnings("ignore:`torch.jit:DeprecationWarning")  # tracing, as export does
@pytest.mark.parametrize("task", [SIGNALS, IMAGES], ids=["1d", "2d"])
def test_every_sampled_arch_builds_a_plain_module_that_trains(task: Task) -> None:
    space = create_space("pytorch", sizes={"channels": 4})
    rng = np.random.default_rng(0)
    for _ in range(6):
        arch = space.sample(rng)
        model = space.build(arch, task)
        assert not any(type(m).__module__ == "nasforge.spaces.define" for m in model.modules())
        out = model(torch.randn(4, *task.input_shape))
        assert out.shape == (4, 3)
        out.sum().backward()
        depth = arch["depth"]
        assert len(model.blocks) == depth
        assert model.skips[1:] == [(int(arch[f"skip{i}"]),) for i in range(1, depth)]
        traced = torch.jit.trace(model.eval(), torch.randn(2, *task.input_shape))
        x = torch.randn(2, *task.input_shape)
        torch.testing.assert_close(traced(x), model(x))


def counting_definition(calls: list[str]) -> Any:
    def definition(ch: Choices, task: Task, width: int = 4) -> nn.Module:
        def candidate(name: str, make: Any) -> Any:
            def build() -> nn.Module:
                calls.append(name)
                return make()

            return build

        act = ch.op(
            "act",
            {
                "relu": candidate("relu", nn.ReLU),
                "leaky": candidate("leaky", lambda: nn.LeakyReLU(ch.float("slope", 0.01, 0.3))),
            },
        )
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(width), act, nn.Linear(width, 3))

    return definition


def test_building_an_arch_constructs_only_the_chosen_candidates() -> None:
    calls: list[str] = []
    space = DefinedSpace(counting_definition(calls))
    assert space.dim("slope").when == {"act": ("leaky",)}  # a candidate's own choice
    assert sorted(set(calls)) == ["leaky", "relu"]  # finding the choices built every candidate
    calls.clear()
    model = space.build(space.parse("act=leaky,slope=0.2"), SIGNALS)
    assert calls == ["leaky"]
    assert isinstance(model[2], nn.LeakyReLU) and model[2].negative_slope == pytest.approx(0.2)
    assert model[1].weight.shape == (4, 24)  # lazy modules are materialised by build


def test_finding_the_choices_allocates_no_weights() -> None:
    seen: list[torch.device] = []

    def definition(ch: Choices, task: Task) -> nn.Module:
        width = ch.value("width", [4096, 8192])
        layer = nn.Linear(width, width)
        seen.append(layer.weight.device)
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(width), layer, nn.Linear(width, 3))

    DefinedSpace(definition)
    assert seen and all(d.type == "meta" for d in seen)


def test_a_shared_label_ties_points_and_must_match() -> None:
    def tied(ch: Choices, task: Task) -> nn.Module:
        a = ch.value("k", [1, 3])
        b = ch.value("k", [1, 3])
        assert a == b
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(3))

    assert DefinedSpace(tied).names == ["k"]

    def mismatched(ch: Choices, task: Task) -> nn.Module:
        ch.value("k", [1, 3])
        ch.value("k", [1, 5])
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(3))

    with pytest.raises(SpaceError, match="'k' is asked twice with different candidates"):
        DefinedSpace(mismatched)


def test_a_choice_behind_a_plain_if_is_refused_in_one_line() -> None:
    def hidden(ch: Choices, task: Task) -> nn.Module:
        if ch.value("use_extra", [False, True]):
            ch.value("extra_width", [8, 16])
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(3))

    with pytest.raises(SpaceError, match="'extra_width' is asked or not depending") as info:
        DefinedSpace(hidden)
    assert "\n" not in str(info.value)


def test_inputs_choose_k_of_n_and_repeat_switches_off_later_blocks() -> None:
    def graph(ch: Choices, task: Task) -> nn.Module:
        pairs = [ch.inputs(f"node{i}", n=i + 2, k=2) for i in ch.repeat("nodes", [2, 4])]
        assert all(len(p) == 2 and p == tuple(sorted(p)) for p in pairs)
        return nn.Sequential(nn.Flatten(), nn.LazyLinear(3))

    space = DefinedSpace(graph)
    assert isinstance(space.dim("nodes"), Categorical)  # depths 2 and 4 only
    assert space.dim("node0").values() == ["0+1"]
    assert space.dim("node2").values() == ["0+1", "0+2", "0+3", "1+2", "1+3", "2+3"]
    assert space.dim("node2").when == {"nodes": (4,)}
    assert space.size() == 1 * 3 + 1 * 3 * 6 * 10


def test_a_definition_is_kept_as_its_import_path_and_rebuilt_from_it() -> None:
    space = DefinedSpace(ConvNet, sizes={"channels": 4})
    assert space.definition == "nasforge.spaces.examples:ConvNet"
    name, options = nf.spaces.SPACES.options_of(space)  # type: ignore[misc]
    assert name == "pytorch" and options["definition"] == "nasforge.spaces.examples:ConvNet"
    again = create_space("pytorch", **options)
    assert [repr(d) for d in again.dims] == [repr(d) for d in space.dims]

    local = DefinedSpace(
        lambda ch, task: nn.Sequential(nn.Flatten(), nn.LazyLinear(ch.int("w", 2, 3)))
    )
    assert callable(local.definition)  # not importable: a custom space, kept in memory only
    assert nf.spaces.SPACES.options_of(local) is None


@pytest.mark.parametrize(
    ("definition", "says"),
    [
        ("nowhere.at_all:net", "definition='nowhere.at_all:net' cannot be imported"),
        ("nasforge.spaces.examples", "allowed: 'package.module:name'"),
        ("nasforge.spaces.examples:__doc__", "is not callable"),
    ],
)
def test_a_bad_definition_path_is_one_line(definition: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        create_space("pytorch", definition=definition)


def test_a_kept_choices_object_or_a_non_module_is_refused() -> None:
    class Keeps(nn.Module):
        def __init__(self, ch: Choices, task: Task) -> None:
            super().__init__()
            self.ch = ch
            self.fc = nn.Linear(24, ch.value("n", [3]))

    with pytest.raises(SpaceError, match=r"keeps its Choices object in Keeps\.ch"):
        DefinedSpace(Keeps).build(Arch({"n": 3}, key="n=3"), SIGNALS)
    with pytest.raises(SpaceError, match=r"returned int, not a torch\.nn\.Module"):
        DefinedSpace(lambda ch, task: ch.value("n", [1, 2])).build(
            Arch({"n": 1}, key="n=1"), SIGNALS
        )


def test_a_search_on_a_defined_space_runs_with_worker_processes(tmp_path: Path) -> None:
    """An importable definition pickles by reference: worker processes rebuild it."""
    from nasforge.estimation.train import TrainEvaluator

    exp = nf.Experiment(
        create_space("pytorch", sizes={"channels": 4}),
        strategy="regularized-evolution",
        strategy_options={"population_size": 3, "sample_size": 2},
        evaluator=TrainEvaluator(dataset="digits", epochs=1, batch_size=64),
        storage=tmp_path / "s.db",
        name="defined",
        seed=1,
    )
    trials = exp.run(max_trials=4, progress=False, executor="processes", workers=2)
    assert len(trials) == 4 and all(t.status == nf.TrialStatus.COMPLETE for t in trials)
    assert all(0.0 <= t.metrics["val_acc"] <= 100.0 for t in trials)  # percent


def readme_block() -> str:
    text = (Path(__file__).parents[2] / "README.md").read_text()
    marker = "<!-- the block below runs in tests/spaces/test_define.py -->\n```python\n"
    start = text.index(marker) + len(marker)
    return text[start : text.index("```", start)]


def test_the_readme_example_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    code = readme_block()
    small = code.replace("epochs=5", "epochs=1").replace("max_trials=20", "max_trials=3")
    assert small.count("epochs=1") == 1 and small.count("max_trials=3") == 1, "README changed"
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(small, "README.md", "exec"), namespace)
    space, model = namespace["space"], namespace["model"]
    assert space.names[:4] == ["width", "depth", "op0", "skip0"]
    assert space.dim("op1").when == {"depth": (2, 3, 4)}
    assert len(namespace["exp"].trials()) == 3
    assert model(torch.randn(2, 1, 40)).shape == (2, 10)


CONFIG = """\
name: defined
seed: 0
storage: sqlite:///{db}
space:
  name: pytorch
  options: {{definition: "nasforge.spaces.examples:ConvNet", sizes: {{channels: 4}}}}
strategy: random
evaluator: {{name: train, options: {{dataset: digits, epochs: 1}}}}
budget: {{max_trials: 2}}
"""


def test_yaml_search_then_export_rebuilds_the_space_from_the_store(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from nasforge.cli.main import app

    config = tmp_path / "search.yaml"
    config.write_text(CONFIG.format(db=tmp_path / "s.db"))
    runner = CliRunner()
    done = runner.invoke(app, ["search", str(config), "--quiet"])
    assert done.exit_code == 0, done.output
    storage = f"sqlite:///{tmp_path / 's.db'}"
    out = tmp_path / "net.onnx"
    done = runner.invoke(
        app, ["export", "defined", "--storage", storage, "--format", "onnx", "--out", str(out)]
    )
    assert done.exit_code == 0, done.output
    assert out.exists() and "same predicted class on 100%" in done.output


def test_nb201_is_written_with_choice_points_and_builds_as_before() -> None:
    """NB201Space builds through its definition: the same dims as the cell space, and the same
    network, weight for weight, as the cell built from the realised graph."""
    from nasforge.spaces import NB201Space
    from nasforge.spaces._macro import Cell, MacroNetwork
    from nasforge.spaces.nb201 import nb201_network

    space = NB201Space(n_cells=2, channels=4)
    defined = DefinedSpace(nb201_network, sizes={"n_cells": 1, "channels": 4})
    assert [repr(d) for d in defined.dims] == [repr(d) for d in space.dims]
    rng = np.random.default_rng(0)
    for task in (SIGNALS, IMAGES):
        for _ in range(4):
            arch = space.sample(rng)
            torch.manual_seed(3)
            new = space.build(arch, task)
            (graph,) = space.cells(arch)
            torch.manual_seed(3)
            ndim = task.ndim
            old = MacroNetwork(lambda w, g=graph, n=ndim: Cell(g, w, n), 4, 2, 1, 3, ndim)
            got, want = new.state_dict(), old.state_dict()
            assert got.keys() == want.keys()
            assert all(torch.equal(got[k], want[k]) for k in got)
            x = torch.randn(2, *task.input_shape)
            assert torch.equal(new(x), old(x))
            again = defined.build(defined.make(dict(arch)), task, n_cells=2)
            assert again.state_dict().keys() == got.keys()
