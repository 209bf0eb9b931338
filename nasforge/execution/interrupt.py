"""A stop signal that no swallowed exception can lose.

A signal handler that raises ``KeyboardInterrupt`` (Python's own for SIGINT, ``nasforge
search``'s for SIGTERM) raises it in whatever code the main thread is running when the signal
arrives. When that is a weak-reference callback or a finaliser (``__del__``), Python prints
"Exception ignored in ..." and goes on: the search would run to its end. So the handler of
:func:`stop_on_signals` also sets a flag, and the search loop calls
:func:`raise_if_stop_requested` on every turn, which raises the interrupt again within one poll.

Example:
    >>> import signal
    >>> with stop_on_signals(signal.SIGTERM):
    ...     stop_requested()
    False
"""

from __future__ import annotations

import contextlib
import signal
import threading
from collections.abc import Iterator
from types import FrameType
from typing import Any, NoReturn

_requested = threading.Event()


def stop_requested() -> bool:
    """Whether a signal asked the search to stop (since :func:`stop_on_signals` began)."""
    return _requested.is_set()


def raise_if_stop_requested() -> None:
    """Raise ``KeyboardInterrupt`` when a signal asked the search to stop."""
    if _requested.is_set():
        raise KeyboardInterrupt


def _request_stop(_signum: int, _frame: FrameType | None) -> NoReturn:
    """Stop the way Ctrl-C does (the interrupted trial is recorded), and remember it."""
    _requested.set()
    raise KeyboardInterrupt


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
    try:
        for sig in signals:
            previous[sig] = signal.signal(sig, _request_stop)
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)
        _requested.clear()


__all__ = ["raise_if_stop_requested", "stop_on_signals", "stop_requested"]
