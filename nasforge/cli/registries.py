"""``nasforge spaces`` and ``nasforge strategies``: what the registries hold."""

from __future__ import annotations

from nasforge.cli._common import stdout_console
from nasforge.cli._render import print_registry


def spaces() -> None:
    """The registered search spaces."""
    from nasforge.spaces import SPACES

    print_registry(stdout_console(), SPACES)


def strategies() -> None:
    """The registered search strategies."""
    from nasforge.strategies import STRATEGIES

    print_registry(stdout_console(), STRATEGIES)
