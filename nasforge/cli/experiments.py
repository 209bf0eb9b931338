"""``nasforge experiments``: the experiments a store holds, one row each."""

from __future__ import annotations

import json
from typing import Any

import typer
from rich.table import Table
from rich.text import Text

from nasforge.cli._common import JsonOpt, StorageOpt, stdout_console
from nasforge.cli._render import format_column
from nasforge.errors import counted
from nasforge.storage import DEFAULT_STORAGE
from nasforge.trial import TrialStatus


def experiments(storage: StorageOpt = DEFAULT_STORAGE, json_: JsonOpt = False) -> None:
    """The store's experiments: name, strategy, objectives, trials by status, best value."""
    from nasforge.experiment import StoredExperiment
    from nasforge.storage import Storage

    store = Storage(storage, read_only=True)
    rows: list[dict[str, Any]] = []
    for record in store.list_experiments():
        exp = StoredExperiment(record, store)
        best = exp.best()
        primary = exp.objectives.primary
        rows.append(
            {
                "name": record.name,
                "strategy": str(record.spec.get("strategy") or "") or None,
                "objectives": dict(record.objectives),
                "trials": store.trial_stats(record.id).counts,
                "best": None
                if best is None
                else {"number": best.number, "metric": primary, "value": best.metrics[primary]},
                "created_at": record.created_at.isoformat(timespec="seconds"),
            }
        )
    if json_:
        typer.echo(json.dumps(rows))
        return
    console = stdout_console()
    if not rows:
        console.print(Text(f"no experiments in {store.url}"), soft_wrap=True)
        return
    _print_experiments(console, rows)


def _counts(counts: dict[str, int]) -> str:
    """``12 (10 complete, 2 failed)``: the total, then each status that has a trial."""
    parts = [f"{counts[s.value]} {s.value}" for s in TrialStatus if counts.get(s.value)]
    total = sum(counts.values())
    return f"{total} ({', '.join(parts)})" if parts else "0"


def _print_experiments(console: Any, rows: list[dict[str, Any]]) -> None:
    table = Table(title=counted(len(rows), "experiment"))
    for name in ("name", "strategy", "objectives", "trials"):
        table.add_column(name, overflow="fold")
    table.add_column("best", justify="right")
    table.add_column("#", justify="right")
    table.add_column("created")
    bests = format_column([r["best"]["value"] if r["best"] else None for r in rows])
    for row, best in zip(rows, bests, strict=True):
        objectives = ", ".join(f"{k} ({d})" for k, d in row["objectives"].items())
        table.add_row(
            Text(row["name"]),
            row["strategy"] or "-",
            objectives,
            _counts(row["trials"]),
            best,
            str(row["best"]["number"]) if row["best"] else "-",
            row["created_at"].replace("T", " "),
        )
    console.print(table)
