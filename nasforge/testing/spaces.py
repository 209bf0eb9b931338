"""Conformance suite for search spaces: what strategies, the training evaluator, retrain and
export rely on every space to do.

Two ways to use it. Subclass :class:`SpaceConformance` in a test module and give it a ``space``
fixture (parametrise it over ``list_spaces()`` so registering a space is what gets it
tested)::

    import pytest
    from nasforge.spaces import create_space, list_spaces
    from nasforge.testing.spaces import SpaceConformance

    class TestRegistered(SpaceConformance):
        @pytest.fixture(params=list_spaces())
        def space(self, request: pytest.FixtureRequest) -> Space:
            return create_space(request.param)

or call the ``check_*`` functions directly with a space. Checks that do not apply to a space
(building, for a space that is not a :class:`~nasforge.space.ModelSpace`; enumerating, for a
large or infinite one) return without checking anything.
"""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from typing import Any

import numpy as np
import pytest

from nasforge.errors import NasforgeError, SpaceError
from nasforge.space import (
    Arch,
    Categorical,
    CellEdge,
    CellGraph,
    Float,
    Int,
    ModelSpace,
    Space,
    Task,
    TrainingSpace,
)
from nasforge.space.genome import GenomeSpace
from nasforge.testing.strategies import cell_space

#: spaces up to this size are enumerated in full by :func:`check_size_matches_enumerate`
SMALL_SPACE = 5000
#: the tasks a model space is built for: a 1-D signal and (where supported) a 2-D image
TASKS = (Task(input_shape=(1, 16), num_classes=3), Task(input_shape=(2, 8, 8), num_classes=3))


class LadderSpace(Space):
    """A cell space that is not a :class:`CellSpace`: a 3-node cell whose edges ``0->1``,
    ``1->2`` and ``0->2`` are decided by dimensions named ``a``, ``b`` and ``c`` (``c`` with
    fewer choices), and a learning rate that decides no edge. Decisions: node 1, node 2, then
    the learning rate."""

    OPS = ("zero", "conv", "pool")

    def __init__(self) -> None:
        super().__init__(
            [
                Categorical("a", self.OPS),
                Categorical("b", self.OPS),
                Categorical("c", ("conv", "zero")),
                Float("lr", 0.01, 1.0, log=True),
            ],
            name="ladder",
        )

    def cell_templates(self) -> tuple[CellGraph, ...]:
        edges = (
            CellEdge(0, 1, None, dim="a", choices=self.OPS),
            CellEdge(1, 2, None, dim="b", choices=self.OPS),
            CellEdge(0, 2, None, dim="c", choices=("conv", "zero")),
        )
        return (CellGraph("ladder", 3, inputs=(0,), outputs=(2,), edges=edges),)

    def decision_groups(self) -> list[list[str]]:
        return [["a"], ["b", "c"], ["lr"]]


def mixed_space() -> Space:
    """Categorical, Int, log-scale Float and a Float active only with ``optimizer='sgd'``."""
    return Space(
        [
            Categorical("optimizer", ["sgd", "adam"]),
            Float("lr", 1e-4, 1e-1, log=True),
            Int("layers", 1, 4),
            Float("momentum", 0.0, 0.99, when={"optimizer": ["sgd"]}),
            Categorical("width", [8, 16], when={"optimizer": ["adam"]}),
        ],
        name="conformance-mixed",
    )


def sample_archs(space: Space, n: int = 20, seed: int = 0) -> list[Arch]:
    """``n`` archs sampled from ``space`` with a generator seeded by ``seed``."""
    rng = np.random.default_rng(seed)
    return [space.sample(rng) for _ in range(n)]


def assert_member(space: Space, arch: object, where: str) -> None:
    """``arch`` is an :class:`Arch` of ``space`` in canonical form (``where`` names the move)."""
    assert isinstance(arch, Arch), f"{where} returned {type(arch).__name__}, not an Arch"
    checked = space.validate(arch)
    assert checked == arch and checked.key == arch.key and dict(checked) == dict(arch), where


# ---- checks --------------------------------------------------------------------------------


def check_moves_give_valid_archs(space: Space) -> None:
    """sample, mutate, crossover and neighbors all return valid archs of the space."""
    rng = np.random.default_rng(1)
    archs = sample_archs(space)
    for arch in archs:
        assert_member(space, arch, "sample")
        assert_member(space, space.mutate(arch, rng), "mutate")
    for a, b in itertools.pairwise(archs):
        assert_member(space, space.crossover(a, b, rng), "crossover")
    for arch in archs[:3]:
        for neighbor in space.neighbors(arch):
            assert_member(space, neighbor, "neighbors")
            assert neighbor != arch, "neighbors must differ from the arch"


def check_parse_round_trip(space: Space) -> None:
    """``space.parse(arch.key) == arch``, with the same values, for sampled archs."""
    for arch in sample_archs(space, seed=2):
        parsed = space.parse(arch.key)
        assert parsed == arch and parsed.key == arch.key and dict(parsed) == dict(arch)
        assert Arch.from_json(arch.to_json()) == arch


