"""``nasforge plot`` and ``nasforge dashboard``: look at a stored search."""

from __future__ import annotations

import errno
import re
import socket
from pathlib import Path
from typing import Annotated

import typer

from nasforge.cli._common import StorageOpt, split_option
from nasforge.errors import ConfigError
from nasforge.storage import DEFAULT_STORAGE


def plot(
    name: Annotated[str, typer.Argument(help="Experiment name.")],
    kind: Annotated[
        str,
        typer.Option(
            "--kind",
            help="history, curves, ops, pareto, hypervolume (of the front, after each trial), "
            "cell, arch-weights (a one-shot search's architecture weights per epoch) or "
            "lineage (which trial each child was mutated from).",
        ),
    ] = "history",
    out: Annotated[
        Path | None,
        typer.Option("--out", help="Image file (.png, .svg, .pdf); default NAME-KIND.png"),
    ] = None,
    storage: StorageOpt = DEFAULT_STORAGE,
    top: Annotated[int, typer.Option("--top", help="ops: how many best trials to count.")] = 10,
    trial: Annotated[
        int | None, typer.Option("--trial", help="cell: draw this trial (default: the best).")
    ] = None,
    metric: Annotated[
        str | None,
        typer.Option("--metric", help="history, curves: metric (default: first objective)."),
    ] = None,
    reference: Annotated[
        str | None,
        typer.Option(
            "--reference",
            help="pareto, hypervolume: reference point, one value per objective in its own "
            "units (e.g. 0,5): the raw hypervolume (default: normalised by the front's ideal "
            "and nadir, reference 1.1).",
        ),
    ] = None,
) -> None:
    """Plot a stored experiment to an image file."""
    from nasforge.errors import ConfigError
    from nasforge.experiment import load_experiment
    from nasforge.viz import PLOT_KINDS, plot

    if kind not in PLOT_KINDS:
        raise ConfigError(f"--kind: unknown plot {kind!r}; allowed: {', '.join(PLOT_KINDS)}")
    exp = load_experiment(name, storage)
    options: dict[str, object] = {}
    if kind == "ops":
        options["top_k"] = top
    if kind == "cell":
        options["trial"] = trial
    if kind in ("history", "curves") and metric is not None:
        options["metric"] = metric
    if kind in ("pareto", "hypervolume") and reference is not None:
        options["reference"] = split_option(reference, "--reference", float)
    path = out or default_plot_path(name, kind)
    plot(exp, kind, out=path, **options)
    typer.echo(f"wrote {path}")


def default_plot_path(name: str, kind: str) -> Path:
    """``NAME-KIND.png`` in the working directory, whatever the experiment's name holds: a
    character other than a letter, digit, ``.``, ``_`` or ``-`` becomes ``_`` and what it
    starts with goes up to the first letter or digit, so ``../x`` or ``a/b`` never names a
    file elsewhere (nor a hidden one).

    Example:
        >>> default_plot_path("../../etc/cron.d/x", "history").as_posix()
        'etc_cron.d_x-history.png'
    """
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", name).lstrip("._-") or "experiment"
    return Path(f"{safe}-{kind}.png")


def check_port_free(host: str, port: int) -> None:
    """A :class:`ConfigError` naming ``port`` and ``--port`` when nothing can listen on
    ``host:port`` (another program holds it, or the address is not this machine's).

    It binds a socket as the server will (``SO_REUSEADDR``, so a port a closed connection
    lingers on counts as free) and lets it go at once.
    """
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    except socket.gaierror as exc:
        raise ConfigError(f"--host: cannot resolve {host!r} ({exc.strerror})") from None
    family, kind, proto, _, address = infos[0]
    with socket.socket(family, kind, proto) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind(address)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                problem = f"port {port} on {host} is already in use"
            else:
                problem = f"cannot listen on {host}:{port} ({exc.strerror or exc})"
            raise ConfigError(f"--port: {problem}; choose another with --port") from None


def dashboard(
    storage: StorageOpt = DEFAULT_STORAGE,
    port: Annotated[int, typer.Option("--port", help="TCP port.", min=1, max=65535)] = 8000,
    host: Annotated[
        str, typer.Option("--host", help="Address to listen on (0.0.0.0: every interface).")
    ] = "127.0.0.1",
    allow_host: Annotated[
        list[str] | None,
        typer.Option(
            "--allow-host",
            help="Also answer requests addressed to this host name (repeatable; '*': any). "
            "Always answered: 127.0.0.1, localhost, ::1 and the --host address.",
        ),
    ] = None,
) -> None:
    """Serve a live web dashboard of the store's experiments (Ctrl-C stops it)."""
    from nasforge.viz.dashboard import create_app
    from nasforge.viz.dashboard.app import WILDCARD_ADDRESSES, hosts_to_allow

    hosts = hosts_to_allow(host, allow_host or ())
    app = create_app(storage, allowed_hosts=hosts)  # a missing store fails here, in one line
    check_port_free(host, port)  # before saying it serves there
    import uvicorn

    typer.echo(f"nasforge dashboard on http://{host}:{port}/ (store {app.state.storage.url})")
    if host in WILDCARD_ADDRESSES and not allow_host:
        typer.echo(
            "it answers only requests addressed to 127.0.0.1 or localhost: name the addresses "
            "other machines use with --allow-host NAME"
        )
    uvicorn.run(app, host=host, port=port, log_level="warning")
