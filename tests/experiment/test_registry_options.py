"""Reading back the registered name and options that rebuild an object (for stored experiments)."""

from __future__ import annotations

import sys

from nasforge.registry import Registry


class Widget:
    def __init__(self, size: int = 3, tags: tuple[str, ...] = ("a",), note: str | None = None):
        self.size = size
        self.tags = tags
        self.note = note


class BigWidget(Widget):
    pass


class Opaque:
    def __init__(self, data: object = None) -> None:
        self.data = data


class Hidden:
    def __init__(self, size: int = 1) -> None:
        self._size = size


def test_options_of_reads_back_the_constructor_parameters() -> None:
    reg: Registry[object] = Registry("thing")
    reg.register("widget", Widget)
    reg.register("opaque", Opaque)
    reg.register("hidden", Hidden)
    found = reg.options_of(Widget(size=5, tags=("x", "y")))
    assert found == ("widget", {"size": 5, "tags": ["x", "y"], "note": None})
    assert reg.create(found[0], **found[1]).size == 5
    assert reg.options_of(BigWidget()) is None  # a subclass may take other options
    assert reg.options_of(Opaque(data=[1, {"k": 2.0}])) == ("opaque", {"data": [1, {"k": 2.0}]})
    assert reg.options_of(Opaque(data=object())) is None  # not JSON: cannot be stored
    assert reg.options_of(Hidden()) is None  # the option is not kept under its own name
    assert reg.options_of(3) is None


def test_options_of_does_not_import_lazily_registered_modules() -> None:
    reg: Registry[object] = Registry("thing")
    reg.register("far", "nasforge_not_a_module_here:Thing")
    reg.register("widget", Widget)
    assert reg.options_of(Widget())[0] == "widget"  # type: ignore[index]
    assert "nasforge_not_a_module_here" not in sys.modules
