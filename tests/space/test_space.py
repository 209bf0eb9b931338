"""``Space``: making, checking and parsing archs, conditions, counting and the moves."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasforge.errors import SpaceError
from nasforge.space import Arch, Categorical, Dimension, Float, Int, Space
from nasforge.testing.strategies import mixed_space


def optimizer_space() -> Space:
    """Nested and two-parent conditions; 117 archs (worked out by hand in test_size_by_hand)."""
    return Space(
        [
            Categorical("opt", ["sgd", "adam", "rmsprop"]),
            Categorical("nesterov", [False, True], when={"opt": ["sgd"]}),
            Int("momentum_k", 1, 3, when={"opt": ["sgd", "rmsprop"]}),
            Categorical("amsgrad", [False, True], when={"opt": ["adam"]}),
            Int("beta_k", 1, 4, when={"amsgrad": [True]}),
            Int("depth", 1, 3),
            Categorical("act", ["relu", "gelu"]),
            Categorical("clip", ["none", "norm"], when={"opt": ["sgd", "adam"], "act": ["gelu"]}),
        ],
        name="optim",
    )


def descendants(space: Space, name: str) -> set[str]:
    """Dimensions whose activity depends on ``name``, directly or through others."""
    out: set[str] = set()
    for dim in space.dims:
        if any(parent == name or parent in out for parent in dim.when):
            out.add(dim.name)
    return out


def changed(a: Arch, b: Arch) -> set[str]:
    return {name for name in a if a[name] != b[name]}


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


# ---- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("dims", "message"),
    [
        ([], "space 'custom' has no dimensions"),
        ([Int("a", 1, 2), Int("a", 1, 3)], "space 'custom': dimension 'a' appears twice"),
        (
            [Int("a", 1, 2, when={"b": [1]}), Int("b", 1, 2)],
            "dimension 'a' depends on 'b', which must be an earlier dimension",
        ),
        (
            [Int("a", 1, 2), Int("b", 1, 2, when={"a": [7]})],
            "dimension 'a': value 7 is not allowed",
        ),
    ],
)
def test_bad_spaces_raise(dims: list[Dimension], message: str) -> None:
    with pytest.raises(SpaceError) as err:
        Space(dims)
    assert message in str(err.value)


def test_names_dim_and_repr() -> None:
    space = optimizer_space()
    assert space.names[:3] == ["opt", "nesterov", "momentum_k"]
    assert space.dim("depth").name == "depth"
    with pytest.raises(SpaceError, match="space 'optim' has no dimension 'width'; it has 'opt', "):
        space.dim("width")
    assert repr(space) == "Space('optim', 8 dims, size=117)"
    with pytest.raises(SpaceError, match="cannot build a model"):
        space.build(space.sample(np.random.default_rng(0)), None)  # type: ignore[arg-type]


# ---- make, validate, parse ---------------------------------------------------------------------


def test_make_fills_inactive_with_none() -> None:
    arch = optimizer_space().make({"opt": "adam", "amsgrad": False, "depth": 2, "act": "relu"})
    assert arch["nesterov"] is None and arch["beta_k"] is None and arch["clip"] is None
    assert arch.key == "opt=adam,amsgrad=False,depth=2,act=relu"
    same = optimizer_space().make({**arch, "momentum_k": None})
    assert same == arch and dict(same) == dict(arch)


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"opt": "sgd", "nesterov": True, "depth": 1, "act": "relu"}, "'momentum_k' has no value"),
        (
            {"opt": "adam", "amsgrad": False, "nesterov": True, "depth": 1, "act": "relu"},
            "dimension 'nesterov' is inactive here (it needs {'opt': ('sgd',)}) but was given True",
        ),
        ({"opt": "nadam"}, "dimension 'opt': value 'nadam' is not allowed; allowed: 'sgd', 'adam'"),
        (
            {"opt": "rmsprop", "momentum_k": 4, "depth": 1, "act": "relu"},
            "dimension 'momentum_k': value 4 is not allowed; allowed: 1 <= value <= 3",
        ),
        ({"width": 3}, "space 'optim' has no dimension 'width'; it has 'opt', 'nesterov', "),
    ],
)
def test_make_errors_name_the_dimension(values: dict[str, object], message: str) -> None:
    with pytest.raises(SpaceError) as err:
        optimizer_space().make(values)
    assert message in str(err.value)


def test_validate() -> None:
    space = mixed_space()
    arch = space.sample(np.random.default_rng(3))
    assert space.validate(arch) == arch and space.validate(dict(arch)) == arch
    with pytest.raises(SpaceError, match="arch key 'wrong' does not match its values"):
        space.validate(Arch(dict(arch), key="wrong"))


def test_parse_round_trips_every_sample(rng: np.random.Generator) -> None:
    for space in (optimizer_space(), mixed_space()):
        for _ in range(300):
            arch = space.sample(rng)
            back = space.parse(arch.key)
            assert back == arch and dict(back) == dict(arch)


@pytest.mark.parametrize(
    ("key", "message"),
    [
        ("opt=sgd,depth", "cannot parse 'depth' in arch key 'opt=sgd,depth'; expected name=value"),
        ("opt=sgd,width=3", "space 'optim' has no dimension 'width'"),
        ("opt=nadam", "dimension 'opt': value 'nadam' is not allowed"),
        ("opt=sgd,nesterov=False,momentum_k=x", "'momentum_k': value 'x' is not allowed"),
        ("opt=adam,amsgrad=False,depth=1", "dimension 'act' has no value"),
    ],
)
def test_parse_errors_are_one_line(key: str, message: str) -> None:
    with pytest.raises(SpaceError) as err:
        optimizer_space().parse(key)
    assert message in str(err.value) and "\n" not in str(err.value)


def test_parse_needs_a_string() -> None:
    with pytest.raises(SpaceError, match="arch key must be a string, got int"):
        mixed_space().parse(3)  # type: ignore[arg-type]


# ---- conditions and counting -------------------------------------------------------------------


def nested_space(blocks: int) -> Space:
    """``n`` blocks of ``blocks``, each an op among three, and op ``b`` with a width of three:
    what a space written with ch.repeat and ch.op gives."""
    dims: list[Dimension] = [Int("n", 1, blocks)]
    for b in range(blocks):
        reached = list(range(b + 1, blocks + 1))
        dims.append(Categorical(f"op{b}", ["a", "b", "c"], when={"n": reached}))
        dims.append(Int(f"width{b}", 1, 3, when={"n": reached, f"op{b}": ["b"]}))
    return Space(dims)


def test_size_of_many_nested_choices_is_counted_not_enumerated() -> None:
    # n blocks, each a (1) + b (3 widths) + c (1) = 5 ways; 3**40 combinations of the ops
    assert nested_space(40).size() == sum(5**k for k in range(1, 41))


def test_size_by_hand() -> None:
    # sgd: nesterov 2 x momentum_k 3; adam: amsgrad False 1 + True x beta_k 4; rmsprop: 3;
    # times depth 3, times act (relu 1 + gelu with clip 2) for sgd/adam, times act 2 for rmsprop
    assert optimizer_space().size() == (6 + 5) * 3 * 3 + 3 * 3 * 2 == 117


@pytest.mark.parametrize(
    "space",
    [
        optimizer_space(),
        Space([Int("a", 1, 4), Categorical("b", ["x", "y", "z"])]),
        Space([Categorical("a", [0, 1]), Int("b", 1, 5, when={"a": [1]})]),
        Space(
            [
                Categorical("a", [0, 1]),
                Categorical("b", [0, 1], when={"a": [1]}),
                Categorical("c", [0, 1, 2], when={"b": [1]}),
                Int("d", 1, 2, when={"c": [2]}),
            ]
        ),
        nested_space(3),
    ],
    ids=["optim", "plain", "one-child", "chain", "nested"],
)
def test_size_equals_enumerate(space: Space) -> None:
    archs = list(space.enumerate())
    assert space.size() == len(archs) == len({a.key for a in archs})
    for arch in archs:
        assert space.validate(arch) == arch
        assert all(arch[d.name] is None for d in space.dims if not d.is_active(arch))


def test_infinite_space() -> None:
    space = mixed_space()
    assert space.size() == math.inf
    message = "space 'conformance-mixed' is infinite and cannot be enumerated"
    with pytest.raises(SpaceError, match=message):
        next(space.enumerate())
    child_of_float = Space([Float("x", 0.0, 1.0), Int("n", 1, 3, when={"x": [0.5]})])
    assert child_of_float.size() == math.inf


def test_sample_respects_conditions(rng: np.random.Generator) -> None:
    space = optimizer_space()
    archs = [space.sample(rng) for _ in range(3_000)]
    for arch in archs[:300]:
        assert space.validate(arch) == arch
    sgd = [a for a in archs if a["opt"] == "sgd"]
    assert abs(len(sgd) / len(archs) - 1 / 3) < 0.03
    assert all(a["nesterov"] is not None and a["amsgrad"] is None for a in sgd)
    assert {a["beta_k"] for a in archs if a["amsgrad"]} == {1, 2, 3, 4}


# ---- moves -------------------------------------------------------------------------------------


@pytest.mark.parametrize("make_space", [optimizer_space, mixed_space])
def test_mutate_changes_one_active_dimension(make_space: object, rng: np.random.Generator) -> None:
    space: Space = make_space()  # type: ignore[operator]
    arch = space.sample(rng)
    for _ in range(500):
        child = space.mutate(arch, rng)
        assert space.validate(child) == child and child != arch
        diff = changed(arch, child)
        moved = [n for n in diff if arch[n] is not None and child[n] is not None]
        assert len(moved) == 1, diff
        # anything else that changed was switched on or off by the moved dimension
        for name in diff - set(moved):
            assert name in descendants(space, moved[0])
            assert (arch[name] is None) != (child[name] is None)
        arch = child


def test_mutate_with_nothing_to_change(rng: np.random.Generator) -> None:
    space = Space([Categorical("only", ["x"]), Categorical("also", [1])])
    arch = space.sample(rng)
    assert space.mutate(arch, rng) == arch


@pytest.mark.parametrize("make_space", [optimizer_space, mixed_space])
def test_crossover_takes_each_value_from_a_parent(
    make_space: object, rng: np.random.Generator
) -> None:
    space: Space = make_space()  # type: ignore[operator]
    from_a = from_b = 0
    for _ in range(300):
        a, b = space.sample(rng), space.sample(rng)
        child = space.crossover(a, b, rng)
        assert space.validate(child) == child
        for name, value in child.items():
            parents = {a[name], b[name]} - {None}
            # with two parents ("opt" and "act") a child can be active in neither parent; then
            # it has no value to inherit and is sampled
            if value is not None and parents:
                assert value in parents, (name, value, a, b)
                from_a += value == a[name] != b[name]
                from_b += value == b[name] != a[name]
    assert 0.4 < from_a / (from_a + from_b) < 0.6


def test_crossover_of_equal_parents_is_the_parent(rng: np.random.Generator) -> None:
    space = mixed_space()
    a = space.sample(rng)
    assert all(space.crossover(a, a, rng) == a for _ in range(20))


def test_neighbors_differ_in_one_step(rng: np.random.Generator) -> None:
    space = optimizer_space()
    arch = space.make({"opt": "adam", "amsgrad": True, "beta_k": 4, "depth": 3, "act": "relu"})
    near = space.neighbors(arch)
    # opt: sgd, rmsprop; amsgrad: False; beta_k: 3; depth: 2; act: gelu
    assert len(near) == len({n.key for n in near}) == 6
    assert arch not in near
    for other in near:
        assert space.validate(other) == other
        moved = [n for n in changed(arch, other) if arch[n] is not None and other[n] is not None]
        assert len(moved) == 1
    to_sgd = next(n for n in near if n["opt"] == "sgd")
    assert to_sgd["nesterov"] is False and to_sgd["momentum_k"] == 2  # defaults, no generator
    assert to_sgd["amsgrad"] is None and to_sgd["beta_k"] is None


def test_encode_has_fixed_length_in_unit_range(rng: np.random.Generator) -> None:
    for space in (optimizer_space(), mixed_space()):
        assert space.encoding_size == sum(d.width for d in space.dims)
        for _ in range(200):
            arch = space.sample(rng)
            vec = space.encode(arch)
            assert vec.shape == (space.encoding_size,) and vec.dtype == np.float64
            assert np.all((vec >= 0.0) & (vec <= 1.0))
    space = mixed_space()
    arch = space.make({"optimizer": "adam", "lr": 1e-4, "layers": 8, "activation": "gelu"})
    # optimizer one-hot, lr, layers, momentum (inactive: 0), activation one-hot
    assert space.encode(arch).tolist() == [0.0, 1.0, 0.0, 1.0, 0.0, 0.0, 1.0, 0.0]


def test_negative_zero_is_the_same_arch_as_zero() -> None:
    space = Space([Float("x", -1.0, 1.0)])
    assert space.make({"x": -0.0}) == space.make({"x": 0.0})
