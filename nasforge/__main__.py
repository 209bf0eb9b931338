"""``python -m nasforge`` runs the command line."""

from __future__ import annotations

from nasforge.cli import main

if __name__ == "__main__":
    main()
