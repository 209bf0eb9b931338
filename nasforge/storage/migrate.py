"""Schema upgrades: one step per version, run by ``nasforge storage upgrade``.

A store records its schema version in ``nasforge_meta``. Opening an older store raises a
:class:`~nasforge.errors.StorageError` that names the command to upgrade it, rather than
altering a file a running search of an older nasforge may still be writing. Each step is plain
SQL that SQLite and PostgreSQL both accept; new tables need no step (``create_all`` adds them).
"""

from __future__ import annotations

from collections.abc import Callable

from sqlalchemy import text
from sqlalchemy.engine import Connection


def _v1_to_v2(conn: Connection) -> None:
    # heartbeats of running trials; the artifacts table is new and made by create_all
    conn.execute(text("ALTER TABLE trials ADD COLUMN heartbeat_at TIMESTAMP"))


#: ``STEPS[v]`` upgrades a store from version ``v`` to ``v + 1``
STEPS: dict[int, Callable[[Connection], None]] = {1: _v1_to_v2}
