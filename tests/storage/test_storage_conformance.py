"""The storage conformance suite on every backend CI has: a SQLite file and PostgreSQL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nasforge.testing.storage import StorageConformance

POSTGRES = os.environ.get("NASFORGE_TEST_POSTGRES")


class TestSQLiteFile(StorageConformance):
    @pytest.fixture()
    def storage_url(self, tmp_path: Path) -> str:
        return f"sqlite:///{tmp_path / 'runs.db'}"


@pytest.mark.skipif(
    not POSTGRES, reason="NASFORGE_TEST_POSTGRES is not set (.ci/services.sh starts a server)"
)
class TestPostgreSQL(StorageConformance):
    @pytest.fixture()
    def storage_url(self) -> str:
        assert POSTGRES is not None
        return POSTGRES
