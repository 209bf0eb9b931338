"""Opening a store: what the database holds decides what may be done with it.

Nothing is written before the database is known to be a nasforge store, or an empty one that
is to become one. A database holding other tables (another program's, such as an Optuna
study) is refused, as is a store of another schema version (see :mod:`nasforge.storage.migrate`)
and a damaged one (a garbled version, a table or column missing). Several processes creating
one new store at once all succeed: a step that loses a race to another is done again.
"""

from __future__ import annotations

import time
from typing import Any

from sqlalchemy import insert, inspect, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, InternalError, OperationalError, ProgrammingError

from nasforge.errors import StorageError
from nasforge.storage._engine import set_wal, sqlite_path
from nasforge.storage._rows import first_line
from nasforge.storage.models import SCHEMA_VERSION, Base, MetaRow

#: the tables of a nasforge store
TABLES: frozenset[str] = frozenset(Base.metadata.tables)
#: errors a step of creating a store meets when another process does the same step first
RACES = (IntegrityError, OperationalError, ProgrammingError, InternalError)
RACE_WORDS = ("locked", "busy", "already exists", "unique", "duplicate", "concurrent")


def open_store(engine: Engine, url: str, read_only: bool, upgrade: bool) -> int | None:
    """Check what ``engine``'s database holds and make it a store of this schema; returns
    the version it was upgraded from (``None``: no upgrade). ``read_only`` checks only."""
    for attempt in range(20):
        try:
            return _open_once(engine, url, read_only, upgrade)
        except RACES as exc:
            race = isinstance(exc, IntegrityError) or any(
                word in str(exc).lower() for word in RACE_WORDS
            )
            if not race or attempt == 19:
                raise
            time.sleep(min(0.02 * 2**attempt, 1.0))
    raise AssertionError("unreachable")  # pragma: no cover


def _open_once(engine: Engine, url: str, read_only: bool, upgrade: bool) -> int | None:
    inspector = inspect(engine)
    tables = set(inspector.get_table_names())
    version = _stored_version(engine, url, tables)
    if version is not None:  # stamped after its tables were made: list them again, after it
        inspector = inspect(engine)
        tables = set(inspector.get_table_names())
    _check_tables(inspector, url, tables, version)
    if version is None and read_only:
        held = "the database is empty" if not tables else "it has no schema version yet"
        raise StorageError(f"storage {url!r} is not a nasforge store ({held})")
    check_version(url, version, upgrade and not read_only)
    if read_only or (version == SCHEMA_VERSION and not TABLES - tables):
        return None  # nothing to write (WAL mode comes with the first write: Storage._write)
    set_wal(engine)
    Base.metadata.create_all(engine)
    return _stamp_or_upgrade(engine, url)


def _stored_version(engine: Engine, url: str, tables: set[str]) -> int | None:
    """The schema version the store records; ``None`` when it records none (yet)."""
    if MetaRow.__tablename__ not in tables:
        return None
    with engine.connect() as conn:
        value = conn.execute(
            select(MetaRow.value).where(MetaRow.key == "schema_version")
        ).scalar_one_or_none()
    return None if value is None else parse_version(url, value)


def parse_version(url: str, value: Any) -> int:
    """A stored schema version as a number; a one-line error for a garbled one."""
    try:
        return int(value)
    except (TypeError, ValueError):
        raise StorageError(
            f"storage {url!r} is damaged: its schema version (table nasforge_meta) is "
            f"{str(value)[:40]!r}, not a whole number; restore the store from a backup"
        ) from None


def _check_tables(inspector: Any, url: str, tables: set[str], version: int | None) -> None:
    """Refuse another program's database, and a store missing a table or column."""
    where = "file" if sqlite_path(url) else "database"
    others = sorted(tables - TABLES)
    if version is None and others:  # not even partly created by nasforge
        held = sorted(tables)
        shown = ", ".join(held[:6]) + (", ..." if len(held) > 6 else "")
        raise StorageError(
            f"storage {url!r} is not a nasforge store (it holds tables {shown}); "
            f"use another {where}"
        )
    if version is not None and version != SCHEMA_VERSION:
        return  # an older (upgraded in place) or newer (refused) layout
    if version is not None and TABLES - tables:
        missing = ", ".join(sorted(TABLES - tables))
        raise StorageError(
            f"storage {url!r} is damaged: it has no table {missing}; restore it from a backup"
        )
    for table in sorted(TABLES & tables):
        columns = {c["name"] for c in inspector.get_columns(table)}
        lacking = [c.name for c in Base.metadata.tables[table].columns if c.name not in columns]
        if not lacking:
            continue
        if version is None:
            raise StorageError(
                f"storage {url!r} is not a nasforge store (its table {table} has other "
                f"columns); use another {where}"
            )
        raise StorageError(
            f"storage {url!r} is damaged: table {table} has no column {', '.join(lacking)} "
            f"(changed by another program?); restore it from a backup, or use another {where}"
        )


def check_version(url: str, version: int | None, upgrade: bool) -> None:
    """Refuse a store of a newer schema, and an older one unless upgrading."""
    if version is None or version == SCHEMA_VERSION:
        return
    if version > SCHEMA_VERSION:
        raise StorageError(
            f"storage {url!r} has schema version {version}, written by a newer "
            f"nasforge; this one reads version {SCHEMA_VERSION}: upgrade nasforge"
        )
    if not upgrade:
        raise StorageError(
            f"storage {url!r} has schema version {version}, this nasforge uses "
            f"{SCHEMA_VERSION}; back it up, then run: nasforge storage upgrade "
            f"--storage {url}"
        )


def _stamp_or_upgrade(engine: Engine, url: str) -> int | None:
    """Record the schema version in a new store, or run the upgrade steps on an old one
    (:func:`check_version` allowed it); returns the version upgraded from."""
    from nasforge.storage.migrate import STEPS

    key = MetaRow.key == "schema_version"
    with engine.begin() as conn:
        value = conn.execute(select(MetaRow.value).where(key)).scalar_one_or_none()
        if value is None:
            conn.execute(insert(MetaRow).values(key="schema_version", value=str(SCHEMA_VERSION)))
            return None
        version = parse_version(url, value)
        if version >= SCHEMA_VERSION:  # another process stamped or upgraded it meanwhile
            return None
        for step in range(version, SCHEMA_VERSION):
            STEPS[step](conn)
        conn.execute(update(MetaRow).where(key).values(value=str(SCHEMA_VERSION)))
        return version


__all__ = ["TABLES", "check_version", "first_line", "open_store", "parse_version"]
