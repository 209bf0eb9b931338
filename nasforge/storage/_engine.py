"""Store URLs and the engines that open them (SQLite pragmas, read-only connections)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine
from sqlalchemy.engine.url import make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.pool import NullPool

from nasforge.errors import StorageError

#: what a store message suggests instead of a URL that names no store
GIVE = "give a SQLite file (e.g. sqlite:///nasforge.db) or a database server URL"


def normalize_url(url: str | Path) -> str:
    """Accept a SQLAlchemy URL, or a plain file path meaning a SQLite file.

    An empty URL (an unset shell variable, ``storage: ""``) is refused: SQLite would take it
    for a database in memory, gone when the process ends.

    Example:
        >>> normalize_url("runs.db")
        'sqlite:///runs.db'
        >>> normalize_url("")
        Traceback (most recent call last):
        ...
        nasforge.errors.StorageError: storage: an empty URL names no store (an unset \
variable?); give a SQLite file (e.g. sqlite:///nasforge.db) or a database server URL
    """
    text = str(url)
    if not text.strip():
        raise StorageError(f"storage: an empty URL names no store (an unset variable?); {GIVE}")
    if "://" in text:
        return text
    return f"sqlite:///{text}"


def is_in_memory(url: str | Path) -> bool:
    """Whether ``url`` names a SQLite database in memory (``sqlite://``,
    ``sqlite:///:memory:``, ``file::memory:``), which ends with the process that opened it.

    Example:
        >>> is_in_memory("sqlite://"), is_in_memory("sqlite:///:memory:"), is_in_memory("a.db")
        (True, True, False)
    """
    text = normalize_url(url)
    try:
        parsed = make_url(text)
    except ArgumentError:
        return False
    if parsed.get_backend_name() != "sqlite":
        return False
    database = parsed.database or ""
    return (
        database in ("", ":memory:")
        or database.startswith("file::memory:")
        or "mode=memory" in text
    )


def refuse_in_memory(url: str | Path, command: str = "search") -> str:
    """The normalized ``url``; a :class:`~nasforge.errors.StorageError` when it is empty or a
    database in memory, where ``command``'s results would be lost when it ends.

    Example:
        >>> refuse_in_memory("sqlite://")
        Traceback (most recent call last):
        ...
        nasforge.errors.StorageError: storage: 'sqlite://' is a database in memory, so the \
search's results would be lost when it ends; give a SQLite file (e.g. sqlite:///nasforge.db) \
or a database server URL
    """
    text = normalize_url(url)
    if is_in_memory(text):
        raise StorageError(
            f"storage: {text!r} is a database in memory, so the {command}'s results would be "
            f"lost when it ends; {GIVE}"
        )
    return text


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL; ``None`` for other databases and in-memory SQLite."""
    if not url.startswith("sqlite") or is_in_memory(url):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return path or None


#: the install command of the driver each database server needs, by SQLAlchemy backend name
DRIVER_EXTRAS = {"postgresql": "pip install 'nasforge[postgres]'"}


def missing_driver(url: str, exc: ImportError) -> str:
    """The one-line message for ``url`` whose database driver could not be imported: what is
    missing and the command that installs it.

    Example:
        >>> error = ModuleNotFoundError("No module named 'psycopg'")
        >>> missing_driver("postgresql+psycopg://db/x", error)
        "storage 'postgresql+psycopg://db/x': the PostgreSQL driver is not installed (No module \
named 'psycopg'); install it with: pip install 'nasforge[postgres]'"
    """
    backend = url.split("://", 1)[0].split("+", 1)[0]
    install = DRIVER_EXTRAS.get(backend)
    what = "the PostgreSQL driver" if backend == "postgresql" else f"the {backend} driver"
    advice = (
        f"install it with: {install}"
        if install
        else "install the database driver SQLAlchemy names for it"
    )
    return f"storage {url!r}: {what} is not installed ({exc}); {advice}"


def make_engine(url: str, read_only: bool = False) -> Engine:
    """An engine for ``url``. SQLite gets a busy timeout and foreign keys; its journal mode is
    left alone here (the store switches a file it writes to WAL once it knows it is its own).

    ``read_only`` on a SQLite file: every connection refuses writes and is closed after each
    use, so that reading leaves the file as it was. Where no writer has the file open, the
    connection is an ordinary one set to ``query_only`` (closing it removes the ``-wal`` and
    ``-shm`` files reading a WAL file makes); where a writer does (its ``-wal`` file exists),
    it is opened ``mode=ro``, which never writes the database, and the writer's files stay.
    """
    if not url.startswith("sqlite"):
        try:
            return create_engine(url, pool_pre_ping=True)
        except ImportError as exc:  # the database's driver is not installed
            raise StorageError(missing_driver(url, exc)) from None
    path = sqlite_path(url)
    if path and read_only:
        file = Path(path).expanduser().resolve()
        engine = create_engine(url, creator=lambda: _read_only_connection(file), poolclass=NullPool)
    else:
        if path:
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

    @event.listens_for(engine, "connect")
    def _pragmas(dbapi_conn: Any, _record: Any) -> None:
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA synchronous=NORMAL")
        cursor.execute("PRAGMA foreign_keys=ON")
        if read_only:
            cursor.execute("PRAGMA query_only=ON")
        cursor.close()

    return engine


def _read_only_connection(file: Path) -> sqlite3.Connection:
    """A connection to ``file`` that cannot write it (see :func:`make_engine`); ``mode=rw``
    and ``mode=ro`` both refuse to create a missing file."""
    wal = file.with_name(file.name + "-wal")
    mode = "ro" if wal.exists() else "rw"
    return sqlite3.connect(
        f"{file.as_uri()}?mode={mode}", uri=True, timeout=30, check_same_thread=False
    )


def set_wal(engine: Engine) -> None:
    """Switch a SQLite file to WAL mode (kept by the file), so that readers never block the
    search that writes; nothing for other databases or a file in WAL mode already."""
    if engine.dialect.name != "sqlite" or not sqlite_path(str(engine.url)):
        return
    with engine.connect() as conn:
        mode = conn.exec_driver_sql("PRAGMA journal_mode").scalar()
        if str(mode).lower() != "wal":
            conn.exec_driver_sql("PRAGMA journal_mode=WAL")


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__