def check_encoding_length(space: Space) -> None:
    """``space.encode`` gives finite vectors of ``space.encoding_size``."""
    for arch in sample_archs(space, seed=3):
        vector = space.encode(arch)
        assert vector.shape == (space.encoding_size,), arch.key
        assert np.isfinite(vector).all(), arch.key


def check_size_matches_enumerate(space: Space, limit: int = SMALL_SPACE) -> None:
    """On a space of at most ``limit`` archs, ``size()`` is the number of distinct archs
    ``enumerate()`` gives, each valid; an infinite space refuses to enumerate."""
    size = space.size()
    if math.isinf(size):
        with pytest.raises(SpaceError):
            next(iter(space.enumerate()))
        return
    if size > limit:
        return
    keys = []
    for arch in space.enumerate():
        assert_member(space, arch, "enumerate")
        keys.append(arch.key)
    assert len(keys) == len(set(keys)) == size, (len(keys), len(set(keys)), size)


def check_decision_groups(space: Space) -> None:
    """The decision groups are non-empty and hold every dimension exactly once."""
    groups = space.decision_groups()
    assert all(groups) and all(isinstance(g, list) for g in groups), groups
    flat = [name for group in groups for name in group]
    assert sorted(flat) == sorted(space.names) and len(flat) == len(set(flat)), groups


def check_crossover_groups(space: Space) -> None:
    """The crossover groups are non-empty and hold every dimension exactly once, and a child
    of two archs takes each group whole from one parent."""
    groups = space.crossover_groups()
    assert all(groups) and all(isinstance(g, list) for g in groups), groups
    flat = [name for group in groups for name in group]
    assert sorted(flat) == sorted(space.names) and len(flat) == len(set(flat)), groups
    if space._has_rules():  # a child that breaks a rule is drawn again, or is a parent
        return
    if getattr(space, "variable_size", False):  # a genome's crossover splices within it
        return
    rng = np.random.default_rng(7)
    for a, b in itertools.pairwise(sample_archs(space, n=6, seed=7)):
        child = space.crossover(a, b, rng)
        for group in groups:
            assert any(all(child[n] == p[n] for n in group if p[n] is not None) for p in (a, b))


def check_cells_match_templates(space: Space) -> None:
    """Templates name real categorical dimensions with their choices, and each arch's cells
    are the templates realised with its values.

    A space without templates may still state the cells of each arch itself, when no edge is
    decided by one dimension alone (Genetic CNN's default connections follow from a whole
    stage's bits): its cells are checked to be distinct by name, with every edge holding an
    operation."""
    templates = space.cell_templates()
    assert len({t.name for t in templates}) == len(templates), "cell names must differ"
    if isinstance(space, GenomeSpace):  # grown graphs: no templates, every edge decided
        assert templates == (), "a genome space's cells are grown, not templates"
        for arch in sample_archs(space, seed=4):
            cells = space.cells(arch)
            assert cells and len({c.name for c in cells}) == len(cells), arch.key
            for cell in cells:
                assert all(e.op is not None and e.dim is None for e in cell.edges), arch.key
                cell.paths()
        return
    for template in templates:
        for edge in template.edges:
            if edge.dim is None:
                assert edge.op is not None, f"{template.name}: fixed edge {edge.label} has no op"
                continue
            assert edge.op is None, f"{template.name}: edge {edge.label} is decided by {edge.dim}"
            dim = space.dim(edge.dim)
            assert tuple(map(str, dim.values())) == edge.choices, (edge, dim)
        template.paths()  # the structure can be walked
    for arch in sample_archs(space, seed=4):
        cells = space.cells(arch)
        if templates:
            assert cells == tuple(t.realise(arch) for t in templates), arch.key
        else:
            assert len({c.name for c in cells}) == len(cells), "cell names must differ"
            assert all(isinstance(c, CellGraph) for c in cells), arch.key
        for cell in cells:
            for edge in cell.edges:
                assert edge.op is not None and (not edge.choices or edge.op in edge.choices)


def _model_tasks(space: ModelSpace, arch: Arch) -> Iterator[Task]:
    """The tasks of :data:`TASKS` the space builds for (at least one)."""
    built = 0
    for task in TASKS:
        try:
            space.build(arch, task)
        except NasforgeError:
            continue
        built += 1
        yield task
    assert built, f"space {space.name!r} builds for none of {[t.input_shape for t in TASKS]}"


