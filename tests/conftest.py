"""Shared test set-up."""

from __future__ import annotations

import signal
from collections.abc import Iterator

import pytest

# A shell starts a background job (`python -m pytest &`, a CI runner's script) with SIGINT
# ignored, and a child started with it ignored keeps it ignored: Python then installs no
# KeyboardInterrupt handler, and the tests that stop a search with Ctrl-C (SIGINT) wait for an
# exit that never comes. A handler here makes the children start with SIGINT's default (exec
# resets caught signals, not ignored ones), as they do when pytest runs in a terminal.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture(autouse=True)
def one_torch_thread() -> Iterator[None]:
    """Tests train tiny models: intra-op threads only add overhead, and on a busy machine two
    spinning threads can make a step many times slower. Restored after each test."""
    import torch

    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def chromium() -> None:
    """Skip the test, saying why, where headless Chromium cannot run: selenium, ``chromium`` or
    ``chromium-driver`` missing (a fresh machine has no browser; the rest of the suite still runs).
    Every test that drives a browser asks for this fixture, so the reason is written once."""
    from nasforge.viz.dashboard.browser import chromium_missing

    missing = chromium_missing()
    if missing is not None:
        pytest.skip(f"no headless browser: {missing}")
