"""The benchmark scripts' smoke tests run each script as a user would, in a subprocess."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

RunBenchmark = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def run_benchmark() -> RunBenchmark:
    """``run_benchmark("zero_cost.py", "--quick", timeout=600)``: run ``benchmarks/<script>``
    from the repository root and return the finished process (stdout and stderr as text)."""

    def run(script: str, *args: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, str(ROOT / "benchmarks" / script), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            cwd=ROOT,
        )

    return run
