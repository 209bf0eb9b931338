"""A stop signal that no swallowed exception can lose.

A signal handler that raises ``KeyboardInterrupt`` (Python's own for SIGINT, ``nasforge
search``'s for SIGTERM) raises it in whatever code the main thread is running when the signal
arrives. When that is a weak-reference callback or a finaliser (``__del__``, SQLAlchemy
returning a connection to its pool), Python prints "Exception ignored in ..." and goes on: the
search would run to its end. So the handler of :func:`stop_on_signals` sets a flag, raises the
interrupt only outside such code, and the search loop (every turn), a one-shot search and a
trial's training (every step) call :func:`raise_if_stop_requested`, which raises it there.

It imports nothing of the package and no torch: it sits in the bottom layer, beside
:mod:`nasforge.errors`, so the training toolkit, the one-shot methods and the search loop may
all check it, and the search loop still imports no torch.

Example:
    >>> import signal
    >>> with stop_on_signals(signal.SIGTERM):
    ...     stop_requested()
    False
"""

from __future__ import annotations

import contextlib
import os
import signal
import sys
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any

_requested = threading.Event()


def stop_requested() -> bool:
    """Whether a signal asked the search to stop (since :func:`stop_on_signals` began)."""
    return _requested.is_set()


def raise_if_stop_requested() -> None:
    """Raise ``KeyboardInterrupt`` when a signal asked the search to stop."""
    if _requested.is_set():
        raise KeyboardInterrupt


#: the exit status of a command a stop signal ended: 128 + SIGINT, what shells report after Ctrl-C
INTERRUPTED_STATUS = 128 + signal.SIGINT

#: code that runs as a finaliser or returns a database connection, where an exception is
#: ignored (Python prints "Exception ignored in ...", SQLAlchemy logs a traceback) instead of
#: stopping anything: the handler only sets the flag there, and the loop raises it soon after
_FINALISING_FILES = ("weakref.py", f"sqlalchemy{os.sep}pool{os.sep}")


def _in_finaliser(frame: FrameType | None) -> bool:
    while frame is not None:
        code = frame.f_code
        if code.co_name == "__del__" or any(f in code.co_filename for f in _FINALISING_FILES):
            return True
        frame = frame.f_back
    return False


def _request_stop(_signum: int, frame: FrameType | None) -> None:
    """Stop the way Ctrl-C does (the interrupted trial is recorded), and remember it; inside a
    finaliser, only remember it."""
    _requested.set()
    if not _in_finaliser(frame):
        raise KeyboardInterrupt


def _quiet_unraisable(previous: Any) -> Any:
    """An unraisable-exception hook that drops the interrupt a finaliser swallowed after a
    stop was asked (it is remembered) and passes everything else to ``previous``."""

    def hook(unraisable: Any) -> None:
        if _requested.is_set() and isinstance(unraisable.exc_value, KeyboardInterrupt):
            return
        previous(unraisable)

    return hook


@contextlib.contextmanager
def stop_on_signals(*signals: int) -> Iterator[None]:
    """Within the block, each of ``signals`` stops the search as Ctrl-C does, and the stop is
    remembered (:func:`raise_if_stop_requested`); the previous handlers come back after it.

    Only in the main thread (where Python runs signal handlers); elsewhere nothing changes.
    """
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous: dict[int, Any] = {}
    _requested.clear()
    hook = sys.unraisablehook
    try:
        sys.unraisablehook = _quiet_unraisable(hook)
        for sig in signals:
            previous[sig] = signal.signal(sig, _request_stop)
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        sys.unraisablehook = hook
        _requested.clear()


__all__ = ["raise_if_stop_requested", "stop_on_signals", "stop_requested"]
