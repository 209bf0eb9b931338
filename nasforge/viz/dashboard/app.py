"""The dashboard's FastAPI app: two HTML pages, their static files and a JSON API under /api/.

The store is opened once, read-only (``Storage(read_only=True)`` writes nothing; SQLite in WAL
mode: a reader never blocks the search that writes), and every request reads afresh, so the
pages follow a running search.
Plotly's JavaScript is served from the installed ``plotly`` Python package (no CDN).
"""

from __future__ import annotations

import html
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError, NasforgeError
from nasforge.storage import ExperimentRecord, Storage, normalize_url
from nasforge.trial import Trial, TrialStatus
from nasforge.viz.cell import cell_svg
from nasforge.viz.dashboard import payloads

if TYPE_CHECKING:
    from fastapi import FastAPI

STATIC = Path(__file__).resolve().parent / "static"


class _NotFoundError(Exception):
    """A name or number the store lacks; rendered as a 404 JSON body."""

    def __init__(self, detail: str, **known: Any) -> None:
        super().__init__(detail)
        self.detail, self.known = detail, known


def plotly_js_path() -> Path | None:
    """``plotly.min.js`` inside the installed ``plotly`` package, if there is one."""
    try:
        path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def create_app(storage: str | Path | Storage) -> FastAPI:
    """The dashboard for the store at ``storage`` (a URL, a SQLite file or a ``Storage``).

    Raises :class:`~nasforge.errors.StorageError` if the store does not exist or cannot be read.

    An in-memory SQLite store is refused: each thread serving a request would see its own,
    empty database.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from fastapi.testclient import TestClient
        >>> path = Path(tempfile.mkdtemp()) / "runs.db"
        >>> _ = Storage(path)  # an empty store
        >>> TestClient(create_app(path)).get("/api/experiments").json()
        []
    """
    from fastapi import FastAPI, Query, Request
    from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
    from fastapi.staticfiles import StaticFiles

    url = storage.url if isinstance(storage, Storage) else normalize_url(storage)
    if url.startswith("sqlite") and (":memory:" in url or url == "sqlite://"):
        raise ConfigError(
            f"storage: the dashboard cannot read an in-memory store ({url!r}); "
            "give a SQLite file or a database server URL"
        )
    store = storage if isinstance(storage, Storage) else Storage(storage, read_only=True)
    app = FastAPI(title="nasforge dashboard", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.storage = store

    def experiment(name: str) -> ExperimentRecord:
        record = store.find_experiment(name)
        if record is None:
            names = [e.name for e in store.list_experiments()]
            known = ", ".join(repr(n) for n in names) or "none"
            raise _NotFoundError(f"no experiment {name!r}; experiments: {known}", experiments=names)
        return record

    def trials_of(record: ExperimentRecord, intermediate: bool = True) -> list[Trial]:
        return store.trials(record.id, intermediate=intermediate)

    @app.exception_handler(_NotFoundError)
    def not_found(_request: Request, exc: _NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, **exc.known}, status_code=404)

    @app.exception_handler(NasforgeError)
    def user_error(_request: Request, exc: NasforgeError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    # ---- pages --------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/experiments/{name}", response_class=HTMLResponse, include_in_schema=False)
    def experiment_page(name: str) -> HTMLResponse:
        try:
            experiment(name)
        except _NotFoundError as exc:
            links = "".join(
                f'<li><a href="/experiments/{html.escape(n)}">{html.escape(n)}</a></li>'
                for n in exc.known["experiments"]
            )
            body = (
                f"<!doctype html><title>not found</title><link rel=stylesheet "
                f'href="/static/style.css"><main><h1>{html.escape(exc.detail)}</h1>'
                f'<ul>{links}</ul><p><a href="/">all experiments</a></p></main>'
            )
            return HTMLResponse(body, status_code=404)
        return HTMLResponse((STATIC / "experiment.html").read_text(encoding="utf-8"))

    @app.get("/vendor/plotly.min.js", include_in_schema=False)
    def plotly_js() -> Response:
        path = plotly_js_path()
        if path is None:
            return Response("// plotly is not installed", status_code=404)
        return FileResponse(path, media_type="text/javascript")

    @app.get("/favicon.ico", include_in_schema=False)
    def favicon() -> Response:
        return Response(status_code=204)

    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    # ---- JSON API ----------------------------------------------------------------------------

    @app.get("/api/experiments")
    def list_experiments() -> list[dict[str, Any]]:
        """Every experiment: name, creation time, objectives, trial counts and best trial."""
        return [
            payloads.experiment_row(r, trials_of(r, intermediate=False))
            for r in store.list_experiments()
        ]

    @app.get("/api/experiments/{name}")
    def get_experiment(name: str) -> dict[str, Any]:
        """Counts, best trial, history series, Pareto front and the best cell as SVG."""
        record = experiment(name)
        return payloads.experiment_summary(
            record, trials_of(record), payloads.space_of(record, store)
        )

    @app.get("/api/experiments/{name}/trials")
    def list_trials(
        name: str,
        status: str | None = Query(None, description="only trials with this status"),
        curves: bool = Query(False, description="include intermediate values"),
    ) -> list[dict[str, Any]]:
        """The trials by number, optionally of one status."""
        record = experiment(name)
        if status is not None and status not in {s.value for s in TrialStatus}:
            allowed = ", ".join(s.value for s in TrialStatus)
            raise ConfigError(f"status: unknown status {status!r}; allowed: {allowed}")
        metric = next(iter(record.objectives))
        return [
            payloads.trial_table_row(t, metric, curve=curves)
            for t in trials_of(record, intermediate=curves)
            if status is None or t.status.value == status
        ]

    @app.get("/api/experiments/{name}/trials/{number}")
    def get_trial(name: str, number: int) -> dict[str, Any]:
        """One trial with its intermediate values and, if it failed, its whole traceback."""
        record = experiment(name)
        metric = next(iter(record.objectives))
        trial = _trial(trials_of(record), number, name)
        return {**payloads.trial_table_row(trial, metric, curve=True), "traceback": trial.error}

    @app.get("/api/experiments/{name}/curves")
    def get_curves(name: str, metric: str | None = None) -> dict[str, Any]:
        """The learning curve (intermediate values of ``metric``) of every trial."""
        record = experiment(name)
        return payloads.curves_json(record, trials_of(record), metric)  # type: ignore[no-any-return]

    @app.get("/api/experiments/{name}/ops")
    def get_ops(name: str, top_k: int = Query(10, ge=1)) -> dict[str, Any]:
        """How often the ``top_k`` best trials pick each operation on each edge."""
        record = experiment(name)
        trials = trials_of(record, intermediate=False)
        return payloads.ops_json(record, trials, top_k, payloads.space_of(record, store))

    @app.get("/api/experiments/{name}/cell.svg", response_class=Response)
    def get_cell(name: str, trial: int | None = None) -> Response:
        """The cell of the best trial (or of ``trial``) as SVG."""
        record = experiment(name)
        trials = trials_of(record, intermediate=False)
        if trial is None:
            best = payloads.best_json(payloads.source_of(record, trials))
            if best is None:
                raise _NotFoundError(f"experiment {name!r} has no complete trial yet")
            arch, number = best["arch"], best["number"]
        else:
            arch, number = _trial(trials, trial, name).arch, trial
        svg = cell_svg(arch, title=f"trial {number}", space=payloads.space_of(record, store))
        return Response(svg, media_type="image/svg+xml")

    return app


def _trial(trials: list[Trial], number: int, name: str) -> Trial:
    for t in trials:
        if t.number == number:
            return t
    numbers = [t.number for t in trials]
    have = f"{min(numbers)}..{max(numbers)}" if numbers else "none"
    raise _NotFoundError(
        f"experiment {name!r} has no trial {number}; trials: {have}", trials=numbers
    )


def serve(
    storage: str | Path | Storage,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "warning",
) -> None:
    """Serve the dashboard until interrupted (Ctrl-C)."""
    import uvicorn

    uvicorn.run(create_app(storage), host=host, port=port, log_level=log_level)
