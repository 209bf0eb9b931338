"""The ``hierarchical`` space: Liu et al.'s motifs of motifs, its one mutation, the flat variant."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasforge.errors import ConfigError, SpaceError
from nasforge.space import Arch, Space, Task
from nasforge.spaces import create_space
from nasforge.spaces.hierarchical import PRIMITIVES, HierarchicalSpace, edge_name
from nasforge.testing.spaces import SpaceConformance, check_searched_by, check_trains_one_step

SIGNAL = Task(input_shape=(1, 40), num_classes=10)


class TestConformance(SpaceConformance):
    @pytest.fixture(
        params=[
            {},
            {"flat": True, "nodes": [5]},
            {"levels": 4, "motifs": [3, 2, 1], "nodes": [3, 3, 3]},
        ]
    )
    def space(self, request: pytest.FixtureRequest) -> Space:
        return create_space("hierarchical", channels=4, **request.param)


def test_the_papers_setting_is_the_default() -> None:
    space = HierarchicalSpace()
    assert (space.levels, space.motifs, space.nodes) == (3, [6, 1], [4, 5])
    assert space.choices(2) == ("none", *PRIMITIVES)
    assert space.choices(3) == ("none", "l2m0", "l2m1", "l2m2", "l2m3", "l2m4", "l2m5")
    assert len(space.dims) == 6 * 6 + 10 and space.encoding_size == 36 * 7 + 10 * 7
    flat = HierarchicalSpace(flat=True)
    assert (flat.levels, flat.motifs, flat.nodes) == (2, [1], [11]) and len(flat.dims) == 55


def test_trivial_genotype_is_chains_of_identities_and_builds_an_identity_cell() -> None:
    space = HierarchicalSpace(channels=4)
    trivial = space.trivial()
    cells = space.cells(trivial)
    assert [c.name for c in cells][-1] == "cell (l3m0)"
    for cell in cells:
        live = [(e.src, e.dst, e.op) for e in cell.edges if e.op != "none"]
        op = "identity" if cell.name.startswith("level 2") else "l2m0"
        assert live == [(i, i + 1, op) for i in range(cell.n_nodes - 1)]
    cell = space.build(trivial, SIGNAL).features[1]  # the first cell
    # four chained identity motifs, each followed by its 1x1 projection: no other convolution
    kernels = [m.kernel_size for m in cell.modules() if isinstance(m, torch.nn.Conv1d)]
    assert kernels == [(1,)] * 4
    flat = HierarchicalSpace(flat=True, channels=4)
    flat_cell = flat.build(flat.trivial(), SIGNAL).features[1]
    x = torch.randn(2, 4, 40)
    assert torch.equal(flat_cell(x), x)  # a chain of identities all the way through


def test_mutation_changes_one_edge_of_one_motif_to_another_op() -> None:
    space = HierarchicalSpace()
    rng = np.random.default_rng(0)
    arch = space.trivial()
    levels: Counter[int] = Counter()
    for _ in range(400):
        child = space.mutate(arch, rng)
        changed = [name for name in space.names if child[name] != arch[name]]
        assert len(changed) == 1
        name = changed[0]
        level = int(name[1])
        assert child[name] in space.choices(level)
        levels[level] += 1
        arch = child
    # a level first, uniformly: half the mutations at each of the two non-primitive levels
    assert abs(levels[2] - levels[3]) < 60


def test_keys_parse_back_and_bad_keys_name_the_motif() -> None:
    space = HierarchicalSpace(flat=True, nodes=[3])
    arch = space.parse("l2m0=conv_1x1,none,max_pool_3x3")
    assert (
        arch[edge_name(2, 0, 0, 1)] == "conv_1x1" and arch[edge_name(2, 0, 1, 2)] == "max_pool_3x3"
    )
    assert arch.key == "l2m0=conv_1x1,none,max_pool_3x3" and Arch.from_json(arch.to_json()) == arch
    with pytest.raises(SpaceError, match="motif 'l2m0=conv_1x1,none'; allowed: 'l2m0=' then 3 ops"):
        space.parse("l2m0=conv_1x1,none")
    with pytest.raises(SpaceError, match="has 2 motifs; allowed: 1"):
        space.parse("l2m0=none,none,none;l3m0=none")
    with pytest.raises(SpaceError, match="conv_5x5"):
        space.parse("l2m0=conv_5x5,none,none")


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"flat": True, "levels": 3}, "levels=3 with flat=true; allowed: 2"),
        ({"levels": 7}, "levels=7; allowed: an integer in [2, 5]"),
        ({"motifs": [6, 2]}, "allowed: exactly 1 motif at the top level"),
        ({"motifs": [6]}, "motifs=[6]; allowed: a list of 2 integers"),
        ({"nodes": [4, 1]}, "nodes=[4, 1]; allowed: integers in [2, 12]"),
        ({"n_cells": 0}, "hierarchical n_cells=0; allowed: an integer >= 1"),
        ({"flat": "yes"}, "hierarchical flat='yes'; allowed: true or false"),
    ],
)
def test_bad_options_are_one_line_config_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_space("hierarchical", **options)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_networks_build_in_1d_and_2d_at_every_size() -> None:
    space = HierarchicalSpace(channels=4)
    arch = space.sample(np.random.default_rng(3))
    image = space.build(arch, Task((3, 8, 8), 5), n_cells=2)
    assert image(torch.zeros(2, 3, 8, 8)).shape == (2, 5)
    assert space.build(arch, SIGNAL, channels=2)(torch.zeros(2, 1, 40)).shape == (2, 10)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1), flat=st.booleans())
def test_every_mutation_builds_a_network_that_trains(seed: int, flat: bool) -> None:
    space = HierarchicalSpace(flat=flat, nodes=[6] if flat else None, channels=4)
    rng = np.random.default_rng(seed)
    start = space.sample(rng) if seed % 2 else space.trivial()
    child = space.mutate(start, rng)
    check_trains_one_step(space, child, SIGNAL)


@pytest.mark.parametrize(
    "strategy",
    [
        "random",
        "regularized-evolution",
        "large-scale-evolution",
        "genetic",
        "hierarchical-evolution",
    ],
)
def test_evolution_strategies_search_it_through_its_own_moves(strategy: str) -> None:
    check_searched_by(HierarchicalSpace(), strategy)
