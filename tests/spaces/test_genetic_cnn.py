"""The ``genetic-cnn`` space: Xie & Yuille's bits, default nodes, stage crossover, networks."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nasforge.errors import ConfigError, SpaceError
from nasforge.space import Arch, Space, Task
from nasforge.spaces import create_space
from nasforge.spaces.genetic_cnn import GeneticCNNSpace, bit_name
from nasforge.strategies.genetic import GeneticSearch
from nasforge.testing.spaces import SpaceConformance, check_searched_by, check_trains_one_step
from nasforge.testing.strategies import complete as done

SIGNAL = Task(input_shape=(1, 40), num_classes=10)


class TestConformance(SpaceConformance):
    @pytest.fixture(params=[None, [3, 5], [2]])
    def space(self, request: pytest.FixtureRequest) -> Space:
        return create_space("genetic-cnn", stages=request.param, channels=4)


def test_the_paper_settings_count_their_bits() -> None:
    cifar = GeneticCNNSpace()
    assert cifar.stages == [3, 4, 5] and cifar.encoding_size == 19 and cifar.size() == 2**19
    mnist = GeneticCNNSpace(stages=[3, 5])
    assert mnist.encoding_size == 13 and mnist.size() == 2**13
    # the bits of a stage run (1,2), (1,3), (2,3), (1,4), ... as in the paper
    assert [d.name for d in cifar.dims[3:9]] == [
        "s2_1_2", "s2_1_3", "s2_2_3", "s2_1_4", "s2_2_4", "s2_3_4"
    ]  # fmt: skip


def test_keys_are_the_papers_notation_and_parse_back() -> None:
    space = GeneticCNNSpace(stages=[4, 5])
    # Figure 1 of the paper: a two-stage network, codes 1-00-111 and 0-10-000-0011
    arch = space.parse("1-00-111|0-10-000-0011")
    assert arch.key == "1-00-111|0-10-000-0011"
    assert arch[bit_name(1, 1, 2)] == 1 and arch[bit_name(1, 3, 4)] == 1
    assert arch[bit_name(2, 1, 3)] == 1 and arch[bit_name(2, 2, 3)] == 0
    assert space.encode(arch).tolist()[:6] == [1.0, 0.0, 0.0, 1.0, 1.0, 1.0]
    assert Arch.from_json(arch.to_json()) == arch


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("1-00-111", "has 1 stages; allowed: 2 stage codes"),
        ("1-00-11|0-10-000-0011", "stage 1 code '1-00-11'"),
        ("1-00-112|0-10-000-0011", "stage 1 code '1-00-112'"),
    ],
)
def test_a_bad_key_names_the_stage(key: str, message: str) -> None:
    with pytest.raises(SpaceError, match="genetic-cnn key") as err:
        GeneticCNNSpace(stages=[4, 5]).parse(key)
    assert message in str(err.value) and "\n" not in str(err.value)


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"stages": [3, 1]}, "genetic-cnn stages has 1; allowed: integers in [2, 10]"),
        ({"stages": "345"}, "genetic-cnn stages='345'; allowed: a non-empty list"),
        ({"stages": []}, "genetic-cnn stages=[]"),
        ({"channels": 0}, "genetic-cnn channels=0; allowed: an integer >= 1"),
    ],
)
def test_bad_options_are_one_line_config_errors(options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError) as err:
        create_space("genetic-cnn", **options)
    assert message in str(err.value)


def test_default_nodes_follow_the_papers_rules() -> None:
    space = GeneticCNNSpace(stages=[4])
    # 1->2 and 2->3 only: node 4 is isolated and dropped; 1 has no predecessor, 3 no successor
    arch = space.parse("1-01-000")
    assert space.stage_edges(arch, 1) == [
        (1, 2, "encoded"), (2, 3, "encoded"), (0, 1, "default"), (3, 5, "default")
    ]  # fmt: skip
    # every bit 0: the stage is one convolution, input straight to output
    assert space.stage_edges(space.parse("0-00-000"), 1) == [(0, 5, "default")]
    # two heads and two tails: 1->3 and 2->4
    arch = space.parse("0-10-010")
    assert space.stage_edges(arch, 1) == [
        (1, 3, "encoded"), (2, 4, "encoded"), (0, 1, "default"), (0, 2, "default"),
        (3, 5, "default"), (4, 5, "default"),
    ]  # fmt: skip


def test_networks_compute_only_the_nodes_the_rules_keep() -> None:
    space = GeneticCNNSpace(stages=[4], channels=4)
    one_path = space.build(space.parse("1-01-000"), SIGNAL)
    convs = lambda m: sum(isinstance(x, torch.nn.Conv1d) for x in m.modules())  # noqa: E731
    assert convs(one_path) == 5  # input, nodes 1-3, output (node 4 dropped)
    assert convs(space.build(space.parse("0-00-000"), SIGNAL)) == 1
    assert convs(space.build(space.parse("1-11-111"), SIGNAL)) == 6
    image = space.build(space.parse("1-11-111"), Task((3, 8, 8), 5))
    assert image(torch.zeros(2, 3, 8, 8)).shape == (2, 5)


def test_crossover_passes_whole_stages() -> None:
    space = GeneticCNNSpace()
    ones, zeros = "1-11|1-11-111|1-11-111-1111", "0-00|0-00-000|0-00-000-0000"
    a, b = space.parse(ones), space.parse(zeros)
    rng = np.random.default_rng(0)
    children = {space.crossover(a, b, rng).key for _ in range(60)}
    for child in children:
        for code in child.split("|"):
            assert len(set(code.replace("-", ""))) == 1, child  # a stage is never split
    assert len(children) == 8  # every mix of the three stages


def test_mutation_flips_one_bit() -> None:
    space = GeneticCNNSpace()
    rng = np.random.default_rng(1)
    arch = space.sample(rng)
    for _ in range(20):
        child = space.mutate(arch, rng)
        assert np.abs(space.encode(child) - space.encode(arch)).sum() == 1.0


def test_the_genetic_strategy_swaps_whole_stages() -> None:
    space = GeneticCNNSpace()
    strategy = GeneticSearch(
        space, seed=0, population_size=20, elite=0, crossover_prob=1.0, mutation_prob=0.0,
        crossover_gene_prob=0.5,
    )  # fmt: skip
    first = [strategy.ask() for _ in range(20)]
    for number, arch in enumerate(first):
        strategy.tell(done(number, arch, float(number)))
    strategy.ask()
    stages = [{arch.key.split("|")[s] for arch in first} for s in range(3)]
    for child in strategy.members_:
        assert all(code in stages[s] for s, code in enumerate(child.key.split("|")))
    assert set(strategy.members_) - set(first)  # stages recombined into new genotypes


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(seed=st.integers(0, 2**32 - 1))
def test_every_mutation_builds_a_network_that_trains(seed: int) -> None:
    space = GeneticCNNSpace(channels=4)
    rng = np.random.default_rng(seed)
    child = space.mutate(space.sample(rng), rng)
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
    check_searched_by(GeneticCNNSpace(), strategy)
