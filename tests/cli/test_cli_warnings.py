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
strategy: regularized-evolution
evaluator: tabular
objectives: {{val_acc: max, params_m: min}}
budget: {{max_trials: 10}}
"""


def test_search_prints_a_single_objective_strategy_warning_in_one_line(tmp_path: Path) -> None:
    config = tmp_path / "two.yaml"
    config.write_text(TWO_OBJECTIVES.format(db=tmp_path / "runs.db"))
    done = subprocess.run(
        [sys.executable, "-m", "nasforge", "search", str(config), "--max-trials", "3", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.splitlines() == [
        "warning: strategy 'regularized-evolution' optimises one objective, the primary "
        "'val_acc'; 'params_m' are recorded and rank the Pareto front. To search the front use "
        "optuna:nsga2, optuna:tpe or random"
    ]
    assert "3 trials (3 complete)" in done.stdout


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
