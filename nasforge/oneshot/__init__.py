"""One-shot (weight-sharing) search: methods that train one supernet instead of many networks.

They are not ask/tell strategies: a :class:`OneShotMethod` runs the whole search itself against
a session (:class:`SearchSession`), recording the archs it evaluates as trials and keeping a
checkpoint so that a killed search resumes. It is registered beside the strategies and chosen by
the same ``strategy:`` name in YAML, the CLI and ``Experiment``; the store, the plots, the
dashboard, retrain and export see its trials as any others. Every run ends with an
:class:`HonestyReport` (:func:`honesty_report`): archs trained alone against the supernet's
estimates, and a warning when the result collapsed onto parameter-free operations.
"""

from __future__ import annotations

from nasforge.oneshot.base import EPOCH_KIND, OneShotMethod, SearchSession
from nasforge.oneshot.report import (
    REPORT_KIND,
    HonestyReport,
    ReportRow,
    collapse_check,
    format_report,
    honesty_report,
    load_report,
    op_histogram,
    pick_for_report,
    rank_correlations,
    tau_p_value,
    train_alone,
)

__all__ = [
    "EPOCH_KIND",
    "REPORT_KIND",
    "HonestyReport",
    "OneShotMethod",
    "ReportRow",
    "SearchSession",
    "collapse_check",
    "format_report",
    "honesty_report",
    "load_report",
    "op_histogram",
    "pick_for_report",
    "rank_correlations",
    "tau_p_value",
    "train_alone",
]
