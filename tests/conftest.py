"""Shared test set-up."""

from __future__ import annotations

import os
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


# The suite runs on every core (xdist): a process a test starts (the CLI, a benchmark script)
# uses one torch thread by default, as the tests themselves do (``one_torch_thread`` below);
# beside another worker, two spinning threads per process made such runs many times slower.
os.environ.setdefault("OMP_NUM_THREADS", "1")

#: fixtures whose tests share a machine-wide resource and run on one worker, one at a time
#: (``ray stop --force`` at the end of the Ray fixture stops every Ray process on the machine);
#: a test that asks for one with ``request.getfixturevalue`` carries the mark itself
ONE_WORKER = {"ray_cluster": "ray"}


@pytest.hookimpl(tryfirst=True)  # before xdist's own hook reads the group marks
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Put the tests using a fixture of ``ONE_WORKER`` in its xdist group (``--dist loadgroup``
    runs a group on one worker), however they are written."""
    for item in items:
        for fixture, group in ONE_WORKER.items():
            if fixture in getattr(item, "fixturenames", ()):
                item.add_marker(pytest.mark.xdist_group(group))


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
