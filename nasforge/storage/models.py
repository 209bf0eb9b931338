"""SQLAlchemy tables of the store: experiments, trials and their intermediate values."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

#: bump when the tables change, and add the step to ``nasforge.storage.migrate.STEPS``;
#: an older store is upgraded by ``nasforge storage upgrade``, a newer one is refused
SCHEMA_VERSION = 2


class Base(DeclarativeBase):
    pass


class MetaRow(Base):
    __tablename__ = "nasforge_meta"
    key: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)


class ExperimentRow(Base):
    __tablename__ = "experiments"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    name: Mapped[str] = mapped_column(String(255), unique=True, index=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
    seed: Mapped[int] = mapped_column(Integer)
    objectives: Mapped[dict] = mapped_column(JSON)
    spec: Mapped[dict] = mapped_column(JSON)
    versions: Mapped[dict] = mapped_column(JSON, default=dict)
    trials: Mapped[list[TrialRow]] = relationship(
        back_populates="experiment", cascade="all, delete-orphan", order_by="TrialRow.number"
    )


class TrialRow(Base):
    __tablename__ = "trials"
    __table_args__ = (UniqueConstraint("experiment_id", "number"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), index=True)
    number: Mapped[int] = mapped_column(Integer)
    arch_key: Mapped[str] = mapped_column(Text)
    arch: Mapped[dict] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16), index=True)
    seed: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    scores: Mapped[list | None] = mapped_column(JSON, nullable=True)
    error: Mapped[str | None] = mapped_column(Text, nullable=True)
    started_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)
    duration_s: Mapped[float | None] = mapped_column(Float, nullable=True)
    worker: Mapped[str | None] = mapped_column(String(255), nullable=True)
    retry_of: Mapped[int | None] = mapped_column(Integer, nullable=True)
    ask_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    tell_seq: Mapped[int | None] = mapped_column(Integer, nullable=True)
    heartbeat_at: Mapped[datetime | None] = mapped_column(DateTime, nullable=True)  # v2
    experiment: Mapped[ExperimentRow] = relationship(back_populates="trials")
    intermediate: Mapped[list[IntermediateRow]] = relationship(
        cascade="all, delete-orphan", order_by="IntermediateRow.step"
    )


class IntermediateRow(Base):
    __tablename__ = "intermediate_values"
    __table_args__ = (UniqueConstraint("trial_id", "step"),)
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    trial_id: Mapped[int] = mapped_column(ForeignKey("trials.id"), index=True)
    step: Mapped[int] = mapped_column(Integer)
    metrics: Mapped[dict] = mapped_column(JSON)


class ArtifactRow(Base):
    """Something made from a trial after the search (v2): e.g. retrained weights and scores."""

    __tablename__ = "artifacts"
    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id"), index=True)
    trial_number: Mapped[int | None] = mapped_column(Integer, nullable=True)
    kind: Mapped[str] = mapped_column(String(32), index=True)
    seed: Mapped[int | None] = mapped_column(Integer, nullable=True)
    metrics: Mapped[dict] = mapped_column(JSON, default=dict)
    info: Mapped[dict] = mapped_column(JSON, default=dict)
    data: Mapped[bytes | None] = mapped_column(LargeBinary, nullable=True)
    created_at: Mapped[datetime] = mapped_column(DateTime)
