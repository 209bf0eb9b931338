"""Dimensions: canonical values, error messages, log-scale sampling, moves and encodings."""

from __future__ import annotations

import math

import numpy as np
import pytest

from nasforge.errors import SpaceError
from nasforge.space import Categorical, Float, Int
from nasforge.space.arch import format_value


@pytest.fixture
def rng() -> np.random.Generator:
    return np.random.default_rng(0)


# ---- construction ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda: Categorical("x", []), "dimension 'x': choices must not be empty"),
        (lambda: Categorical("x", [1, 1]), "dimension 'x': choices must be distinct"),
        (lambda: Int("n", 3, 3), "dimension 'n': low (3) must be below high (3)"),
        (lambda: Float("f", 1.0, 0.5), "dimension 'f': low (1.0) must be below high (0.5)"),
        (lambda: Float("lr", 0.0, 1.0, log=True), "'lr': a log-scale range needs low > 0, got 0"),
        (lambda: Int("n", -1, 4, log=True), "'n': a log-scale range needs low > 0, got -1"),
        (lambda: Categorical("a b", [1]), "dimension name 'a b' must be a non-empty string"),
        (lambda: Categorical("a=b", [1]), "dimension name 'a=b'"),
        (lambda: Int("", 0, 1), "dimension name '' must be a non-empty string"),
    ],
)
def test_bad_definitions_raise(make: object, message: str) -> None:
    with pytest.raises(SpaceError) as err:
        make()  # type: ignore[operator]
    assert message in str(err.value)


# ---- Categorical -------------------------------------------------------------------------------


def test_categorical_check_and_messages() -> None:
    op = Categorical("op", ["conv", "pool", "skip"])
    assert op.check("pool") == "pool"
    with pytest.raises(SpaceError) as err:
        op.check("dense")
    assert str(err.value) == (
        "dimension 'op': value 'dense' is not allowed; allowed: 'conv', 'pool' or 'skip'"
    )


def test_categorical_numbers_are_canonical() -> None:
    width = Categorical("width", [16, 32, 64])
    assert width.check(32.0) == 32 and type(width.check(32.0)) is int
    assert type(width.check(np.int64(64))) is int
    with pytest.raises(SpaceError, match="'width'"):
        width.check("32")
    with pytest.raises(SpaceError, match="'width'"):
        Categorical("width", [0, 1]).check(True)  # a bool is not the number 1 here


def test_categorical_moves_and_encoding(rng: np.random.Generator) -> None:
    op = Categorical("op", ["a", "b", "c"])
    assert op.size == 3 and op.values() == ["a", "b", "c"] and op.default == "a"
    assert {op.sample(rng) for _ in range(100)} == {"a", "b", "c"}
    assert all(op.mutate("b", rng) != "b" for _ in range(50))
    assert op.neighbors("b") == ["a", "c"]
    assert op.width == 3 and op.encode("b") == [0.0, 1.0, 0.0]
    assert Categorical("only", ["x"]).mutate("x", rng) == "x"


@pytest.mark.parametrize("choices", [["a", "b"], [1, 2, 3], [0.1, 1 / 3], [True, False]])
def test_categorical_text_round_trip(choices: list[object]) -> None:
    dim = Categorical("c", choices)
    for choice in choices:
        back = dim.from_text(format_value(choice))
        assert back == choice and type(back) is type(choice)
    with pytest.raises(SpaceError, match="dimension 'c': value 'nope' is not allowed"):
        dim.from_text("nope")


# ---- Int ---------------------------------------------------------------------------------------


def test_int_check_and_messages() -> None:
    layers = Int("layers", 1, 5)
    assert layers.check(3.0) == 3 and type(layers.check(np.int64(2))) is int
    cases = {
        0: "dimension 'layers': value 0 is not allowed; allowed: 1 <= value <= 5",
        6: "value 6 is not allowed; allowed: 1 <= value <= 5",
        2.5: "value 2.5 is not allowed; allowed: 1 <= value <= 5",
        "3": "value '3' is not allowed; expected an integer; allowed: 1 <= value <= 5",
        True: "value True is not allowed; expected an integer",
    }
    for value, message in cases.items():
        with pytest.raises(SpaceError) as err:
            layers.check(value)
        assert message in str(err.value)


@pytest.mark.parametrize("value", [math.inf, math.nan])
def test_int_check_non_finite_is_a_space_error(value: float) -> None:
    with pytest.raises(SpaceError, match="'layers'"):
        Int("layers", 1, 5).check(value)


def test_int_sampling_moves_and_encoding(rng: np.random.Generator) -> None:
    n = Int("n", 2, 6)
    samples = [n.sample(rng) for _ in range(500)]
    assert set(samples) == {2, 3, 4, 5, 6} and all(type(s) is int for s in samples)
    assert n.size == 5 and n.values() == [2, 3, 4, 5, 6] and n.default == 4
    moved = [n.mutate(4, rng) for _ in range(200)]
    assert all(2 <= m <= 6 and m != 4 for m in moved)
    assert n.mutate(2, rng) > 2 and n.mutate(6, rng) < 6
    assert n.neighbors(2) == [3] and n.neighbors(4) == [3, 5] and n.neighbors(6) == [5]
    assert n.encode(2) == [0.0] and n.encode(6) == [1.0] and n.encode(4) == [0.5]


