"""A web dashboard on a store: ``nasforge dashboard`` or ``create_app(url)`` with any ASGI server.

Pages: ``/`` (the experiments) and ``/experiments/{name}`` (live progress, trial table, plots,
best cell; a clicked row opens that trial's cell, metrics, curves and traceback). JSON API:
``/api/experiments``, ``/api/experiments/{name}``,
``/api/experiments/{name}/trials[?status=&curves=]``, ``.../trials/{number}``, ``.../curves``,
``.../ops``, ``.../cell.svg[?trial=]``; OpenAPI docs at ``/api/docs``.
"""

from __future__ import annotations

from nasforge.viz.dashboard.app import create_app, plotly_js_path, serve

__all__ = ["create_app", "plotly_js_path", "serve"]
