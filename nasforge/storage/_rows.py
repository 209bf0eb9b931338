"""What the store's rows become, and how a store is opened: engines, JSON-safe metrics."""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from sqlalchemy import create_engine, event, select
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

from nasforge.errors import StorageError
from nasforge.space import Arch
from nasforge.storage.models import ExperimentRow, TrialRow
from nasforge.storage.records import ExperimentRecord
from nasforge.trial import Trial, TrialStatus


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL; ``None`` for other databases and in-memory SQLite."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return path if path and path != ":memory:" else None


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = sqlite_path(url)
        if path:
            Path(path).expanduser().parent.mkdir(parents=True, exist_ok=True)
        engine = create_engine(url, connect_args={"timeout": 30})

        @event.listens_for(engine, "connect")
        def _pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            if path:
                cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.close()

        return engine
    return create_engine(url, pool_pre_ping=True)


def first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def clean(metrics: Mapping[str, float]) -> dict[str, float | None]:
    """JSON has no NaN or infinity: store them as ``None``."""
    out: dict[str, float | None] = {}
    for k, v in metrics.items():
        value = float(v)
        out[str(k)] = value if math.isfinite(value) else None
    return out


def trial_row(session: Session, experiment_id: int, number: int) -> TrialRow:
    row = session.scalar(
        select(TrialRow).where(TrialRow.experiment_id == experiment_id, TrialRow.number == number)
    )
    if row is None:
        raise StorageError(f"experiment id {experiment_id} has no trial {number}")
    return row


def trial_row_id(session: Session, experiment_id: int, number: int) -> int:
    """The row id of trial ``number`` (a query of the id alone, for the hot report path)."""
    row_id = session.scalar(
        select(TrialRow.id).where(
            TrialRow.experiment_id == experiment_id, TrialRow.number == number
        )
    )
    if row_id is None:
        raise StorageError(f"experiment id {experiment_id} has no trial {number}")
    return int(row_id)


def experiment_record(row: ExperimentRow) -> ExperimentRecord:
    return ExperimentRecord(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        seed=row.seed,
        objectives=dict(row.objectives),
        spec=dict(row.spec),
        versions=dict(row.versions or {}),
    )


def trial_record(row: TrialRow, intermediate: bool) -> Trial:
    return Trial(
        number=row.number,
        arch=Arch.from_dict(row.arch),
        status=TrialStatus(row.status),
        metrics={k: (v if v is not None else math.nan) for k, v in (row.metrics or {}).items()},
        scores=tuple(row.scores) if row.scores is not None else None,
        intermediate={r.step: dict(r.metrics) for r in row.intermediate} if intermediate else {},
        seed=row.seed,
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_s=row.duration_s,
        worker=row.worker,
        retry_of=row.retry_of,
        ask_seq=row.ask_seq,
        tell_seq=row.tell_seq,
    )
