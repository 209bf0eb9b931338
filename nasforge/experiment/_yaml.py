"""Reading a YAML search file with PyYAML's safe loader, within limits.

Two things the safe loader allows are refused: a key given twice in a mapping (YAML forbids
it; PyYAML silently keeps the last value), and a document whose aliases (``*name``) expand it
past :data:`MAX_YAML_VALUES` values. While loading, an alias is the value it names, shared;
but a config is stored as JSON, which writes every copy out: 500 bytes of nested aliases are
gigabytes there.
"""

from __future__ import annotations

from typing import Any

import yaml

#: the most values a YAML file may hold once its aliases are expanded
MAX_YAML_VALUES = 100_000


def load_yaml(text: str) -> Any:
    r"""The data of a YAML document, read safely.

    Raises:
        YamlRefused: a key given twice, or aliases that expand past :data:`MAX_YAML_VALUES`.
        yaml.YAMLError: the text is not valid YAML.

    Example:
        >>> load_yaml("space: nb201\nbudget: {max_trials: 5}")
        {'space': 'nb201', 'budget': {'max_trials': 5}}
        >>> load_yaml("seed: 1\nseed: 2")
        Traceback (most recent call last):
        ...
        nasforge.experiment._yaml.YamlRefused: duplicate key 'seed' (first on line 1)
    """
    return yaml.load(text, Loader=_Loader)


class YamlRefused(yaml.YAMLError):
    """A YAML file this loader will not read on: a key given twice, or aliases that expand
    past :data:`MAX_YAML_VALUES`; ``line`` is where (1-based)."""

    def __init__(self, message: str, line: int) -> None:
        super().__init__(message)
        self.line = line


class _Loader(yaml.SafeLoader):
    """PyYAML's safe loader, refusing a key given twice in a mapping (YAML forbids it; PyYAML
    keeps the last) and a document whose aliases expand past :data:`MAX_YAML_VALUES`: the
    values are shared while loading, but storing the config as JSON would write them all."""

    def construct_document(self, node: yaml.Node) -> Any:
        _check_expansion(node, MAX_YAML_VALUES)
        return super().construct_document(node)

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        first: dict[Any, int] = {}
        for key_node, _ in node.value if isinstance(node, yaml.MappingNode) else ():
            if not isinstance(key_node, yaml.ScalarNode) or key_node.tag.endswith(":merge"):
                continue
            key, line = self.construct_object(key_node), key_node.start_mark.line + 1
            if key in first:
                raise YamlRefused(f"duplicate key {key!r} (first on line {first[key]})", line)
            first[key] = line
        return super().construct_mapping(node, deep=deep)


def _check_expansion(root: yaml.Node, limit: int) -> None:
    """Refuse ``root`` when it holds more than ``limit`` values with its aliases expanded,
    naming the top-level key whose value goes past the limit (an alias is the node it names,
    so each node's expanded size is counted once)."""
    sizes: dict[int, int] = {}

    def size(node: yaml.Node, open_: set[int]) -> int:
        if id(node) in sizes:
            return sizes[id(node)]
        if id(node) in open_:  # an alias inside the collection it names: endless
            return limit + 1
        open_.add(id(node))
        total = 1
        children: list[Any] = []
        if isinstance(node, yaml.SequenceNode):
            children = node.value
        elif isinstance(node, yaml.MappingNode):
            children = [part for pair in node.value for part in pair]
        for child in children:
            total += size(child, open_)
            if total > limit:
                break
        open_.discard(id(node))
        sizes[id(node)] = total
        return total

    pairs = root.value if isinstance(root, yaml.MappingNode) else [(root, root)]
    total = 1
    for key_node, value_node in pairs:
        total += size(value_node, set())
        if total > limit:
            section = key_node.value if isinstance(key_node, yaml.ScalarNode) else "the file"
            raise YamlRefused(
                f"{section}: its aliases expand the file past {limit:,} values; allowed: at "
                f"most {limit:,} (write the values out)",
                value_node.start_mark.line + 1,
            )


__all__ = ["MAX_YAML_VALUES", "YamlRefused", "load_yaml"]
