"""The command line end to end, in real subprocesses: search, kill, resume, trials, best."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from nasforge.testing.faults import trial_statuses

CONFIG = """\
name: e2e
seed: 0
storage: sqlite:///{db}
space: {{name: nb201, options: {{n_cells: 1, channels: 4}}}}
strategy: {{name: regularized-evolution, options: {{population_size: 3, sample_size: 2}}}}
evaluator: {{name: train, options: {{dataset: digits, epochs: 2, batch_size: 64, threads: 1}}}}
objectives: {{val_acc: max}}
budget: {{max_trials: 7}}
"""


def nasforge(*args: str, cwd: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    proc = subprocess.run(
        [sys.executable, "-m", "nasforge", *args], cwd=cwd, capture_output=True, text=True
    )
    if check and proc.returncode != 0:
        raise AssertionError(
            f"nasforge {' '.join(args)} failed ({proc.returncode}):\n{proc.stderr}"
        )
    return proc


def start_and_stop(tmp_path: Path, sig: int) -> tuple[int, str]:
    """Start a search, send ``sig`` once two trials finished and the third is running.

    Returns the exit status and what the process wrote on stderr.
    """
    proc = subprocess.Popen(
        [sys.executable, "-m", "nasforge", "search", "search.yaml", "--quiet"],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    db = tmp_path / "runs.db"
    while proc.poll() is None:
        s = trial_statuses(db)
        if s.count("complete") >= 2 and s and s[-1] == "running":
            proc.send_signal(sig)
            break
        time.sleep(0.02)
    _, stderr = proc.communicate(timeout=120)
    return proc.returncode, stderr


@pytest.fixture
def workdir(tmp_path: Path) -> Path:
    (tmp_path / "search.yaml").write_text(CONFIG.format(db=tmp_path / "runs.db"))
    return tmp_path


def test_search_killed_and_resumed_loses_nothing(workdir: Path) -> None:
    returncode, _ = start_and_stop(workdir, signal.SIGKILL)
    assert returncode == -signal.SIGKILL
    db_url = f"sqlite:///{workdir / 'runs.db'}"
    before = json.loads(
        nasforge("trials", "e2e", "--storage", db_url, "--json", cwd=workdir).stdout
    )
    assert before[-1]["status"] == "running"
    finished_before = {t["number"]: t for t in before if t["status"] == "complete"}
    assert len(finished_before) >= 2

    out = nasforge("search", "search.yaml", "--quiet", cwd=workdir)
    assert "resuming experiment e2e" in out.stdout
    assert "best 5 trials" in out.stdout and "runs.db" in out.stdout

    after = json.loads(nasforge("trials", "e2e", "--storage", db_url, "--json", cwd=workdir).stdout)
    killed = before[-1]["number"]
    assert after[killed]["status"] == "interrupted"
    retries = [t for t in after if t["retry_of"] == killed]
    assert len(retries) == 1 and retries[0]["arch"] == after[killed]["arch"]
    for number, trial in finished_before.items():  # nothing finished was lost or redone
        assert after[number] == trial
    finished = [t for t in after if t["status"] in ("complete", "failed", "pruned")]
    assert len(finished) == 7
    assert len({t["arch"] for t in finished}) == 7

    best = json.loads(nasforge("best", "e2e", "--storage", db_url, "--json", cwd=workdir).stdout)
    assert best["metrics"]["val_acc"] == max(t["metrics"]["val_acc"] for t in finished)
    assert {"number", "arch", "metrics"} <= set(best)
    assert best["arch"].startswith("|") and best["metrics"]["val_acc"] > 20  # well above chance

    again = nasforge("search", "search.yaml", "--quiet", cwd=workdir)  # budget already spent
    assert again.returncode == 0
    assert len(
        json.loads(nasforge("trials", "e2e", "--storage", db_url, "--json", cwd=workdir).stdout)
    ) == len(after)


def test_ctrl_c_stops_with_a_message_and_the_search_resumes(workdir: Path) -> None:
    returncode, stderr = start_and_stop(workdir, signal.SIGINT)
    assert returncode == 130, stderr
    assert "run the same command again to resume" in stderr
    assert "Traceback" not in stderr
    nasforge("search", "search.yaml", "--quiet", cwd=workdir)
    s = trial_statuses(workdir / "runs.db")
    assert s.count("interrupted") == 1 and s.count("complete") + s.count("failed") == 7


def test_user_errors_are_one_line_with_status_2(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("space: nb201\nstrategy: {name: regularized-evolution, options: {pop: 3}}\n")
    cases = [
        (
            ["search", str(bad)],
            "strategy.options.pop: unknown key; allowed: population_size, sample_size",
        ),
        (["search", str(tmp_path / "none.yaml")], "cannot read config"),
        (["best", "nope", "--storage", str(tmp_path / "none.db")], "no store at"),
        (
            ["bench", "nb201", "--strategy", "nope", "--queries", "5", "--repeats", "1"],
            "unknown strategy 'nope'",
        ),
        (
            ["bench", "nb201", "--strategy", "random", "--queries", "x", "--repeats", "1"],
            "--queries",
        ),
        (
            [
                "bench",
                "nb201",
                "--strategy",
                "random",
                "--table",
                str(tmp_path / "t.csv"),
                "--repeats",
                "1",
            ],
            "t.csv",
        ),
    ]
    for args, message in cases:
        proc = nasforge(*args, cwd=tmp_path, check=False)
        assert proc.returncode == 2, (args, proc.stderr)
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and message in lines[0], (args, proc.stderr)


def test_listing_and_bench_json(tmp_path: Path) -> None:
    spaces = nasforge("spaces", cwd=tmp_path).stdout
    assert "nb201" in spaces
    strategies = nasforge("strategies", cwd=tmp_path).stdout
    assert "random" in strategies and "regularized-evolution" in strategies
    out = nasforge(
        "bench",
        "nb201",
        "--strategy",
        "random,regularized-evolution",
        "--queries",
        "10,20",
        "--repeats",
        "2",
        "--json",
        cwd=tmp_path,
    ).stdout
    result = json.loads(out.strip().splitlines()[-1])
    assert set(result) == {"random", "regularized-evolution"}
    for row in result.values():
        assert set(row) == {"10", "20"}
        assert all(cell["runs"] == 2 and 0 < cell["mean"] < 100 for cell in row.values())
