"""The frozen records the store hands out: an experiment's identity and a stored artifact."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


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
