"""PNAS: levels grow node by node (or dimension by dimension), the beam keeps its size."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.errors import ConfigError
from nasforge.space import Arch, Categorical, Int, Space
from nasforge.strategies import create_strategy
from nasforge.strategies.pnas import ProgressiveSearch
from nasforge.testing.spaces import LadderSpace
from nasforge.testing.strategies import NB201_OPS, conv_count
from nasforge.testing.strategies import complete as done
from nasforge.testing.strategies import nb201_space as nb201


def node_of(name: str) -> int:
    return int(name.split("_")[1])


def run(strategy: ProgressiveSearch, asks: int) -> list[tuple[int, Arch]]:
    """``(level when asked, arch)`` for ``asks`` sequential asks scored by ``conv_count``."""
    log = []
    for number in range(asks):
        arch = strategy.ask()
        log.append((strategy.level_, arch))
        strategy.tell(done(number, arch, conv_count(arch) + 0.01 * number))
    return log


def test_registered() -> None:
    strategy = create_strategy("pnas", nb201(), seed=0)
    assert isinstance(strategy, ProgressiveSearch)
    assert strategy.levels_[1] == ["edge_2_0", "edge_2_1"]


def test_cell_levels_decide_one_node_at_a_time() -> None:
    space = nb201()
    log = run(ProgressiveSearch(space, seed=0, beam_size=4, fill="skip_connect"), 13)
    # level 0: the five operations of node 1, every later edge a skip connection
    assert [level for level, _ in log[:5]] == [0] * 5
    assert sorted(a["edge_1_0"] for _, a in log[:5]) == sorted(NB201_OPS)
    for level, arch in log:
        assert level <= 2
        undecided = [e for e in space.edge_names if node_of(e) > level + 1]
        assert all(arch[e] == "skip_connect" for e in undecided), (level, arch)
    assert [level for level, _ in log[5:]] == [1] * 4 + [2] * 4


def test_beam_size_is_respected_and_expansions_extend_the_beam() -> None:
    space = nb201()
    strategy = ProgressiveSearch(space, seed=1, beam_size=3, fill="skip_connect")
    log = run(strategy, 5 + 3 + 3 + 6)
    by_level: dict[int, list[Arch]] = {}
    for level, arch in log:
        by_level.setdefault(level, []).append(arch)
    assert [len(by_level[lv]) for lv in (0, 1, 2)] == [5, 3, 3]
    for level in (1, 2):
        previous = sorted(by_level[level - 1], key=conv_count, reverse=True)[:3]
        kept = {tuple(a[e] for e in strategy.levels_[level - 1]) for a in previous}
        for arch in by_level[level]:
            assert tuple(arch[e] for e in strategy.levels_[level - 1]) in kept
    # after the last level: rounds of beam_size neighbours of the best archs
    assert all(level >= 3 for level in list(by_level)[3:])


def test_surrogate_picks_better_expansions_than_chance() -> None:
    space = nb201()
    strategy = ProgressiveSearch(space, seed=0, beam_size=8, fill="skip_connect")
    log = run(strategy, 5 + 8 + 8)
    level2 = [a for level, a in log if level == 2]
    rng = np.random.default_rng(0)
    chance = np.mean([conv_count(space.sample(rng)) for _ in range(2000)])
    assert np.mean([conv_count(a) for a in level2]) > chance + 1.5


def test_generic_space_grows_dimension_by_dimension() -> None:
    space = Space([Categorical("a", ["x", "y", "z"]), Int("b", 1, 4), Categorical("c", [0, 1])])
    strategy = ProgressiveSearch(space, seed=0, beam_size=2)
    log = []
    for number in range(3 + 2 + 2):
        arch = strategy.ask()
        log.append((strategy.level_, arch))
        strategy.tell(done(number, arch, float(arch["b"]) + (arch["a"] == "y")))
    assert [a["a"] for _, a in log[:3]] == ["x", "y", "z"]
    assert all(a["b"] == space.dim("b").default and a["c"] == 0 for _, a in log[:3])
    assert all(a["a"] == "y" or level == 0 for level, a in log[:5])  # beam of the best two
    assert all(level == 1 for level, _ in log[3:5])


def test_parallel_asks_do_not_repeat_while_a_level_is_pending() -> None:
    strategy = ProgressiveSearch(nb201(), seed=0, beam_size=4, fill="skip_connect")
    archs = [strategy.ask() for _ in range(12)]
    assert len(set(archs)) == 12
    assert strategy.level_ == 0  # the level closes only when its archs are told


def test_bad_fill_is_named() -> None:
    with pytest.raises(ConfigError, match=r"'pnas'.*fill.*'auto'.*nor_conv_3x3"):
        ProgressiveSearch(nb201(), fill="conv")
    with pytest.raises(ConfigError, match=r"'pnas'.*fill.*cell spaces only"):
        ProgressiveSearch(Space([Categorical("a", [1, 2])]), fill="skip_connect")


def test_auto_fill_probes_uniform_cells_and_takes_the_middle_one() -> None:
    space = nb201()
    value = {"none": 0.0, "avg_pool_3x3": 1.0, "skip_connect": 2.0, "nor_conv_1x1": 3.0}
    value["nor_conv_3x3"] = 4.0
    strategy = ProgressiveSearch(space, seed=0, beam_size=4, fill="auto")
    first = []
    for number in range(5):
        arch = strategy.ask()
        first.append(arch)
        strategy.tell(done(number, arch, sum(value[arch[e]] for e in space.edge_names)))
    assert sorted({arch[e] for e in space.edge_names} for arch in first) == sorted(
        {op} for op in NB201_OPS
    )
    assert strategy.fill_ is None
    nxt = strategy.ask()
    assert strategy.fill_ == "skip_connect" and strategy.level_ == 0
    assert all(nxt[e] == "skip_connect" for e in space.edge_names if node_of(e) > 1)


def test_auto_fill_reads_scores_not_names() -> None:
    """Renaming the operations renames the filler it picks."""
    space = nb201()
    rename = dict(zip(NB201_OPS, NB201_OPS[1:] + NB201_OPS[:1], strict=True))
    value = dict(zip(NB201_OPS, [3.0, 0.0, 4.0, 1.0, 2.0], strict=True))
    picked = []
    for names in (dict(zip(NB201_OPS, NB201_OPS, strict=True)), rename):
        inverse = {new: old for old, new in names.items()}
        strategy = ProgressiveSearch(space, seed=0, fill="auto")
        for number in range(5):
            arch = strategy.ask()
            score = sum(value[inverse[arch[e]]] for e in space.edge_names)
            strategy.tell(done(number, arch, score))
        strategy.ask()
        picked.append(strategy.fill_)
    assert picked[1] == rename[picked[0]]


def test_defaults_read_scores_and_tell_edges_apart() -> None:
    """No name prior by default, and the surrogate's features separate what paths conflate."""
    space = nb201()
    strategy = ProgressiveSearch(space, seed=0)
    assert strategy.fill == "auto" and strategy.encoding_ == "path+onehot"
    assert ProgressiveSearch(space, fill=None).fill == "auto"
    # node 1 -> 3 and node 2 -> 3 make the same two-edge path (conv, skip) here
    base = dict.fromkeys(space.edge_names, "none")
    a = space.make({**base, "edge_1_0": "nor_conv_3x3", "edge_3_1": "skip_connect"})
    b = space.make({**base, "edge_2_0": "nor_conv_3x3", "edge_3_2": "skip_connect"})
    paths_only = ProgressiveSearch(space, seed=0, encoding="path")
    assert np.array_equal(paths_only.encode_(a), paths_only.encode_(b))
    assert not np.array_equal(strategy.encode_(a), strategy.encode_(b))


