"""The package facade imports its public names on first use, and the ``nasforge`` command takes
Ctrl-C from its first instant: one ``interrupted:`` line and exit status 130, never a trace."""

from __future__ import annotations

import builtins
import importlib
import subprocess
import sys
from typing import Any

import pytest
import typer

import nasforge
from nasforge import _entry
from nasforge.cli._common import user_errors


def test_importing_the_package_imports_no_layer_and_no_third_party_package() -> None:
    code = (
        "import sys, nasforge\n"
        "heavy = [m for m in ('nasforge.experiment', 'nasforge.storage', 'nasforge.estimation',"
        " 'nasforge.cli', 'numpy', 'sqlalchemy', 'rich', 'typer', 'torch') if m in sys.modules]\n"
        "print(heavy)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


@pytest.mark.parametrize("name", sorted(set(nasforge.__all__) - {"__version__"}))
def test_every_public_name_is_its_modules_object(name: str) -> None:
    module = nasforge._HOME.get(name)
    value = getattr(nasforge, name)
    if module is not None:
        assert value is getattr(importlib.import_module(module), name)
    assert name in dir(nasforge)


def test_submodules_are_reachable_as_attributes_and_unknown_names_are_not() -> None:
    code = "import nasforge\nprint(nasforge.viz.__name__, nasforge.bench.__name__)"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["nasforge.viz", "nasforge.bench"]
    with pytest.raises(AttributeError, match="has no attribute 'nothing_here'"):
        _ = nasforge.nothing_here  # type: ignore[attr-defined]
    with pytest.raises(AttributeError):
        _ = nasforge._private  # type: ignore[attr-defined]


def test_a_ctrl_c_while_the_command_line_loads_is_one_line_and_status_130(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    real_import = builtins.__import__

    def interrupted(name: str, *args: Any, **kwargs: Any) -> Any:
        if name == "nasforge.cli":
            raise KeyboardInterrupt  # as when SIGINT lands while Typer, Rich, ... import
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", interrupted)
    with pytest.raises(SystemExit) as stopped:
        _entry.main()
    assert stopped.value.code == 130
    err = capsys.readouterr().err
    assert err == "interrupted: stopped while starting; nothing was run or stored\n"


def test_a_ctrl_c_a_command_does_not_handle_is_one_line_and_status_130(
    capsys: pytest.CaptureFixture[str],
) -> None:
    def command() -> None:
        raise KeyboardInterrupt

    with pytest.raises(typer.Exit) as stopped:
        user_errors(command)()
    assert stopped.value.exit_code == 130
    assert capsys.readouterr().err == "interrupted: stopped before the command finished\n"


def test_python_dash_m_and_the_console_script_run_the_same_entry_point() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "nasforge", "--version"], capture_output=True, text=True, check=True
    )
    assert done.stdout.startswith("nasforge ")
