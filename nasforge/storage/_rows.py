"""What the store's rows become: records checked on the way out, JSON-safe metrics.

A row another program (or a damaged file) filled with values nasforge never writes, such as
JSON that does not parse, an unknown status or a metric that is not a number, is reported as
that row (:class:`DamagedRowError`), never as a traceback from deep inside a conversion.
"""

from __future__ import annotations

import json
import math
import numbers
from collections.abc import Mapping
from datetime import datetime, timezone
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.orm import Session, selectinload

from nasforge.errors import StorageError, one_of
from nasforge.space import Arch
from nasforge.storage.models import ExperimentRow, TrialRow
from nasforge.storage.records import ExperimentRecord
from nasforge.trial import Trial, TrialStatus


def now() -> datetime:
    return datetime.now(timezone.utc).replace(tzinfo=None)


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


class DamagedRowError(ValueError):
    """A stored value nasforge never writes (the message names the field and the value)."""


def experiment_record(row: ExperimentRow) -> ExperimentRecord:
    return ExperimentRecord(
        id=row.id,
        name=row.name,
        created_at=row.created_at,
        seed=_integer(row.seed, "seed"),
        objectives=dict(_mapping(row.objectives, "objectives")),
        spec=dict(_mapping(row.spec, "spec")),
        versions=dict(_mapping(row.versions or {}, "versions")),
    )


def trial_record(row: TrialRow, intermediate: bool) -> Trial:
    """The :class:`Trial` of a row; :class:`DamagedRowError` (or the ``ValueError`` of JSON that
    does not parse) for a row holding what nasforge never writes."""
    arch = _mapping(row.arch, "arch")
    if not isinstance(arch.get("values"), Mapping) or not isinstance(arch.get("key"), str):
        raise DamagedRowError(f"arch is {_show(arch)}, not an architecture")
    try:
        status = TrialStatus(row.status)
    except ValueError:
        allowed = one_of(s.value for s in TrialStatus)
        raise DamagedRowError(f"status is {_show(row.status)}, not {allowed}") from None
    scores = row.scores
    if scores is not None and (
        not isinstance(scores, list) or not all(_is_number(s) for s in scores)
    ):
        raise DamagedRowError(f"scores is {_show(scores)}, not a list of numbers")
    curve = (
        {
            _integer(r.step, "step"): _numbers(r.metrics, f"step {r.step}", missing=None)
            for r in row.intermediate
        }
        if intermediate
        else {}
    )
    return Trial(
        number=_integer(row.number, "number"),
        arch=Arch.from_dict(arch),
        status=status,
        metrics=_numbers(row.metrics or {}, "metrics"),
        scores=tuple(scores) if scores is not None else None,
        intermediate=curve,
        seed=_integer(row.seed, "seed"),
        error=row.error,
        started_at=row.started_at,
        finished_at=row.finished_at,
        duration_s=row.duration_s,
        worker=row.worker,
        retry_of=row.retry_of,
        ask_seq=row.ask_seq,
        tell_seq=row.tell_seq,
    )


def load_trials(
    session: Session, experiment_id: int, intermediate: bool
) -> tuple[list[Trial], dict[int, str]]:
    """The experiment's trials by number, and what is wrong with each row that cannot be
    read (by trial number): a damaged row leaves out that trial, not the experiment."""
    query = select(TrialRow).where(TrialRow.experiment_id == experiment_id)
    if intermediate:
        query = query.options(selectinload(TrialRow.intermediate))
    try:
        rows = session.scalars(query.order_by(TrialRow.number)).all()
    except ValueError:  # JSON that does not parse fails the whole query: read row by row
        session.expunge_all()
        return _load_one_by_one(session, experiment_id, intermediate)
    trials: list[Trial] = []
    bad: dict[int, str] = {}
    for row in rows:
        try:
            trials.append(trial_record(row, intermediate))
        except (ValueError, TypeError, KeyError) as exc:
            bad[row.number] = problem(exc)
    return trials, bad