def test_int_log_sampling_stays_in_range_and_is_log_uniform(rng: np.random.Generator) -> None:
    n = Int("channels", 1, 1024, log=True)
    samples = np.array([n.sample(rng) for _ in range(20_000)])
    assert samples.min() == 1 and samples.max() == 1024
    # each integer owns [v - 0.5, v + 0.5] in log space; P(v <= 32) = 0.547 (linear: 0.031)
    expected = (math.log(32.5) - math.log(0.5)) / (math.log(1024.5) - math.log(0.5))
    assert abs(np.mean(samples <= 32) - expected) < 0.02
    assert n.default == 32  # geometric middle of the range
    assert 0.0 <= n.encode(1)[0] < n.encode(32)[0] < n.encode(1024)[0] == 1.0


def test_int_log_sampling_narrow_range(rng: np.random.Generator) -> None:
    n = Int("k", 3, 4, log=True)
    assert {n.sample(rng) for _ in range(200)} == {3, 4}


def test_int_text() -> None:
    n = Int("layers", 1, 5)
    assert n.from_text("3") == 3
    with pytest.raises(SpaceError, match="dimension 'layers': value 'x' is not allowed"):
        n.from_text("x")


@pytest.mark.parametrize(("dim", "text"), [(Int("layers", 1, 5), "9"), (Float("lr", 0.1, 1), "2")])
def test_text_out_of_range_names_the_range(dim: Int | Float, text: str) -> None:
    with pytest.raises(SpaceError, match="<= value <="):
        dim.from_text(text)


# ---- Float -------------------------------------------------------------------------------------


def test_float_check_rounds_to_six_digits_and_messages() -> None:
    lr = Float("lr", 1e-5, 1e-1, log=True)
    assert lr.check(0.0123456789) == 0.0123457
    assert lr.check(np.float32(0.5) / 10) == 0.05
    with pytest.raises(SpaceError) as err:
        lr.check(1.0)
    assert str(err.value) == (
        "dimension 'lr': value 1.0 is not allowed; allowed: 1e-05 <= value <= 0.1 (log scale)"
    )
    for bad in ("0.01", None, False, math.nan, math.inf):
        with pytest.raises(SpaceError, match="dimension 'lr'"):
            lr.check(bad)


def test_float_log_sampling_is_uniform_in_log_space(rng: np.random.Generator) -> None:
    lr = Float("lr", 1e-5, 1e-1, log=True)
    samples = np.array([lr.sample(rng) for _ in range(20_000)])
    assert samples.min() >= 1e-5 and samples.max() <= 1e-1
    counts, _ = np.histogram(np.log10(samples), bins=8, range=(-5, -1))
    assert np.all(np.abs(counts / len(samples) - 1 / 8) < 0.015), counts
    assert lr.default == 0.001


def test_float_linear_sampling_is_uniform(rng: np.random.Generator) -> None:
    x = Float("x", -2.0, 2.0)
    samples = np.array([x.sample(rng) for _ in range(20_000)])
    counts, _ = np.histogram(samples, bins=8, range=(-2, 2))
    assert np.all(np.abs(counts / len(samples) - 1 / 8) < 0.015), counts
    assert x.default == 0.0


@pytest.mark.parametrize(
    "dim", [Float("lr", 1e-6, 1.0, log=True), Float("x", -3.0, 1e4), Float("t", 0.1, 0.2)]
)
def test_float_values_survive_their_text_exactly(dim: Float, rng: np.random.Generator) -> None:
    value = dim.sample(rng)
    for _ in range(1_000):
        text = format_value(value)
        assert dim.from_text(text) == value and dim.check(value) == value
        value = dim.mutate(value, rng)
        assert dim.low <= value <= dim.high


def test_float_moves_and_encoding(rng: np.random.Generator) -> None:
    x = Float("x", 0.0, 1.0)
    assert x.neighbors(0.5) == [0.4, 0.6] and x.neighbors(0.0) == [0.1]
    assert x.neighbors(1.0) == [0.9]
    assert all(x.mutate(0.5, rng) != 0.5 for _ in range(100))
    assert x.encode(0.25) == [0.25] and x.width == 1 and x.size == math.inf
    lr = Float("lr", 1e-5, 1e-1, log=True)
    assert lr.neighbors(1e-3) == [0.000398107, 0.00251189]
    assert lr.encode(1e-3) == pytest.approx([0.5])
    with pytest.raises(SpaceError, match="'lr' is continuous and cannot be enumerated"):
        lr.values()


def test_float_bound_with_many_digits_is_allowed(rng: np.random.Generator) -> None:
    x = Float("x", 1 / 3, 1.0)
    assert x.check(1 / 3) == x.low
    value = 0.34
    for _ in range(100):
        value = x.mutate(value, rng)
        assert x.check(value) == value and x.from_text(format_value(value)) == value
