"""The honesty report as plain text: what a run prints at its end and ``nasforge report`` shows."""

from __future__ import annotations

import json
import math
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover - typing only
    from nasforge.oneshot.report import HonestyReport


def format_report(report: HonestyReport) -> str:
    """A plain-text table of ``report``, readable in a terminal (no colour, no markup).

    One line per architecture trained alone (trial, role, the supernet's estimate, the
    standalone accuracies, the key), then the rank agreement, the operation histogram of the
    derived architecture and, when it collapsed, the warning.
    """
    metric, test = report.metric, report.test_metric
    lines = [
        f"Honesty report of {report.method}: the supernet's estimates against the "
        "architectures trained alone",
        f"derived architecture: {report.derived}",
    ]
    if report.settings:
        settings = ", ".join(f"{k}={_setting(v)}" for k, v in report.settings.items())
        lines.append(f"settings: {settings}")
    header = ["trial", "role", f"supernet {metric}", f"standalone {metric}", test, "arch"]
    table = [header]
    for row in report.rows:
        standalone = "failed" if row.error else _num(row.standalone_val_acc)
        table.append(
            [
                "-" if row.trial is None else str(row.trial),
                row.role,
                _num(row.supernet_val_acc),
                standalone,
                _num(row.standalone_test_acc),
                row.arch,
            ]
        )
    widths = [max(len(r[i]) for r in table) for i in range(len(header) - 1)]
    lines.append("")
    for cells in table:
        padded = [
            cell.ljust(width) if i == 1 else cell.rjust(width)
            for i, (cell, width) in enumerate(zip(cells, widths, strict=False))
        ]
        lines.append("  ".join([*padded, cells[-1]]))
    lines.append("")
    compared = report.n_compared
    if report.kendall_tau is None or report.spearman_rho is None:
        lines.append(
            f"rank agreement: not measurable ({compared} architectures with both values; it "
            "needs 3 and values that differ)"
        )
    else:
        p, chance = report.kendall_p, ""
        if p is not None:  # unrelated rankings give a tau this far from 0 with probability p
            chance = f" (p = {p:.2g}{'; within chance' if p >= 0.05 else ''})"
        lines.append(
            f"rank agreement over {compared} architectures: Kendall's tau "
            f"{report.kendall_tau:.3f}{chance}, Spearman's rho {report.spearman_rho:.3f}"
        )
    ops = ", ".join(f"{op} {n}" for op, n in report.histogram.items()) or "none"
    lines.append(
        f"operations of the derived architecture: {ops} "
        f"({report.parameter_free_share:.0%} parameter-free)"
    )
    if report.warning:
        lines.append(f"warning: {report.warning}")
    for row in report.rows:
        if row.error:
            lines.append(f"trial {row.trial} ({row.role}) failed: {row.error}")
    return "\n".join(lines)


def _num(value: float | None) -> str:
    if value is None or not math.isfinite(value):
        return "-"
    return f"{value:.2f}"


def _setting(value: object) -> str:
    return value if isinstance(value, str) else json.dumps(value)
