"""The cache folder of downloaded datasets, and downloads that fail in one line.

Image datasets are downloaded once, on first use, from their canonical addresses into
``$NASFORGE_DATA`` (or a loader's ``root`` option; default ``~/.cache/nasforge/data``), one
sub-folder per dataset. A download is streamed to a temporary file beside its target, checked
against the archive's published MD5, and only then renamed into place, so an interrupted or
corrupted download never looks like a dataset. Offline (or when a download fails), the loader
raises a one-line :class:`~nasforge.errors.ConfigError` that names the folder to fill by hand
and the files expected there.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from nasforge.errors import ConfigError

#: the environment variable that moves the cache folder
DATA_ENV = "NASFORGE_DATA"
#: seconds without an answer before a download counts as failed (offline)
TIMEOUT_S = 30.0
_CHUNK = 1 << 20


@dataclass(frozen=True)
class RemoteFile:
    """One file of a dataset: its ``name`` in the dataset's folder, where to download it and
    the MD5 of its published bytes."""

    name: str
    url: str
    md5: str


def data_root(root: str | os.PathLike[str] | None = None) -> Path:
    """The cache folder: ``root`` when given, else ``$NASFORGE_DATA``, else
    ``~/.cache/nasforge/data``.

    Example:
        >>> str(data_root("/tmp/my-data"))
        '/tmp/my-data'
    """
    if root is not None and not isinstance(root, (str, os.PathLike)):
        raise ConfigError(f"root={root!r}; allowed: a folder path")
    chosen = root if root is not None else os.environ.get(DATA_ENV) or None
    if chosen is None:
        return Path.home() / ".cache" / "nasforge" / "data"
    return Path(chosen).expanduser()


def ensure_files(
    dataset: str,
    folder: Path,
    files: Sequence[RemoteFile],
    expected: Sequence[str] | None = None,
) -> None:
    """Download those of ``files`` that are not in ``folder`` yet.

    ``expected``: the file names an error message asks for (``None``: those of ``files``).

    Raises:
        ConfigError: a download failed (offline, refused, interrupted or a wrong checksum); the
            message names ``dataset``, ``folder`` and the file names to put there by hand.
    """
    for remote in files:
        target = folder / remote.name
        if target.is_file():
            continue
        try:
            folder.mkdir(parents=True, exist_ok=True)
            download(remote, target)
        except (OSError, ValueError) as exc:  # URLError, HTTPError and timeouts are OSErrors
            names = ", ".join(expected if expected is not None else [f.name for f in files])
            reason = str(getattr(exc, "reason", None) or exc).splitlines()[0][:120]
            raise ConfigError(
                f"dataset {dataset!r}: cannot download {remote.url} ({reason}); offline, put "
                f"{names} in {folder} by hand (or point option root / ${DATA_ENV} at a folder "
                "that holds them)"
            ) from None


def download(remote: RemoteFile, target: Path) -> None:
    """Stream ``remote`` into ``target`` with a progress bar (on a terminal), checking its MD5.

    The bytes go to a temporary file in ``target``'s folder, renamed to ``target`` once complete
    and checked: ``target`` exists only whole and correct.

    Raises:
        OSError: the download failed.
        ValueError: the downloaded bytes do not have the published MD5.
    """
    digest = hashlib.md5(usedforsecurity=False)  # the published checksums are MD5
    handle, temporary = tempfile.mkstemp(
        dir=target.parent, prefix=f".{target.name}.", suffix=".part"
    )
    try:
        with (
            os.fdopen(handle, "wb") as out,
            urllib.request.urlopen(remote.url, timeout=TIMEOUT_S) as response,
        ):
            total = int(response.headers.get("Content-Length") or 0) or None
            with _progress(remote.name, total) as advance:
                while chunk := response.read(_CHUNK):
                    out.write(chunk)
                    digest.update(chunk)
                    advance(len(chunk))
        if digest.hexdigest() != remote.md5:
            raise ValueError(f"MD5 {digest.hexdigest()}, expected {remote.md5}")
        os.replace(temporary, target)
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)


@contextlib.contextmanager
def _progress(name: str, total: int | None) -> Iterator[Callable[[int], None]]:
    """A Rich progress bar on stderr while a file downloads (none when stderr is no terminal,
    so logs and tests stay clean); yields ``advance(n_bytes)``."""
    if not sys.stderr.isatty():
        yield lambda n: None
        return
    from rich.console import Console
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TimeRemainingColumn,
        TransferSpeedColumn,
    )

    with Progress(
        TextColumn("downloading {task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeRemainingColumn(),
        console=Console(stderr=True),
        transient=True,
    ) as bar:
        task = bar.add_task(name, total=total)
        yield lambda n: bar.advance(task, n)
