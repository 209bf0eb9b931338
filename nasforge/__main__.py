"""``python -m nasforge`` runs the command line."""

from __future__ import annotations

from nasforge.cli import main

main()
