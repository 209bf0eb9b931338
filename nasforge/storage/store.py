"""``Storage``: experiments and trials in any SQLAlchemy database (a SQLite file by default)."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, TypeVar

from sqlalchemy import create_engine, event, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import ArgumentError, OperationalError, SQLAlchemyError
from sqlalchemy.orm import Session, selectinload, sessionmaker

from nasforge.errors import StorageError
from nasforge.space import Arch
from nasforge.storage.models import (
    SCHEMA_VERSION,
    ArtifactRow,
    Base,
    ExperimentRow,
    IntermediateRow,
    MetaRow,
    TrialRow,
)
from nasforge.trial import Trial, TrialStatus

DEFAULT_STORAGE = "sqlite:///nasforge.db"
T = TypeVar("T")


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


def normalize_url(url: str | Path) -> str:
    """Accept a SQLAlchemy URL, or a plain file path meaning a SQLite file."""
    text = str(url)
    if "://" in text:
        return text
    return f"sqlite:///{text}"


@dataclass(frozen=True)
class ExperimentRecord:
    """An experiment as stored: its identity and how it was set up."""

    id: int
    name: str
    created_at: datetime
    seed: int
    objectives: dict[str, str]
    spec: dict[str, Any]
    versions: dict[str, str]


@dataclass(frozen=True)
class ArtifactRecord:
    """Something stored for a trial after the search (its bytes come from ``artifact_data``)."""

    id: int
    experiment_id: int
    trial_number: int | None
    kind: str
    seed: int | None
    metrics: dict[str, float]
    info: dict[str, Any]
    created_at: datetime
    size: int


class Storage:
    """Reads and writes experiments, trials and intermediate values.

    ``url`` is any SQLAlchemy URL (``sqlite:///runs.db``, ``postgresql+psycopg://...``) or a
    file path (a SQLite file); ``create=False`` refuses to create a missing SQLite file. SQLite
    runs in WAL mode with a busy timeout, so readers such as
    ``nasforge trials`` never block a running search; writes retry briefly when locked.
    ``read_only=True`` opens an existing store without writing anything (not even the schema
    check): what a dashboard or a report beside a running search should use.
    A store of an older schema is refused with a message naming ``nasforge storage upgrade``
    unless ``upgrade=True``, which upgrades it in place; a newer one is always refused.

    Example:
        >>> store = Storage("sqlite:///:memory:")
        >>> store.list_experiments()
        []
    """

    def __init__(
        self,
        url: str | Path = DEFAULT_STORAGE,
        create: bool = True,
        upgrade: bool = False,
        read_only: bool = False,
    ) -> None:
        self.url = normalize_url(url)
        self.read_only = read_only
        path = _sqlite_path(self.url)
        if (not create or read_only) and path and not Path(path).expanduser().exists():
            raise StorageError(f"no store at {self.url!r}: the file {path!r} does not exist")
        try:
            self.engine: Engine = _make_engine(self.url)
            version = self._stored_version()
            self._check_version(version, upgrade and not read_only)  # before anything is written
            if not read_only:
                Base.metadata.create_all(self.engine)
        except (ArgumentError, SQLAlchemyError, ImportError) as exc:
            raise StorageError(f"cannot open storage {self.url!r}: {_first_line(exc)}") from None
        self._session = sessionmaker(self.engine, expire_on_commit=False)
        self.upgraded_from: int | None = None
        if not read_only:
            self._stamp_or_upgrade()

    def __repr__(self) -> str:
        return f"Storage({self.url!r})"

    # ---- plumbing -----------------------------------------------------------------------------

    def _write(self, fn: Callable[[Session], T], attempts: int = 20) -> T:
        """Run ``fn`` in a transaction, retrying while another writer holds the lock."""
        if self.read_only:
            raise StorageError(f"storage {self.url!r} was opened read-only")
        for attempt in range(attempts):
            try:
                with self._session.begin() as session:
                    return fn(session)
            except OperationalError as exc:
                if "locked" not in str(exc).lower() or attempt == attempts - 1:
                    raise StorageError(f"storage {self.url!r}: {_first_line(exc)}") from None
                time.sleep(min(0.05 * 2**attempt, 2.0))
        raise AssertionError("unreachable")  # pragma: no cover

    def _read(self, fn: Callable[[Session], T]) -> T:
        with self._session() as session:
            return fn(session)

    def _stored_version(self) -> int | None:
        """The schema version the store records; ``None`` when it has no nasforge tables yet."""
        from sqlalchemy import inspect

        if not inspect(self.engine).has_table(MetaRow.__tablename__):
            return None
        with self.engine.connect() as conn:
            value = conn.execute(
                select(MetaRow.value).where(MetaRow.key == "schema_version")
            ).scalar_one_or_none()
        return None if value is None else int(value)

    def _check_version(self, version: int | None, upgrade: bool) -> None:
        """Refuse a store of a newer schema, an older one unless upgrading, and (read-only) a
        database that is not a nasforge store."""
        if version is None:
            if self.read_only:
                raise StorageError(f"{self.url!r} is not a nasforge store (no schema version)")
            return
        if version > SCHEMA_VERSION:
            raise StorageError(
                f"storage {self.url!r} has schema version {version}, written by a newer "
                f"nasforge; this one reads version {SCHEMA_VERSION}: upgrade nasforge"
            )
        if version < SCHEMA_VERSION and not upgrade:
            raise StorageError(
                f"storage {self.url!r} has schema version {version}, this nasforge uses "
                f"{SCHEMA_VERSION}; back it up, then run: nasforge storage upgrade "
                f"--storage {self.url}"
            )

    def _stamp_or_upgrade(self) -> None:
        """Record the schema version in a new store, or run the upgrade steps on an old one
        (``_check_version`` allowed it)."""
        from nasforge.storage.migrate import STEPS

        def stamp(session: Session) -> None:
            row = session.get(MetaRow, "schema_version")
            if row is None:
                session.add(MetaRow(key="schema_version", value=str(SCHEMA_VERSION)))
                return
            version = int(row.value)
            for step in range(version, SCHEMA_VERSION):
                STEPS[step](session.connection())
            if version < SCHEMA_VERSION:
                row.value = str(SCHEMA_VERSION)
                self.upgraded_from = version

        self._write(stamp)

    # ---- experiments --------------------------------------------------------------------------

    def create_experiment(
        self,
        name: str,
        seed: int,
        objectives: Mapping[str, str],
        spec: Mapping[str, Any],
        versions: Mapping[str, str] | None = None,
    ) -> ExperimentRecord:
        def create(session: Session) -> ExperimentRecord:
            if session.scalar(select(ExperimentRow).where(ExperimentRow.name == name)):
                raise StorageError(f"experiment {name!r} already exists in {self.url!r}")
            row = ExperimentRow(
                name=name,
                created_at=now(),
                seed=seed,
                objectives=dict(objectives),
                spec=dict(spec),
                versions=dict(versions or {}),
            )
            session.add(row)
            session.flush()
            return _experiment_record(row)

        return self._write(create)

    def find_experiment(self, name: str) -> ExperimentRecord | None:
        def find(session: Session) -> ExperimentRecord | None:
            row = session.scalar(select(ExperimentRow).where(ExperimentRow.name == name))
            return _experiment_record(row) if row else None

        return self._read(find)

    def get_experiment(self, name: str) -> ExperimentRecord:
        """The experiment called ``name``; the error lists the experiments that exist."""
        record = self.find_experiment(name)
        if record is None:
            names = [e.name for e in self.list_experiments()]
            known = ", ".join(repr(n) for n in names) if names else "none"
            raise StorageError(f"no experiment {name!r} in {self.url!r}; experiments: {known}")
        return record

    def list_experiments(self) -> list[ExperimentRecord]:
        def list_(session: Session) -> list[ExperimentRecord]:
            rows = session.scalars(select(ExperimentRow).order_by(ExperimentRow.id))
            return [_experiment_record(r) for r in rows]

        return self._read(list_)

    # ---- trials -------------------------------------------------------------------------------

    def trial_id(self, experiment_id: int, number: int) -> int:
        def find(session: Session) -> int:
            row_id = session.scalar(
                select(TrialRow.id).where(
                    TrialRow.experiment_id == experiment_id, TrialRow.number == number
                )
            )
            if row_id is None:
                raise StorageError(f"experiment id {experiment_id} has no trial {number}")
            return int(row_id)

        return self._read(find)

    def start_trial(
        self,
        experiment_id: int,
        number: int,
        arch: Arch,
        seed: int,
        ask_seq: int | None = None,
        retry_of: int | None = None,
        worker: str | None = None,
    ) -> int:
        """Store a new ``running`` trial and return its row id."""

        def start(session: Session) -> int:
            row = TrialRow(
                experiment_id=experiment_id,
                number=number,
                arch_key=arch.key,
                arch=arch.to_dict(),
                status=TrialStatus.RUNNING.value,
                seed=seed,
                metrics={},
                started_at=now(),
                worker=worker,
                retry_of=retry_of,
                ask_seq=ask_seq,
            )
            session.add(row)
            session.flush()
            return row.id

        return self._write(start)

    def report(self, trial_id: int, step: int, metrics: Mapping[str, float]) -> None:
        """Store an intermediate result; a repeated step replaces the earlier one."""

        def report_(session: Session) -> None:
            row = session.scalar(
                select(IntermediateRow).where(
                    IntermediateRow.trial_id == trial_id, IntermediateRow.step == step
                )
            )
            if row is None:
                session.add(IntermediateRow(trial_id=trial_id, step=step, metrics=_clean(metrics)))
            else:
                row.metrics = _clean(metrics)

        self._write(report_)

    def finish_trial(
        self,
        trial_id: int,
        status: TrialStatus,
        metrics: Mapping[str, float] | None = None,
        scores: Sequence[float] | None = None,
        error: str | None = None,
        tell_seq: int | None = None,
        worker: str | None = None,
    ) -> None:
        """Store how a trial ended (``worker``: where it ran, if not its driver)."""

        def finish(session: Session) -> None:
            row = session.get(TrialRow, trial_id)
            if row is None:  # pragma: no cover - ids come from start_trial
                raise StorageError(f"no trial with id {trial_id}")
            row.status = status.value
            row.metrics = _clean(metrics or {})
            row.scores = list(scores) if scores is not None else None
            row.error = error
            row.tell_seq = tell_seq
            if worker is not None:
                row.worker = worker
            row.finished_at = now()
            if row.started_at is not None:
                row.duration_s = (row.finished_at - row.started_at).total_seconds()

        self._write(finish)

    def heartbeat(self, trial_ids: Sequence[int]) -> None:
        """Note that the workers of these ``running`` trials are alive."""
        if not trial_ids:
            return

        def beat(session: Session) -> None:
            session.execute(
                update(TrialRow)
                .where(TrialRow.id.in_(list(trial_ids)))
                .where(TrialRow.status == TrialStatus.RUNNING.value)
                .values(heartbeat_at=now())
            )

        self._write(beat)

    def mark_interrupted(
        self,
        experiment_id: int,
        trial_ids: Sequence[int] | None = None,
        numbers: Sequence[int] | None = None,
        reason: str = "the process running this trial stopped before it finished",
    ) -> list[int]:
        """Mark ``running`` trials of the experiment ``interrupted``; return their numbers.

        All of them by default; only those with these row ids or trial numbers when given.
        """

        def mark(session: Session) -> list[int]:
            query = select(TrialRow).where(
                TrialRow.experiment_id == experiment_id,
                TrialRow.status == TrialStatus.RUNNING.value,
            )
            if trial_ids is not None:
                query = query.where(TrialRow.id.in_(list(trial_ids)))
            if numbers is not None:
                query = query.where(TrialRow.number.in_(list(numbers)))
            rows = session.scalars(query).all()
            for row in rows:
                row.status = TrialStatus.INTERRUPTED.value
                row.finished_at = now()
                row.error = reason
            return [r.number for r in rows]

        return self._write(mark)

    def running_trials(self, experiment_id: int) -> list[tuple[int, str | None, datetime | None]]:
        """``(number, worker, last heartbeat or start)`` of each ``running`` trial."""

        def load(session: Session) -> list[tuple[int, str | None, datetime | None]]:
            rows = session.execute(
                select(
                    TrialRow.number, TrialRow.worker, TrialRow.heartbeat_at, TrialRow.started_at
                ).where(
                    TrialRow.experiment_id == experiment_id,
                    TrialRow.status == TrialStatus.RUNNING.value,
                )
            ).all()
            return [(n, worker, beat or started) for n, worker, beat, started in rows]

        return self._read(load)

    # ---- artifacts ----------------------------------------------------------------------------

    def add_artifact(
        self,
        experiment_id: int,
        trial_number: int | None,
        kind: str,
        *,
        seed: int | None = None,
        metrics: Mapping[str, float] | None = None,
        info: Mapping[str, Any] | None = None,
        data: bytes | None = None,
    ) -> int:
        """Store something made from a trial (e.g. ``kind="retrain"``: weights and test
        accuracy of one seed); returns its id."""

        def add(session: Session) -> int:
            row = ArtifactRow(
                experiment_id=experiment_id,
                trial_number=trial_number,
                kind=kind,
                seed=seed,
                metrics=_clean(metrics or {}),
                info=dict(info or {}),
                data=data,
                created_at=now(),
            )
            session.add(row)
            session.flush()
            return row.id

        return self._write(add)

    def artifacts(
        self, experiment_id: int, trial_number: int | None = None, kind: str | None = None
    ) -> list[ArtifactRecord]:
        """Stored artifacts of the experiment (optionally of one trial / kind), oldest first."""
        from sqlalchemy import func

        def load(session: Session) -> list[ArtifactRecord]:
            query = select(
                ArtifactRow.id,
                ArtifactRow.experiment_id,
                ArtifactRow.trial_number,
                ArtifactRow.kind,
                ArtifactRow.seed,
                ArtifactRow.metrics,
                ArtifactRow.info,
                ArtifactRow.created_at,
                func.coalesce(func.length(ArtifactRow.data), 0),
            ).where(ArtifactRow.experiment_id == experiment_id)
            if trial_number is not None:
                query = query.where(ArtifactRow.trial_number == trial_number)
            if kind is not None:
                query = query.where(ArtifactRow.kind == kind)
            rows = session.execute(query.order_by(ArtifactRow.id)).all()
            return [
                ArtifactRecord(
                    r[0],
                    r[1],
                    r[2],
                    r[3],
                    r[4],
                    dict(r[5] or {}),
                    dict(r[6] or {}),
                    r[7],
                    int(r[8]),
                )
                for r in rows
            ]

        return self._read(load)

    def artifact_data(self, artifact_id: int) -> bytes:
        """The bytes stored with an artifact (empty if it has none)."""

        def load(session: Session) -> bytes:
            row = session.get(ArtifactRow, artifact_id)
            if row is None:
                raise StorageError(f"no artifact with id {artifact_id} in {self.url!r}")
            return bytes(row.data or b"")

        return self._read(load)

    def trials(self, experiment_id: int, intermediate: bool = True) -> list[Trial]:
        """Every trial of the experiment, by number."""

        def load(session: Session) -> list[Trial]:
            query = select(TrialRow).where(TrialRow.experiment_id == experiment_id)
            if intermediate:
                query = query.options(selectinload(TrialRow.intermediate))
            rows = session.scalars(query.order_by(TrialRow.number)).all()
            return [_trial(r, intermediate) for r in rows]

        return self._read(load)


def _sqlite_path(url: str) -> str | None:
    """The file of a SQLite URL; ``None`` for other databases and in-memory SQLite."""
    if not url.startswith("sqlite"):
        return None
    path = url.split("///", 1)[1] if "///" in url else ""
    return path if path and path != ":memory:" else None


def _make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        path = _sqlite_path(url)
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


def _first_line(exc: BaseException) -> str:
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _clean(metrics: Mapping[str, float]) -> dict[str, float | None]:
    """JSON has no NaN or infinity: store them as ``None``."""
    out: dict[str, float | None] = {}
    for k, v in metrics.items():
        value = float(v)
        out[str(k)] = value if math.isfinite(value) else None
    return out


def _experiment_record(row: ExperimentRow) -> ExperimentRecord:
    return ExperimentRecord(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        seed=row.seed,
        objectives=dict(row.objectives),
        spec=dict(row.spec),
        versions=dict(row.versions or {}),
    )


def _trial(row: TrialRow, intermediate: bool) -> Trial:
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
