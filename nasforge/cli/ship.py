"""CLI commands registered on the main app (owned by the ship work; filled in by it)."""

from __future__ import annotations

import typer


def register(app: typer.Typer) -> None:
    """Add this module's commands to ``app``."""
