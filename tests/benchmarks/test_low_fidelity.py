from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_low_fidelity_quick_prints_one_json_object_last() -> None:
    done = subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "low_fidelity.py"), "--quick"],
        capture_output=True,
        text=True,
        timeout=120,
        cwd=ROOT,
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert list(result) == ["full", "train_fraction=0.25", "channels=4", "epochs=1", "n_archs"]
    assert result["n_archs"] == 2
    for name in ("train_fraction=0.25", "channels=4", "epochs=1"):
        assert result[name]["wall_s"] > 0
        assert 0 <= result[name]["test_acc"] <= 100