def test_levels_and_filler_come_from_the_space_s_structure() -> None:
    """A cell space that is not a CellSpace: levels are its decision groups, the filler and the
    uniform cells come from its templates (an edge that cannot hold the filler keeps its
    default)."""
    space = LadderSpace()
    strategy = ProgressiveSearch(space, seed=0, beam_size=2, epochs=20)
    assert strategy.levels_ == [["a"], ["b", "c"], ["lr"]] and strategy.encoding_ == "path+onehot"
    value = {"zero": 0.0, "pool": 1.0, "conv": 2.0}
    probe = []
    for number in range(3):
        arch = strategy.ask()
        probe.append((arch["a"], arch["b"], arch["c"]))
        strategy.tell(done(number, arch, value[arch["a"]] + value[arch["b"]]))
    assert sorted(probe) == [("conv", "conv", "conv"), ("pool", "pool", "conv"), ("zero",) * 3]
    nxt = strategy.ask()
    assert strategy.fill_ == "pool" and strategy.level_ == 0
    assert (nxt["b"], nxt["c"]) == ("pool", "conv")  # c cannot hold pool: its default
    with pytest.raises(ConfigError, match=r"fill must be 'auto' or one of .*\(zero, conv, pool\)"):
        ProgressiveSearch(space, fill="skip")


def test_path_encodings_need_a_space_with_cells() -> None:
    plain = Space([Categorical("a", [1, 2]), Int("b", 1, 4)], name="plain")
    with pytest.raises(ConfigError, match="'pnas': encoding='path' needs a space with cells"):
        ProgressiveSearch(plain, encoding="path")
    assert ProgressiveSearch(plain).encoding_ == "onehot"


def test_bad_encoding_is_named() -> None:
    with pytest.raises(ConfigError, match=r"'pnas'.*encoding.*path\+onehot.*'adjacency'"):
        ProgressiveSearch(nb201(), encoding="adjacency")
