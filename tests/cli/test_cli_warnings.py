"""A NasforgeWarning is one ``warning: ...`` line on stderr; other warnings keep their format."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from nasforge.cli._common import user_errors
from nasforge.errors import NasforgeWarning

TWO_OBJECTIVES = """\
name: two
seed: 0
storage: sqlite:///{db}
space: nb201
strategy: {strategy}
scheduler: {{name: median, options: {{max_step: 12}}}}
evaluator: tabular
objectives: {{val_acc: max, params_m: min}}
budget: {{max_trials: 10}}
"""


def _search(tmp_path: Path, strategy: str) -> subprocess.CompletedProcess[str]:
    config = tmp_path / "two.yaml"
    config.write_text(TWO_OBJECTIVES.format(db=tmp_path / "runs.db", strategy=strategy))
    return subprocess.run(
        [sys.executable, "-m", "nasforge", "search", str(config), "--max-trials", "3", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )


def test_search_prints_a_single_objective_scheduler_warning_in_one_line(tmp_path: Path) -> None:
    done = _search(tmp_path, "random")
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: scheduler 'median' stops trials by the primary objective 'val_acc' alone; "
        "'moasha' judges every objective"
    ]
    assert "3 trials (3 complete)" in done.stdout


def test_search_refuses_a_single_objective_strategy_on_two_objectives(tmp_path: Path) -> None:
    done = _search(tmp_path, "regularized-evolution")
    assert done.returncode == 2
    config = tmp_path / "two.yaml"
    assert done.stderr.splitlines() == [
        f"error: {config}: strategy 'regularized-evolution' optimises one objective and cannot "
        "search several ('val_acc' (max), 'params_m' (min)); use random, mo-regularized-evolution, "
        "dpp-net, optuna:tpe, optuna:gp, optuna:nsga2, optuna:nsga3, optuna:random or reinforce "
        "with a reward option, or keep one objective"
    ]
    assert not (tmp_path / "runs.db").exists()  # refused before anything was stored


def test_only_nasforge_warnings_change_format(capsys: pytest.CaptureFixture[str]) -> None:
    @user_errors
    def command() -> str:
        warnings.warn("mind the [primary] objective " + "x" * 100, NasforgeWarning, stacklevel=1)
        warnings.warn("something else", UserWarning, stacklevel=1)
        return "done"

    with pytest.warns(UserWarning, match="something else") as caught:
        assert command() == "done"
    # the NasforgeWarning went to stderr in one line (no Rich markup, no wrapping), not to
    # Python's warning machinery; the other warning did
    assert [w.category for w in caught] == [UserWarning]
    assert capsys.readouterr().err == f"warning: mind the [primary] objective {'x' * 100}\n"
    # the CLI's warning display is gone again once the command returned
    with pytest.warns(NasforgeWarning):
        warnings.warn("outside a command", NasforgeWarning, stacklevel=1)
