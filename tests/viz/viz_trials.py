"""Hand-made trials with known values, and the evaluator of the tiny test searches."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from nasforge.estimation import TrialContext
from nasforge.space import Arch, Categorical, CellEdge, CellGraph, CellSpace, Space
from nasforge.trial import Trial, TrialStatus

#: ``make_experiment(name, trials, two_objectives=True, pruning=True, seed=0)`` (a fixture)
MakeExperiment = Callable[..., Any]

OPS = ["none", "skip_connect", "nor_conv_3x3", "avg_pool_3x3"]
SPACE = CellSpace(4, OPS)


def cell_metrics(arch: Arch, ctx: TrialContext) -> dict[str, float]:
    """acc grows with convolutions, params with convolutions and pools; a 3-step curve."""
    convs, pools = arch.key.count("conv"), arch.key.count("pool")
    acc = 10.0 * convs + arch.key.count("skip")
    for step in (1, 2, 3):
        ctx.report(step, {"acc": acc * step / 3})
    return {"acc": acc, "params": 2.0 * convs + pools}


def key(*ops: str) -> str:
    """The cell string of the six edge ops in order 0→1, 0→2, 1→2, 0→3, 1→3, 2→3."""
    a, b, c, d, e, f = ops
    return f"|{a}~0|+|{b}~0|{c}~1|+|{d}~0|{e}~1|{f}~2|"


def trial(
    number: int,
    status: str,
    value: float | None = None,
    arch: str | None = None,
    curve: dict[int, float] | None = None,
    second: float | None = None,
) -> Trial:
    """A stored-looking trial of metric ``acc`` (and ``params`` if ``second``), finishing
    ``10 * (number + 1)`` seconds after the first started."""
    metrics = {} if value is None else {"acc": value}
    if second is not None:
        metrics["params"] = second
    scores = None
    if status == "complete" and value is not None:
        scores = (value,) if second is None else (value, -second)
    start = datetime(2026, 1, 1) + timedelta(seconds=10 * number)
    return Trial(
        number=number,
        arch=SPACE.parse(arch or key(*["skip_connect"] * 6)),
        status=TrialStatus(status),
        metrics=metrics,
        scores=scores,
        intermediate={s: {"acc": v} for s, v in (curve or {}).items()},
        started_at=start,
        finished_at=start + timedelta(seconds=10),
        duration_s=10.0,
    )


class TwoCells(Space):
    """A normal and a reduction cell, each one edge 0 -> 1."""

    def __init__(self) -> None:
        super().__init__([Categorical("n", ["conv", "skip"]), Categorical("r", ["pool", "conv"])])

    def cell_templates(self) -> tuple[CellGraph, ...]:
        return tuple(
            CellGraph(name, 2, (0,), (1,), (CellEdge(0, 1, None, dim=dim, choices=choices),))
            for name, dim, choices in (
                ("normal", "n", ("conv", "skip")),
                ("reduce", "r", ("pool", "conv")),
            )
        )
