"""``nasforge search`` checks everything before it touches the store, and failures are visible
without ``--json`` (issue 13). In-process through Typer's runner: quick, and a test may
register an evaluator for the command to find."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import torch
from typer.testing import CliRunner

import nasforge as nf
from nasforge.cli._render import first_line, most_common_error
from nasforge.cli.main import build_app
from nasforge.estimation import EVALUATORS, register_evaluator
from nasforge.trial import Trial, TrialStatus

CONFIG = """\
name: e
storage: sqlite:///{db}
space: {{name: nb201, options: {{n_cells: 1, channels: 4}}}}
strategy: random
evaluator: {evaluator}
budget: {{max_trials: 3}}
{extra}"""


def invoke(*args: str) -> Any:
    return CliRunner().invoke(build_app(), list(args))


def config(tmp_path: Path, evaluator: str = "tabular", extra: str = "") -> Path:
    path = tmp_path / "search.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "runs.db", evaluator=evaluator, extra=extra))
    return path


def one_line_error(result: Any, message: str) -> None:
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr
    assert message in lines[0], lines[0]


def absent_cuda_device() -> str:
    return f"cuda:{torch.cuda.device_count() if torch.cuda.is_available() else 0}"


@pytest.mark.parametrize(
    ("extra", "evaluator", "message"),
    [
        ("device: gpu\n", "tabular", "device: not a device; allowed: 'auto', 'cpu', 'cuda'"),
        (
            "execution: {heartbeat_s: 30, stale_after: 10}\n",
            "tabular",
            "execution: stale_after=10.0 must be larger than heartbeat_s=30.0",
        ),
        ("fidelity: {epochs: 13}\n", "tabular", "fidelity 'epochs' must be 12 or 200, got 13"),
        ("fidelity: {epoch: 1}\n", "tabular", "fidelity has unknown key 'epoch'"),
        (
            f"device: '{absent_cuda_device()}'\n",
            "{name: train, options: {dataset: digits, epochs: 1}}",
            f"device='{absent_cuda_device()}' but",
        ),
        (
            f"execution: {{executor: processes, devices: ['{absent_cuda_device()}']}}\n",
            "{name: train, options: {dataset: digits, epochs: 1}}",
            f"device='{absent_cuda_device()}' but",
        ),
        ("seed: -1\n", "tabular", "seed: Input should be greater than or equal to 0"),
        ("seed: 1\nseed: 2\n", "tabular", "line 8: duplicate key 'seed' (first on line 7)"),
    ],
)
def test_a_search_that_cannot_work_stores_nothing(
    tmp_path: Path, extra: str, evaluator: str, message: str
) -> None:
    one_line_error(invoke("search", str(config(tmp_path, evaluator, extra)), "--quiet"), message)
    assert not (tmp_path / "runs.db").exists()


@pytest.mark.parametrize(
    ("space", "evaluator", "message"),
    [
        (
            "{name: nb201, options: {n_cells: -1}}",
            "tabular",
            "space: nb201: n_cells=-1; allowed: an integer >= 1",
        ),
        (
            "nb201",
            "{name: train, options: {dataset: nope, epochs: 1}}",
            "evaluator: unknown dataset 'nope'; known: ",
        ),
        (
            "nb201",
            "{name: train, options: {dataset: digits, epochs: 0}}",
            "evaluator: epochs=0; allowed: an integer >= 1",
        ),
    ],
)
def test_an_option_a_component_refuses_names_the_file_and_the_part(
    tmp_path: Path, space: str, evaluator: str, message: str
) -> None:
    path = tmp_path / "search.yaml"
    text = CONFIG.format(db=tmp_path / "runs.db", evaluator=evaluator, extra="")
    path.write_text(text.replace("{name: nb201, options: {n_cells: 1, channels: 4}}", space))
    result = invoke("search", str(path), "--quiet")
    one_line_error(result, f"error: {path}: {message}")
    assert not (tmp_path / "runs.db").exists()


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (["--seed", "-1"], "--seed must be an integer from 0 to 2**63-1, got -1"),
        (["--seed", str(2**63)], f"--seed must be an integer from 0 to 2**63-1, got {2**63}"),
        (["--max-trials", "0"], "--max-trials must be an integer from 1 to 1,000,000, got 0"),
        (["--max-trials", "2000000"], "--max-trials must be an integer from 1 to 1,000,000"),
        (["--max-time", "0"], "--max-time must be a number of seconds > 0 and at most"),
        (["--max-time", "1e30"], "--max-time must be a number of seconds > 0 and at most"),
        (["--executor", "processes", "--devices", "gpu0"], "devices: 'gpu0' is not a device"),
    ],
)
def test_bad_options_are_refused_before_the_store_is_touched(
    tmp_path: Path, options: list[str], message: str
) -> None:
    one_line_error(invoke("search", str(config(tmp_path)), "--quiet", *options), message)
    assert not (tmp_path / "runs.db").exists()


def test_a_resume_with_bad_options_reads_nothing_first(tmp_path: Path) -> None:
    path = config(tmp_path)
    assert invoke("search", str(path), "--quiet").exit_code == 0
    result = invoke("search", str(path), "--quiet", "--max-trials", "5", "--max-time", "-1")
    one_line_error(result, "--max-time must be a number of seconds > 0")
    assert result.stdout == ""  # no "resuming experiment e (3 trials stored)"
    resumed = invoke("search", str(path), "--quiet", "--max-trials", "5")
    assert resumed.exit_code == 0 and "resuming experiment e (3 trials stored)" in resumed.stdout
    assert "5 trials (5 complete)" in resumed.stdout and "most common error" not in resumed.stdout


def no_gpu(arch: nf.Arch) -> dict[str, float]:
    raise RuntimeError("no GPU here, " + "and then some more words " * 4)


@pytest.fixture()
def failing_evaluator() -> Iterator[str]:
    register_evaluator("test-fails", lambda: nf.FunctionEvaluator(no_gpu, ("val_acc",)))
    yield "test-fails"
    EVALUATORS.unregister("test-fails")


def test_a_search_whose_trials_fail_names_the_most_common_error(
    tmp_path: Path, failing_evaluator: str
) -> None:
    result = invoke("search", str(config(tmp_path, failing_evaluator)), "--quiet")
    # the search loop may stop such a search early (SearchFailedError, exit status 2)
    assert result.exit_code in (0, 2), result.output
    found = re.search(
        r"(\d+) trials \(\1 failed\)\nmost common error, ended (\d+) of \2 failed trials: "
        r"RuntimeError: no GPU here, and then some more words",
        result.stdout,
    )
    assert found is not None, result.stdout


def test_a_search_stopped_by_its_failures_prints_what_was_tried_then_the_error(
    tmp_path: Path, failing_evaluator: str
) -> None:
    # every trial fails the same way: the loop stops the search (SearchFailedError)
    result = invoke("search", str(config(tmp_path, failing_evaluator)), "--quiet")
    one_line_error(result, "error: the first 3 trials all failed with the same error")
    assert "RuntimeError: no GPU here" in result.stderr
    assert "3 trials (3 failed)\nmost common error, ended 3 of 3 failed trials" in result.stdout


def mixed_store(tmp_path: Path) -> str:
    """A store with experiment ``mixed``: 6 trials, those with a convolution on the first edge
    failed."""

    def sometimes(arch: nf.Arch) -> dict[str, float]:
        if arch["edge_1_0"] == "conv":
            raise ValueError("[conv] is not allowed here; " + "x" * 100)
        return {"val_acc": 1.0}

    url = f"sqlite:///{tmp_path / 'mixed.db'}"
    space = nf.CellSpace(3, ["none", "skip_connect", "conv"])
    nf.Experiment(space, strategy="random", evaluator=sometimes, storage=url, name="mixed").run(
        max_trials=12, progress=False
    )
    return url


def test_trials_shows_the_first_line_of_each_failed_trials_error(tmp_path: Path) -> None:
    url = mixed_store(tmp_path)
    trials = nf.load_experiment("mixed", url).trials()
    failed = [t for t in trials if t.status == TrialStatus.FAILED]
    assert failed and len(failed) < len(trials)
    table = invoke("trials", "mixed", "--storage", url)
    assert table.exit_code == 0, table.output
    header = next(line for line in table.stdout.splitlines() if "status" in line)
    assert header.rstrip(" ┃").endswith("error")
    shown = first_line(failed[0].error, 60)
    assert shown.startswith("ValueError: [conv] is not allowed here; xxx") and shown.endswith("…")
    assert table.stdout.count(shown) == len(failed)  # markup-like brackets kept as they are
    rows = json.loads(invoke("trials", "mixed", "--storage", url, "--json").stdout)
    errors = {row["number"]: row["error"] for row in rows}
    for trial in trials:  # --json has the whole error: message and traceback
        assert errors[trial.number] == trial.error
    assert all("Traceback" in errors[t.number] for t in failed)


def test_trials_without_failures_has_no_error_column(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'fine.db'}"
    space = nf.CellSpace(3, ["none", "conv"])
    nf.Experiment(space, evaluator=lambda arch: {"val_acc": 1.0}, storage=url, name="fine").run(
        max_trials=3, progress=False
    )
    table = invoke("trials", "fine", "--storage", url)
    assert "error" not in table.stdout


def test_most_common_error_counts_first_lines_of_failed_trials() -> None:
    arch = nf.Arch({"x": 1})

    def trial(number: int, status: TrialStatus, error: str | None) -> Trial:
        return Trial(number, arch, status, error=error)

    trials = [
        trial(0, TrialStatus.FAILED, "OSError: disk full\nTraceback ..."),
        trial(1, TrialStatus.FAILED, "ValueError: bad\nTraceback (one)"),
        trial(2, TrialStatus.FAILED, "ValueError: bad\nTraceback (two)"),
        trial(3, TrialStatus.COMPLETE, None),
        trial(4, TrialStatus.INTERRUPTED, "interrupted"),
        trial(5, TrialStatus.FAILED, None),
    ]
    assert most_common_error(trials) == ("ValueError: bad", 2, 4)
    assert most_common_error(trials[3:5]) is None
    assert first_line("  \n") == "" and first_line(None) == ""
