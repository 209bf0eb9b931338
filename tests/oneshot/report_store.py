"""A store holding one one-shot experiment with an honesty report, and one plain experiment:
what the CLI's and the dashboard's report tests read."""

from __future__ import annotations

from pathlib import Path

import nasforge as nf
from nasforge.estimation import TrialContext
from nasforge.experiment.session import RunSession
from nasforge.oneshot import HonestyReport, honesty_report
from nasforge.storage import Storage

SPACE = nf.CellSpace(3, ["skip_connect", "conv", "none"])


def standalone(arch: nf.Arch, ctx: TrialContext) -> dict[str, float]:
    if arch.key.count("none") == 3:
        raise RuntimeError("no path from the input to the output")
    convs = arch.key.count("conv")
    return {"val_acc": 50.0 + 10 * convs, "test_acc": 49.0 + 10 * convs}


def store_with_report(db: Path) -> tuple[Storage, int, HonestyReport]:
    store = Storage(f"sqlite:///{db}")
    store.create_experiment("plain", 0, {"val_acc": "max"}, {"strategy": "random"})
    record = store.create_experiment("oneshot", 0, {"val_acc": "max"}, {"strategy": "darts"})
    session = RunSession(
        store,
        record.id,
        nf.Objectives.parse({"val_acc": "max"}),
        SPACE,
        nf.FunctionEvaluator(standalone),
    )
    estimates = [(a, 40.0 + 3 * a.key.count("conv")) for a in SPACE.enumerate()]
    report = honesty_report(
        session,
        "darts",
        SPACE.parse("|skip_connect~0|+|skip_connect~0|conv~1|"),
        estimates,
        4,
        {name: SPACE.ops for name in SPACE.edge_names},
        {"skip_connect", "none"},
        {"remedy": "none"},
        progress=False,
    )
    return store, record.id, report
