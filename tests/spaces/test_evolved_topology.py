"""The ``evolved-topology`` space (Zhang et al. 2018): DAG stages that grow by adding nodes and
edges and lose edges, stay acyclic and connected, and always build a trainable network."""

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
from nasforge.spaces.evolved_topology import EvolvedTopologySpace
from nasforge.testing.spaces import SpaceConformance, check_trains_one_step

TASK = Task(input_shape=(1, 16), num_classes=3)
SPACE_FOR_PROPERTIES = EvolvedTopologySpace(stages=2, channels=4, max_nodes=5)


class TestConformance(SpaceConformance):
    @pytest.fixture(params=[0, 4])
    def space(self, request: pytest.FixtureRequest) -> EvolvedTopologySpace:
        return EvolvedTopologySpace(stages=2, channels=4, max_nodes=5, init_mutations=request.param)


def test_mutations_grow_and_keep_the_graph_acyclic_and_connected() -> None:
    space = EvolvedTopologySpace(stages=2, max_nodes=6)
    rng = np.random.default_rng(0)
    arch, applied = space.sample(rng), set()
    for _ in range(60):
        arch, name = space.mutate_named(arch, rng)
        applied.add(name)
        space.validate(arch)  # make() checks acyclic (forward edges) and connected
    assert {"add-node", "add-edge", "remove-edge"} <= applied
    assert graph_properties(space.cells(arch))["nodes"] > 2


def test_add_node_splits_an_edge_and_keeps_ids() -> None:
    space = EvolvedTopologySpace(stages=1)
    arch = space.parse('{"stages":[{"edges":[[0,1]],"nodes":[1]}]}')
    (child,) = space.neighbors(arch)
    assert child["stages"] == [{"edges": [[0, 2], [2, 1]], "nodes": [2, 1]}]
    parent_names = {n for n, _ in space.build(arch, TASK).named_parameters()}
    assert parent_names <= {n for n, _ in space.build(child, TASK).named_parameters()}


@pytest.mark.parametrize("seed", range(3))
def test_every_mutation_builds_a_network_that_trains(seed: int) -> None:
    space = EvolvedTopologySpace(stages=2, channels=4, max_nodes=5)
    rng = np.random.default_rng(seed)
    arch = space.sample(rng)
    for _ in range(10):
        arch = space.mutate(arch, rng)
        torch.manual_seed(0)
        model = space.build(arch, TASK, channels=2)
        x, y = torch.randn(8, *TASK.input_shape), torch.randint(0, 3, (8,))
        loss = torch.nn.functional.cross_entropy(model(x), y)
        loss.backward()
        assert math.isfinite(loss.item()), arch.key


def test_graph_properties_of_a_known_stage() -> None:
    space = EvolvedTopologySpace(stages=1)
    arch = space.parse('{"stages":[{"edges":[[0,1],[1,2],[0,2],[0,3],[2,3]],"nodes":[1,2,3]}]}')
    props = graph_properties(space.cells(arch))
    assert props == {
        "depth": 3.0,
        "nodes": 3.0,
        "edges": 5.0,
        "skip_edges": 2.0,
        "mean_fan_in": 5 / 3,
        "max_fan_in": 2.0,
    }
    assert space.encode(arch).shape == (space.encoding_size,)


def test_bad_genomes_and_options_are_refused_in_one_line() -> None:
    space = EvolvedTopologySpace(stages=1)
    with pytest.raises(SpaceError, match="on a path"):
        space.make({"stages": [{"nodes": [1, 2], "edges": [[0, 2]]}]})
    with pytest.raises(SpaceError, match="src before dst"):
        space.make({"stages": [{"nodes": [1], "edges": [[1, 0]]}]})
    with pytest.raises(SpaceError, match="1 stages"):
        space.make({"stages": []})
    with pytest.raises(ConfigError, match="init_mutations=-1; allowed"):
        create_space("evolved-topology", init_mutations=-1)


@settings(max_examples=15, deadline=None)
@given(seed=st.integers(min_value=0, max_value=2**32 - 1), steps=st.integers(0, 15))
def test_any_grown_genome_trains_on_the_cpu(seed: int, steps: int) -> None:
    space = SPACE_FOR_PROPERTIES
    rng = np.random.default_rng(seed)
    arch = space.sample(rng)
    for _ in range(steps):
        arch = space.mutate(arch, rng)
    check_trains_one_step(space, arch, TASK, batch=4)
