"""The dashboard's FastAPI app: two HTML pages, their static files and a JSON API under /api/.

The store is opened once, read-only (``Storage(read_only=True)`` writes nothing; SQLite in WAL
mode: a reader never blocks the search that writes), and every request reads afresh what its
view shows (:mod:`nasforge.viz.dashboard.api`), so the pages follow a running search.
Plotly's JavaScript is served from the installed ``plotly`` Python package (no CDN). Only
requests addressed to an allowed host name are answered (see ``allowed_hosts``).
"""

from __future__ import annotations

import html
from collections.abc import Iterable
from importlib import resources
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles

from nasforge.errors import ConfigError, NasforgeError
from nasforge.storage import Storage, is_in_memory, normalize_url
from nasforge.viz.dashboard._middleware import LOCAL_HOSTS, EncodedSlashNames, HostCheck
from nasforge.viz.dashboard.api import Experiments, NotFoundError, add_api

STATIC = Path(__file__).resolve().parent / "static"
#: addresses that mean "every interface": no client names the server by them
WILDCARD_ADDRESSES = ("0.0.0.0", "::", "")


def plotly_js_path() -> Path | None:
    """``plotly.min.js`` inside the installed ``plotly`` package, if there is one."""
    try:
        path = Path(str(resources.files("plotly") / "package_data" / "plotly.min.js"))
    except ModuleNotFoundError:
        return None
    return path if path.is_file() else None


def create_app(
    storage: str | Path | Storage, *, allowed_hosts: Iterable[str] | None = None
) -> FastAPI:
    """The dashboard for the store at ``storage`` (a URL, a SQLite file or a ``Storage``).

    ``allowed_hosts`` are the host names requests may address (the ``Host`` header, port
    aside); any other gets a 400, so a page elsewhere cannot read the store through DNS
    rebinding. Default: 127.0.0.1, localhost and ::1; ``"*"`` allows any.

    Raises :class:`~nasforge.errors.StorageError` if the store does not exist or cannot be read.

    An in-memory SQLite store is refused: each thread serving a request would see its own,
    empty database.

    Example:
        >>> import tempfile
        >>> from pathlib import Path
        >>> from fastapi.testclient import TestClient
        >>> path = Path(tempfile.mkdtemp()) / "runs.db"
        >>> _ = Storage(path)  # an empty store
        >>> TestClient(create_app(path), base_url="http://localhost").get("/api/experiments").json()
        []
    """
    url = storage.url if isinstance(storage, Storage) else normalize_url(storage)
    if is_in_memory(url):
        raise ConfigError(
            f"storage: the dashboard cannot read an in-memory store ({url!r}); "
            "give a SQLite file or a database server URL"
        )
    hosts = list(LOCAL_HOSTS if allowed_hosts is None else allowed_hosts)
    store = storage if isinstance(storage, Storage) else Storage(storage, read_only=True)
    app = FastAPI(title="nasforge dashboard", docs_url="/api/docs", openapi_url="/api/openapi.json")
    app.state.storage = store
    app.state.allowed_hosts = hosts
    experiments = Experiments(store)

    @app.exception_handler(NotFoundError)
    def not_found(_request: Request, exc: NotFoundError) -> JSONResponse:
        return JSONResponse({"detail": exc.detail, **exc.known}, status_code=404)

    @app.exception_handler(NasforgeError)
    def user_error(_request: Request, exc: NasforgeError) -> JSONResponse:
        return JSONResponse({"detail": str(exc)}, status_code=400)

    # ---- pages --------------------------------------------------------------------------------

    @app.get("/", response_class=HTMLResponse, include_in_schema=False)
    def index() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    @app.get("/experiments/{name:path}", response_class=HTMLResponse, include_in_schema=False)
    def experiment_page(name: str) -> HTMLResponse:
        try:
            experiments.get(name)
        except NotFoundError as exc:
            return HTMLResponse(_not_found_page(exc), status_code=404)
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
    add_api(app, experiments)
    app.add_middleware(EncodedSlashNames)
    app.add_middleware(HostCheck, allowed=hosts)  # the outermost: checked before anything
    return app


def _not_found_page(exc: NotFoundError) -> str:
    from urllib.parse import quote

    links = "".join(
        f'<li><a href="/experiments/{html.escape(quote(n, safe=""))}">{html.escape(n)}</a></li>'
        for n in exc.known["experiments"]
    )
    return (
        f"<!doctype html><title>not found</title><link rel=stylesheet "
        f'href="/static/style.css"><main><h1>{html.escape(exc.detail)}</h1>'
        f'<ul>{links}</ul><p><a href="/">all experiments</a></p></main>'
    )


def hosts_to_allow(host: str, extra: Iterable[str] = ()) -> list[str]:
    """What a dashboard listening on ``host`` answers to: 127.0.0.1, localhost, ::1, ``host``
    itself (unless it means every interface) and ``extra``."""
    hosts = [*LOCAL_HOSTS]
    if host not in WILDCARD_ADDRESSES:
        hosts.append(host)
    hosts.extend(extra)
    return list(dict.fromkeys(hosts))


def serve(
    storage: str | Path | Storage,
    host: str = "127.0.0.1",
    port: int = 8000,
    log_level: str = "warning",
    allow_hosts: Iterable[str] = (),
) -> None:
    """Serve the dashboard until interrupted (Ctrl-C); it answers requests addressed to
    :func:`hosts_to_allow` ``(host, allow_hosts)``."""
    import uvicorn

    app = create_app(storage, allowed_hosts=hosts_to_allow(host, allow_hosts))
    uvicorn.run(app, host=host, port=port, log_level=log_level)
