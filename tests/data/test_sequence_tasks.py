"""Sequence tasks: shapes, targets that follow the task's definition, determinism, errors."""

from __future__ import annotations

import numpy as np
import pytest

from nasforge.data.sequence import (
    CHARACTERS,
    COPY_SYMBOLS,
    load_sequence_task,
    python_source_text,
)
from nasforge.errors import ConfigError


def test_adding_target_is_the_sum_of_the_two_marked_numbers() -> None:
    data = load_sequence_task("adding", length=30, samples=40, seed=3)
    x, y = data.x_train, data.y_train
    assert x.shape == (40, 30, 2) and y.shape == (40,)
    assert (x[:, :, 1].sum(axis=1) == 2).all()
    assert (x[:, :15, 1].sum(axis=1) == 1).all()  # one marker in each half
    np.testing.assert_allclose((x[:, :, 0] * x[:, :, 1]).sum(axis=1), y, rtol=1e-6)
    assert data.x_val.shape == (10, 30, 2) and data.kind == "regression"


def test_copy_targets_repeat_the_first_symbols_after_the_delimiter() -> None:
    data = load_sequence_task("copy", length=6, samples=8)
    x, y = data.x_train, data.y_train
    assert x.shape == y.shape == (8, 6 + 2 * COPY_SYMBOLS)
    np.testing.assert_array_equal(y[:, -COPY_SYMBOLS:], x[:, :COPY_SYMBOLS])
    assert (x[:, 6 + COPY_SYMBOLS - 1] == 9).all() and (y[:, :-COPY_SYMBOLS] == 0).all()
    assert data.vocab == 10 and data.scored_steps == COPY_SYMBOLS


def test_tasks_are_deterministic_from_the_seed() -> None:
    a = load_sequence_task("adding", length=10, samples=16, seed=1)
    b = load_sequence_task("adding", length=10, samples=16, seed=1)
    c = load_sequence_task("adding", length=10, samples=16, seed=2)
    assert a.sha256() == b.sha256() != c.sha256()


def test_mnist1d_is_forty_steps_of_one_value() -> None:
    data = load_sequence_task("mnist1d", samples=100)
    assert data.x_train.shape == (100, 40, 1) and data.x_test.shape == (1000, 40, 1)
    assert data.out_dim == 10 and data.kind == "classify"


def test_chars_predicts_the_next_character_of_python_sources() -> None:
    data = load_sequence_task("chars", length=16, samples=20)
    assert data.x_train.shape == data.y_train.shape == (20, 16)
    np.testing.assert_array_equal(data.x_train[:, 1:], data.y_train[:, :-1])
    text = python_source_text(17)
    assert data.x_train[0, 0] == CHARACTERS.index(text[0]) + 1
    assert data.vocab == len(CHARACTERS) + 1 and "sha256" in data.source


@pytest.mark.parametrize(
    ("name", "options", "message"),
    [
        ("speech", {}, "task='speech'; allowed"),
        ("adding", {"length": 1}, "length=1; allowed: an integer >= 2"),
        ("mnist1d", {"length": 20}, "allowed: 40"),
        ("copy", {"samples": 2.5}, "samples=2.5"),
    ],
)
def test_bad_options_name_the_field(name: str, options: dict[str, object], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_sequence_task(name, **options)  # type: ignore[arg-type]
