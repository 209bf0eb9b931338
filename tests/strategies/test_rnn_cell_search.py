"""Strategies on recurrent cells: NAS-RL's controller generating a cell node by node,
evolution with Jozefowicz et al.'s mutations, and generate-rank-evaluate."""

from __future__ import annotations

import pytest

from nasforge.space import Arch
from nasforge.spaces.rnn_cell import RnnCellSpace
from nasforge.strategies import create_strategy
from nasforge.testing.strategies import asked, complete, drive

SPACE = RnnCellSpace(nodes=6)


def gates(arch: Arch) -> float:
    """A synthetic score: sigmoid gates among the cell's nodes (more is better)."""
    return float(sum(node.act == "sigmoid" for node in SPACE.cell(arch).nodes))


@pytest.mark.parametrize(
    ("name", "options"),
    [
        ("reinforce", {}),
        ("regularized-evolution", {"population_size": 8, "sample_size": 3}),
        ("large-scale-evolution", {}),
        ("generate-rank", {"initial_random": 4, "candidates": 30}),
    ],
)
def test_strategy_searches_cells_deterministically(name: str, options: dict[str, int]) -> None:
    logs = []
    for _ in range(2):
        strategy = create_strategy(name, SPACE, seed=3, **options)
        logs.append(asked(drive(strategy, 12)))
    assert logs[0] == logs[1] and len(logs[0]) > 12
    for key in logs[0]:
        assert SPACE.parse(key).key == key


def best_of(name: str, **options: int) -> float:
    strategy = create_strategy(name, SPACE, seed=0, **options)
    best = 0.0
    for number in range(80):
        arch = strategy.ask()
        best = max(best, gates(arch))
        strategy.tell(complete(number, arch, gates(arch)))
    return best


def test_evolution_climbs_with_cell_mutations() -> None:
    evolved = best_of("regularized-evolution", population_size=10, sample_size=3)
    assert evolved >= 3 > best_of("random")  # 3 of 200 random cells hold even 2 gates


def test_reinforce_decides_node_by_node() -> None:
    groups = SPACE.decision_groups()
    assert groups[0] == ["op0", "act0", "in0_0", "in0_1", "in0_2"]
    assert groups[-1] == ["h_out", "c_out"] and len(groups) == SPACE.nodes + 1
    assert SPACE.names[:5] == groups[0]  # dimensions come node by node, as NAS-RL emits them