def check_builds_at_every_size(space: Space) -> None:
    """A model space builds sampled archs at its own sizes and with each size option halved
    (at least 1); a forward pass gives ``(batch, num_classes)`` and a backward pass reaches
    the parameters."""
    if not isinstance(space, ModelSpace):
        return
    import torch

    variants: list[dict[str, Any]] = [{}]
    for key, value in space.size_options.items():
        variants.append({key: max(1, value // 2)})
    for arch in sample_archs(space, n=2, seed=5):
        for task in _model_tasks(space, arch):
            for sizes in variants:
                torch.manual_seed(0)
                model = space.build(arch, task, **sizes)
                out = model(torch.randn(2, *task.input_shape))
                assert out.shape == (2, task.num_classes), (arch.key, sizes, task)
                out.sum().backward()
                params = [p for p in model.parameters() if p.requires_grad]
                assert not params or any(p.grad is not None for p in params), (arch.key, sizes)


def registered_name(space: Space) -> str | None:
    """The name ``space``'s class is registered under in :data:`nasforge.spaces.SPACES` (for
    a space with training dimensions, its inner space's)."""
    from nasforge.spaces import SPACES

    inner = space.inner if isinstance(space, TrainingSpace) else space
    for name in SPACES.names():
        if type(inner) is SPACES.get(name):
            return name
    return None


def check_options_round_trip(space: Space) -> None:
    """A registered space reads back its options (``SPACES.options_of``), and
    ``create_space(name, **options)`` gives the same dimensions, size, keys and cells: what
    ``nasforge retrain`` and ``export`` rebuild a space with."""
    from nasforge.spaces import SPACES, create_space

    name = registered_name(space)
    if name is None:
        return
    found = SPACES.options_of(space)
    assert found is not None, f"space {name!r} does not keep its options as attributes"
    assert found[0] == name
    again = create_space(name, **found[1])
    assert [repr(d) for d in again.dims] == [repr(d) for d in space.dims]
    assert again.size() == space.size()
    assert getattr(again, "size_options", {}) == getattr(space, "size_options", {})
    for arch in sample_archs(space, n=5, seed=6):
        assert again.parse(arch.key) == arch and again.cells(arch) == space.cells(arch)


class SpaceConformance:
    """Pytest tests every space must pass; subclass it and provide the ``space`` fixture."""

    @pytest.fixture
    def space(self) -> Space:
        raise NotImplementedError("subclasses of SpaceConformance define the space fixture")

    def test_moves_give_valid_archs(self, space: Space) -> None:
        check_moves_give_valid_archs(space)

    def test_parse_round_trip(self, space: Space) -> None:
        check_parse_round_trip(space)

    def test_encoding_length(self, space: Space) -> None:
        check_encoding_length(space)

    def test_size_matches_enumerate(self, space: Space) -> None:
        check_size_matches_enumerate(space)

    def test_decision_groups(self, space: Space) -> None:
        check_decision_groups(space)

    def test_crossover_groups(self, space: Space) -> None:
        check_crossover_groups(space)

    def test_cells_match_templates(self, space: Space) -> None:
        check_cells_match_templates(space)

    def test_builds_at_every_size(self, space: Space) -> None:
        check_builds_at_every_size(space)

    def test_options_round_trip(self, space: Space) -> None:
        check_options_round_trip(space)


def check_trains_one_step(space: Space, arch: Arch, task: Task, batch: int = 8) -> None:
    """The network of ``arch`` trains one SGD step on random inputs: a finite loss, and some
    weight moves (the property test of a genotype's mutations: every child is a network that
    learns, not only one that runs forward)."""
    import torch

    torch.manual_seed(0)
    model = space.build(arch, task)
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    x = torch.randn(batch, *task.input_shape)
    y = torch.randint(0, task.num_classes, (batch,))
    before = [p.detach().clone() for p in model.parameters()]
    loss = torch.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    optimizer.step()
    assert torch.isfinite(loss), arch.key
    moved = (not torch.equal(p, q) for p, q in zip(model.parameters(), before, strict=True))
    assert any(moved), arch.key


def check_searched_by(space: Space, strategy: str, trials: int = 30) -> None:
    """The registered ``strategy`` searches ``space`` through the space's own moves: every ask
    is a valid arch whose key parses back, and ``trials`` asks are all different."""
    from nasforge.strategies import create_strategy
    from nasforge.testing.strategies import complete

    search = create_strategy(strategy, space, seed=0)
    asked = []
    for number in range(trials):
        arch = search.ask()
        assert space.validate(arch) == arch and space.parse(arch.key) == arch, arch.key
        asked.append(arch)
        search.tell(complete(number, arch, float(space.encode(arch).sum())))
    assert len(set(asked)) == trials, strategy


__all__ = [
    "SMALL_SPACE",
    "TASKS",
    "LadderSpace",
    "SpaceConformance",
    "assert_member",
    "cell_space",
    "check_builds_at_every_size",
    "check_cells_match_templates",
    "check_crossover_groups",
    "check_decision_groups",
    "check_encoding_length",
    "check_moves_give_valid_archs",
    "check_options_round_trip",
    "check_parse_round_trip",
    "check_searched_by",
    "check_size_matches_enumerate",
    "check_trains_one_step",
    "mixed_space",
    "registered_name",
    "sample_archs",
]
