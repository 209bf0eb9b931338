"""The parity check of an export reads the dataset a retrain recorded: a registered name or a
``{"name", "options"}`` mapping; one that cannot be read here gives way to seeded noise."""

from __future__ import annotations

import pytest

from nasforge.errors import ConfigError
from nasforge.export.export import _retrain_data


def test_a_recorded_name_or_mapping_loads_the_dataset() -> None:
    by_name = _retrain_data("digits")
    by_mapping = _retrain_data({"name": "digits", "options": {"test_fraction": 0.5}})
    assert by_name is not None and by_mapping is not None
    assert len(by_mapping.y_test) > len(by_name.y_test)  # the options were applied


def test_an_unknown_or_unreadable_dataset_gives_none(monkeypatch: pytest.MonkeyPatch) -> None:
    assert _retrain_data("custom") is None
    assert _retrain_data({"name": "no-such-data"}) is None

    def offline(*args: object, **kwargs: object) -> None:
        raise ConfigError("dataset 'digits': offline; fill the folder by hand")

    monkeypatch.setattr("nasforge.data.load_dataset", offline)
    assert _retrain_data({"name": "digits"}) is None
