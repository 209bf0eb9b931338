"""Real backends for the execution tests: SQLite files, PostgreSQL, a Ray cluster on loopback.

PostgreSQL runs when ``NASFORGE_TEST_POSTGRES`` holds a URL (``.ci/run`` starts a server and
sets it); Ray runs when Ray is installed (the test extra has it): a session fixture starts a
cluster with ``ray start --head`` on 127.0.0.1 and stops it at the end.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

POSTGRES = os.environ.get("NASFORGE_TEST_POSTGRES")


@pytest.fixture(params=["sqlite", "postgres"])
def storage_url(request, tmp_path):
    """A store URL on each real backend (PostgreSQL skipped when no server is configured)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'store.db'}"
    if not POSTGRES:
        pytest.skip("NASFORGE_TEST_POSTGRES is not set (.ci/run starts a PostgreSQL server)")
    return POSTGRES


@pytest.fixture
def unique_name():
    """An experiment name no other test uses (a PostgreSQL database is shared)."""
    return f"exp-{uuid.uuid4().hex[:10]}"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.fixture(scope="session")
def ray_cluster(tmp_path_factory):
    """The address of a Ray cluster started with ``ray start --head`` on loopback."""
    pytest.importorskip("ray")
    ray_bin = Path(sys.executable).with_name("ray")
    if not ray_bin.exists():
        ray_bin = Path(shutil.which("ray") or "ray")
    port = _free_port()
    temp = tmp_path_factory.mktemp("ray")
    env = {**os.environ, "RAY_USAGE_STATS_ENABLED": "0", "RAY_AUTH_MODE": "disabled"}
    start = [
        str(ray_bin),
        "start",
        "--head",
        "--node-ip-address=127.0.0.1",
        f"--port={port}",
        "--num-cpus=4",
        "--num-gpus=0",
        "--include-dashboard=false",
        "--disable-usage-stats",
        f"--temp-dir={temp}",
    ]
    done = subprocess.run(start, env=env, capture_output=True, text=True, timeout=180)
    if done.returncode != 0:
        pytest.fail(f"ray start failed: {done.stderr[-2000:]}")
    os.environ["RAY_AUTH_MODE"] = "disabled"
    yield f"127.0.0.1:{port}"
    subprocess.run([str(ray_bin), "stop", "--force"], env=env, capture_output=True, timeout=120)
