"""``Arch``: an immutable mapping identified by its key, with a JSON round-trip."""

from __future__ import annotations

import json

import pytest

from nasforge.space import Arch
from nasforge.space.arch import default_key, format_value


def test_mapping_and_key() -> None:
    arch = Arch({"depth": 3, "op": "conv"}, key="depth=3,op=conv")
    assert arch["depth"] == 3 and arch["op"] == "conv"
    assert list(arch) == ["depth", "op"] and len(arch) == 2
    assert dict(arch) == {"depth": 3, "op": "conv"}
    assert arch.key == "depth=3,op=conv" and repr(arch) == "Arch('depth=3,op=conv')"


def test_default_key_leaves_out_inactive_and_keeps_order() -> None:
    arch = Arch({"opt": "adam", "momentum": None, "lr": 0.001, "bn": True})
    assert arch.key == "opt=adam,lr=0.001,bn=True"
    assert default_key({"b": 1, "a": 2}) == "b=1,a=2"


def test_format_value_uses_six_significant_digits() -> None:
    assert format_value(0.1) == "0.1"
    assert format_value(1 / 3) == "0.333333"
    assert format_value(1e-5) == "1e-05"
    assert format_value(123456789.0) == "1.23457e+08"
    assert format_value(3) == "3" and format_value(True) == "True" and format_value(None) == "None"


def test_equality_and_hash_follow_the_key() -> None:
    a = Arch({"x": 1}, key="k")
    b = Arch({"x": 2}, key="k")  # the key is the identity; a space never makes such a pair
    c = Arch({"x": 1}, key="other")
    assert a == b and hash(a) == hash(b)
    assert a != c
    assert len({a, b, c}) == 2
    assert {a: "first"}[b] == "first"


def test_not_equal_to_other_types() -> None:
    arch = Arch({"x": 1})
    assert arch != {"x": 1}
    assert arch != "x=1"
    assert (arch == "x=1") is False


def test_is_a_copy_of_the_values_given() -> None:
    values = {"x": 1}
    arch = Arch(values)
    values["x"] = 2
    assert arch["x"] == 1 and arch.key == "x=1"
    with pytest.raises(TypeError):
        arch["x"] = 3  # type: ignore[index]
    with pytest.raises(AttributeError):
        arch.extra = 1  # type: ignore[attr-defined]


def test_replace_returns_a_new_dict() -> None:
    arch = Arch({"x": 1, "y": "a"})
    changed = arch.replace(y="b")
    assert changed == {"x": 1, "y": "b"} and isinstance(changed, dict)
    assert arch["y"] == "a"


@pytest.mark.parametrize(
    "values",
    [
        {"op": "conv", "depth": 3, "lr": 0.000123457, "bn": False, "momentum": None},
        {"edge_1_0": "nor_conv_3x3", "edge_2_0": "none"},
        {"w": 1.5e-07, "n": -4},
    ],
)
def test_json_round_trip(values: dict[str, object]) -> None:
    arch = Arch(values)
    text = arch.to_json()
    assert json.loads(text) == {"key": arch.key, "values": values}
    back = Arch.from_json(text)
    assert back == arch and back.key == arch.key and dict(back) == values
    assert Arch.from_dict(arch.to_dict()) == arch


def test_json_keeps_a_custom_key() -> None:
    arch = Arch({"edge_1_0": "skip_connect"}, key="|skip_connect~0|")
    assert Arch.from_json(arch.to_json()).key == "|skip_connect~0|"
