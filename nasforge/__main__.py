"""``python -m nasforge`` runs the command line."""

from __future__ import annotations

from nasforge._entry import main

if __name__ == "__main__":
    main()
