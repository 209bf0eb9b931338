"""A web dashboard on a store: ``nasforge dashboard`` or ``create_app(url)`` with any ASGI server.

Pages: ``/`` (the experiments) and ``/experiments/{name}`` (live progress, trial table, plots,
best cell; a clicked row opens that trial's cell, metrics, curves and traceback). JSON API:
``/api/experiments``, ``/api/experiments/{name}`` (counts, best, revision),
``.../history[?since=]``, ``.../pareto``,
``.../trials[?status=&sort=&order=&offset=&limit=&curves=]``, ``.../trials/{number}``,
``.../curves[?limit=]``, ``.../ops``, ``.../cell.svg[?trial=]``; OpenAPI docs at ``/api/docs``.
Each view reads only what it shows, so it answers as fast at 20,000 trials as at 100. A name
with ``/`` is addressed with ``%2F``. Requests must address an allowed host name
(``allowed_hosts``; ``nasforge dashboard --allow-host NAME``)."""

from __future__ import annotations

from nasforge.viz.dashboard.app import create_app, plotly_js_path, serve

__all__ = ["create_app", "plotly_js_path", "serve"]
