"""Where experiments live: SQLAlchemy tables, a SQLite file by default."""

from __future__ import annotations

from nasforge.storage._engine import is_in_memory, normalize_url, refuse_in_memory
from nasforge.storage.models import SCHEMA_VERSION
from nasforge.storage.records import ArtifactRecord, ExperimentRecord
from nasforge.storage.store import DEFAULT_STORAGE, Storage

__all__ = [
    "DEFAULT_STORAGE",
    "SCHEMA_VERSION",
    "ArtifactRecord",
    "ExperimentRecord",
    "Storage",
    "is_in_memory",
    "normalize_url",
    "refuse_in_memory",
]
