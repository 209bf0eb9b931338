"""Where experiments live: SQLAlchemy tables, a SQLite file by default."""

from __future__ import annotations

from nasforge.storage.models import SCHEMA_VERSION
from nasforge.storage.records import ArtifactRecord, ExperimentRecord
from nasforge.storage.store import DEFAULT_STORAGE, Storage, normalize_url

__all__ = [
    "DEFAULT_STORAGE",
    "SCHEMA_VERSION",
    "ArtifactRecord",
    "ExperimentRecord",
    "Storage",
    "normalize_url",
]
