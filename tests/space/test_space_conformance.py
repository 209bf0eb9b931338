"""Every registered space, and the kinds of space a user builds, pass the conformance suite of
``nasforge.testing.spaces``. A newly registered space is tested with no change here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace

import pytest

from nasforge.space import Arch, Categorical, CellGraph, CellSpace, Int, Space, with_training
from nasforge.spaces import create_space, list_spaces
from nasforge.testing.spaces import (
    LadderSpace,
    SpaceConformance,
    cell_space,
    check_builds_at_every_size,
    check_cells_match_templates,
    check_decision_groups,
    check_options_round_trip,
    check_size_matches_enumerate,
    mixed_space,
    registered_name,
)

#: spaces that are not registered, by a name for the test id
OTHER_SPACES: dict[str, Callable[[], Space]] = {
    "cell": cell_space,
    "cell-with-extras": lambda: CellSpace(
        3, ["none", "conv"], extra=[Int("depth", 1, 3), Categorical("act", ["relu", "gelu"])]
    ),
    "mixed-conditional": mixed_space,
    "ladder-cell": LadderSpace,
    "nb201-hyperparameters": lambda: create_space(
        "nb201", n_cells=1, channels=4, hyperparameters=["lr", "weight_decay", "width"]
    ),
    "nb201-training": lambda: create_space("nb201", n_cells=1, channels=4, training=True),
    "nb201-width-training-finite": lambda: create_space(
        "nb201",
        n_cells=1,
        channels=4,
        ops=["none", "skip_connect"],
        hyperparameters=["width"],
        training={
            "optimizer": ["sgd", "nesterov"],
            "momentum": [0.9],
            "lr": [0.01, 0.1],
            "schedule": None,
            "weight_decay": None,
            "batch_size": 64,
            "dropout": None,
            "init": ["default", "kaiming"],
        },
    ),
    "cell-training": lambda: with_training(cell_space(), optimizer="adam"),
    "ladder-training": lambda: with_training(LadderSpace(), lr=None),
    "mixed-training": lambda: with_training(mixed_space(), {"lr": None, "dropout": [0.0, 0.2]}),
}


class TestRegisteredSpaces(SpaceConformance):
    @pytest.fixture(params=list_spaces())
    def space(self, request: pytest.FixtureRequest) -> Space:
        return create_space(request.param)


class TestOtherSpaces(SpaceConformance):
    @pytest.fixture(params=sorted(OTHER_SPACES))
    def space(self, request: pytest.FixtureRequest) -> Space:
        return OTHER_SPACES[request.param]()


# ---- the checks catch what they are for ------------------------------------------------------


class MiscountedCell(CellSpace):
    """Claims one arch more than it has, groups decisions badly and realises cells wrongly."""

    def size(self) -> float:
        return super().size() + 1

    def decision_groups(self) -> list[list[str]]:
        return super().decision_groups()[1:]

    def cells(self, arch: Arch) -> tuple[CellGraph, ...]:
        (cell,) = super().cells(arch)
        return (replace(cell, outputs=(1,)),)


@pytest.mark.parametrize(
    "check",
    [check_size_matches_enumerate, check_decision_groups, check_cells_match_templates],
)
def test_checks_fail_a_broken_space(check: Callable[[Space], None]) -> None:
    check(cell_space())  # the sound space passes
    with pytest.raises(AssertionError):
        check(MiscountedCell(3, ["none", "conv"]))


def test_an_unregistered_or_choices_only_space_skips_build_and_options() -> None:
    assert registered_name(cell_space()) is None
    assert registered_name(create_space("nb201", n_cells=1)) == "nb201"
    check_builds_at_every_size(cell_space())  # not a ModelSpace: nothing to build
    check_options_round_trip(cell_space())
