"""The ``nasforge`` command line."""

from __future__ import annotations

from nasforge.cli.main import app, main

__all__ = ["app", "main"]
