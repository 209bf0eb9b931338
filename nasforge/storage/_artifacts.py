"""Artifacts: what is made from a trial after the search (retrained weights, checkpoints)."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any, TypeVar

from sqlalchemy import select
from sqlalchemy.orm import Session

from nasforge.errors import StorageError
from nasforge.storage._rows import clean, now
from nasforge.storage.models import ArtifactRow
from nasforge.storage.records import ArtifactRecord

T = TypeVar("T")


class ArtifactStore:
    """The artifact half of :class:`~nasforge.storage.Storage` (which provides the transactions)."""

    url: str

    def _write(self, fn: Callable[[Session], T], attempts: int = 20) -> T:
        raise NotImplementedError  # pragma: no cover - provided by Storage

    def _read(self, fn: Callable[[Session], T]) -> T:
        raise NotImplementedError  # pragma: no cover - provided by Storage

    # ---- artifacts -----------------------------------------------------------------------------

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
                metrics=clean(metrics or {}),
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

    def count_artifacts(self, experiment_id: int, kind: str | None = None) -> int:
        """How many artifacts the experiment has (optionally of one kind), read without their
        JSON or bytes: cheap enough for a page that polls."""
        from sqlalchemy import func

        def count(session: Session) -> int:
            query = select(func.count(ArtifactRow.id)).where(
                ArtifactRow.experiment_id == experiment_id
            )
            if kind is not None:
                query = query.where(ArtifactRow.kind == kind)
            return int(session.execute(query).scalar_one())

        return self._read(count)

    def delete_artifacts(self, experiment_id: int, kind: str, keep: Sequence[int] = ()) -> int:
        """Delete the experiment's artifacts of ``kind`` except the ids in ``keep``; returns
        how many were deleted (e.g. the checkpoints older than the newest)."""

        def delete(session: Session) -> int:
            rows = session.scalars(
                select(ArtifactRow).where(
                    ArtifactRow.experiment_id == experiment_id, ArtifactRow.kind == kind
                )
            ).all()
            gone = [row for row in rows if row.id not in set(keep)]
            for row in gone:
                session.delete(row)
            return len(gone)

        return self._write(delete)

    def artifact_data(self, artifact_id: int) -> bytes:
        """The bytes stored with an artifact (empty if it has none)."""

        def load(session: Session) -> bytes:
            row = session.get(ArtifactRow, artifact_id)
            if row is None:
                raise StorageError(f"no artifact with id {artifact_id} in {self.url!r}")
            return bytes(row.data or b"")

        return self._read(load)
