"""One-shot (weight-sharing) search: methods that train one supernet instead of many networks.

They are not ask/tell strategies: a :class:`OneShotMethod` runs the whole search itself against
a session (:class:`SearchSession`), recording the archs it evaluates as trials and keeping a
checkpoint so that a killed search resumes. It is registered beside the strategies and chosen by
the same ``strategy:`` name in YAML, the CLI and ``Experiment``; the store, the plots, the
dashboard, retrain and export see its trials as any others.
"""

from __future__ import annotations

from nasforge.oneshot.base import OneShotMethod, SearchSession

__all__ = ["OneShotMethod", "SearchSession"]
