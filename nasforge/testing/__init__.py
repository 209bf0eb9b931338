"""Reusable test suites that ship with nasforge, so that third-party extensions can run them too.

``nasforge.testing.strategies`` holds the conformance suite every search strategy must pass.
These modules import ``pytest`` (the ``test`` extra); nothing else in nasforge imports them.
"""

from __future__ import annotations