def left_out(bad: Mapping[int, str]) -> str:
    """``trials 3, 7 cannot be read and are left out (trial 3: why); ...``"""
    numbers = ", ".join(str(n) for n in bad)
    first = next(iter(bad))
    which, verb = ("trial", "is") if len(bad) == 1 else ("trials", "are")
    return (
        f"{which} {numbers} cannot be read and {verb} left out (trial {first}: {bad[first]}); "
        "the store is damaged"
    )


def _load_one_by_one(
    session: Session, experiment_id: int, intermediate: bool
) -> tuple[list[Trial], dict[int, str]]:
    ids = session.execute(
        select(TrialRow.id, TrialRow.number)
        .where(TrialRow.experiment_id == experiment_id)
        .order_by(TrialRow.number)
    ).all()
    trials: list[Trial] = []
    bad: dict[int, str] = {}
    for row_id, number in ids:
        query = select(TrialRow).where(TrialRow.id == row_id)
        if intermediate:
            query = query.options(selectinload(TrialRow.intermediate))
        try:
            trials.append(trial_record(session.scalars(query).one(), intermediate))
        except (ValueError, TypeError, KeyError) as exc:
            bad[number] = problem(exc)
            session.expunge_all()
    return trials, bad


def problem(exc: BaseException) -> str:
    """What is wrong with a stored value, in one line."""
    if isinstance(exc, json.JSONDecodeError):
        return f"a value is not valid JSON ({exc})"
    text = first_line(exc) if str(exc) else type(exc).__name__
    return text if isinstance(exc, DamagedRowError) else f"{type(exc).__name__}: {text}"


#: words of a database error that mean the store itself is damaged
DAMAGE = ("malformed", "not a database", "no such column", "no such table", "does not exist")


def failure(url: str, exc: BaseException, what: str = "storage") -> StorageError:
    """The one-line error of a database error or of a stored value that cannot be read."""
    if isinstance(exc, SQLAlchemyError):
        text = first_line(exc)
        damaged = any(word in text.lower() for word in DAMAGE)
    else:
        text, damaged = problem(exc), not isinstance(exc, ImportError)
    advice = "; the store is damaged: restore it from a backup" if damaged else ""
    return StorageError(f"{what} {url!r}: {text}{advice}")


def first_difference(
    record: ExperimentRecord, seed: int, objectives: Mapping[str, str], spec: Mapping[str, Any]
) -> tuple[str, Any, Any] | None:
    """``(key, stored value, this value)`` of the first setting (seed, objectives, a key of
    the spec) in which a stored experiment differs from these, else ``None``."""
    mine = _as_json({"seed": seed, "objectives": dict(objectives), **spec})
    stored = _as_json({"seed": record.seed, "objectives": record.objectives, **record.spec})
    for key in [*mine, *(k for k in stored if k not in mine)]:
        if mine.get(key) != stored.get(key):
            return key, stored.get(key), mine.get(key)
    return None


def _as_json(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` as it reads back from the store (tuples become lists, and so on)."""
    loaded: dict[str, Any] = json.loads(json.dumps(value, default=str))
    return loaded


def first_line(exc: BaseException) -> str:
    """The first line of an exception's message (of the database's, for a SQLAlchemy one)."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _integer(value: Any, field: str) -> int:
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise DamagedRowError(f"{field} is {_show(value)}, not a whole number")
    return int(value)


def _mapping(value: Any, field: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise DamagedRowError(f"{field} is {_show(value)}, not a JSON object")
    return value


def _numbers(value: Any, field: str, missing: float | None = math.nan) -> dict[str, Any]:
    """Metrics as stored, checked; ``None`` (how NaN and infinity are stored, see
    :func:`clean`) reads as ``missing``: NaN for a trial's metrics, ``None`` in a curve."""
    out: dict[str, Any] = {}
    for key, number in _mapping(value, field).items():
        if number is None:
            out[key] = missing
        elif _is_number(number):
            out[key] = number
        else:
            raise DamagedRowError(f"{field}[{key!r}] is {_show(number)}, not a number")
    return out
