"""The ``large-scale-evolution`` space: growing genomes, the paper's mutations, stable layer
ids, and every mutation of a genome builds a network that trains on the CPU."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from nasforge.errors import ConfigError, SpaceError
from nasforge.space import Task
from nasforge.space.genome import graph_properties
from nasforge.spaces import create_space
from nasforge.spaces.large_scale_evolution import LargeScaleEvolutionSpace
from nasforge.strategies import create_strategy
from nasforge.testing.spaces import SpaceConformance, check_trains_one_step

TASK = Task(input_shape=(1, 16), num_classes=3)
SPACE_FOR_PROPERTIES = LargeScaleEvolutionSpace(max_layers=6, channels=4, max_channels=16)


class TestConformance(SpaceConformance):
    @pytest.fixture(params=["random", "empty"])
    def space(self, request: pytest.FixtureRequest) -> LargeScaleEvolutionSpace:
        return LargeScaleEvolutionSpace(start=request.param, max_layers=5, channels=4)


def grown(space: LargeScaleEvolutionSpace, steps: int, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    archs = [space.sample(rng)]
    for _ in range(steps):
        archs.append(space.mutate(archs[-1], rng))
    return archs


def test_the_papers_start_has_no_convolution_and_grows() -> None:
    space = LargeScaleEvolutionSpace(start="empty")
    first = space.sample(np.random.default_rng(0))
    assert first["layers"] == [] and first["lr"] == 0.1
    assert space.mutation_names(first) == [
        "alter-learning-rate",
        "insert-convolution",
        "insert-one-to-one",
    ]
    model = space.build(first, TASK)  # global pooling and a linear classifier
    assert [n for n, _ in model.named_parameters()] == ["head.weight", "head.bias"]
    last = grown(space, 40)[-1]
    assert any(layer[1] == "conv" for layer in last["layers"])


def test_every_mutation_of_the_paper_is_reachable() -> None:
    space = LargeScaleEvolutionSpace(max_layers=6)
    rng = np.random.default_rng(3)
    arch, applied = space.sample(rng), set()
    for _ in range(400):
        arch, name = space.mutate_named(arch, rng)
        applied.add(name)
    assert applied - {None} == {
        "alter-learning-rate",
        "insert-convolution",
        "remove-convolution",
        "alter-stride",
        "alter-channels",
        "alter-filter-size",
        "insert-one-to-one",
        "remove-one-to-one",
        "add-skip",
        "remove-skip",
    }


def test_layer_ids_survive_insertions_so_weights_keep_their_names() -> None:
    space = LargeScaleEvolutionSpace()
    parent = space.parse('{"layers":[[1,"conv",3,8,1],[2,"conv",3,8,2]],"lr":0.1,"skips":[]}')
    child = space.make({**dict(parent), "layers": [[3, "one"], *parent["layers"]]})
    names = {n for n, _ in space.build(parent, TASK).named_parameters()}
    child_names = {n for n, _ in space.build(child, TASK).named_parameters()}
    assert names <= child_names and "layers.l1.0.weight" in names


@pytest.mark.parametrize("seed", range(3))
def test_every_mutation_builds_a_network_that_trains(seed: int) -> None:
    space = LargeScaleEvolutionSpace(max_layers=5, channels=4, max_channels=16)
    for arch in grown(space, 12, seed):
        torch.manual_seed(0)
        model = space.build(arch, TASK)
        x, y = torch.randn(8, *TASK.input_shape), torch.randint(0, 3, (8,))
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        assert math.isfinite(loss.item()), arch.key
    assert len(set(grown(space, 12, seed))) > 5


def test_bad_genomes_and_options_are_refused_in_one_line() -> None:
    space = LargeScaleEvolutionSpace()
    with pytest.raises(SpaceError, match="skip"):
        space.make({"layers": [[1, "conv", 3, 8, 1]], "lr": 0.1, "skips": [[0, 1]]})
    with pytest.raises(SpaceError, match="kernel"):
        space.make({"layers": [[1, "conv", 4, 8, 1]], "lr": 0.1, "skips": []})
    with pytest.raises(SpaceError, match="appears twice"):
        space.make({"layers": [[1, "one"], [1, "one"]], "lr": 0.1, "skips": []})
    with pytest.raises(SpaceError, match="not a genome"):
        space.parse("layers=3")
    with pytest.raises(ConfigError, match="start='tiny'; allowed"):
        create_space("large-scale-evolution", start="tiny")
    with pytest.raises(SpaceError, match="cannot be enumerated"):
        next(space.enumerate())
    assert space.size() == math.inf


def test_strategies_that_read_dimensions_refuse_the_space() -> None:
    space = LargeScaleEvolutionSpace()
    with pytest.raises(ConfigError, match="variable-size genomes"):
        create_strategy("optuna:tpe", space, seed=0)
    create_strategy("large-scale-evolution", space, seed=0).ask()


def test_the_grown_graph_and_its_properties() -> None:
    space = LargeScaleEvolutionSpace()
    arch = space.parse(
        '{"layers":[[1,"conv",3,8,1],[2,"one"],[3,"conv",5,8,2]],"lr":0.1,"skips":[[0,2],[1,3]]}'
    )
    (cell,) = space.cells(arch)
    assert cell.n_nodes == 4 and len(cell.edges) == 5
    props = graph_properties(space.cells(arch))
    assert props["depth"] == 3 and props["skip_edges"] == 2 and props["max_fan_in"] == 2


def test_training_dimensions_are_refused() -> None:
    with pytest.raises(ConfigError, match="training=True; a space of variable-size genomes"):
        create_space("large-scale-evolution", training=True)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), steps=st.integers(0, 15))
def test_any_grown_genome_trains_on_the_cpu(seed: int, steps: int) -> None:
    space = SPACE_FOR_PROPERTIES
    rng = np.random.default_rng(seed)
    arch = space.sample(rng)
    for _ in range(steps):
        arch = space.mutate(arch, rng)
    check_trains_one_step(space, arch, TASK, batch=4)
