"""Run the dashboard in a background thread and drive it with headless Chromium.

Used by the end-to-end tests and by ``benchmarks/dashboard_screenshots.py``. Selenium is told
the exact Chromium and chromedriver to use, so selenium-manager never downloads a driver.
"""

from __future__ import annotations

import shutil
import socket
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nasforge.errors import ConfigError

if TYPE_CHECKING:
    from fastapi import FastAPI

#: where Debian's ``chromium`` and ``chromium-driver`` packages put them
CHROMIUM, CHROMEDRIVER = "/usr/bin/chromium", "/usr/bin/chromedriver"


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nobody listens on right now."""
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_in_thread(
    app: FastAPI, host: str = "127.0.0.1", port: int | None = None
) -> Iterator[str]:
    """Serve ``app`` with uvicorn in a daemon thread; yields its base URL, stops on exit."""
    import uvicorn

    port = port or free_port(host)
    server = uvicorn.Server(uvicorn.Config(app, host=host, port=port, log_level="warning"))
    thread = threading.Thread(target=server.run, name="nasforge-dashboard", daemon=True)
    thread.start()
    deadline = time.monotonic() + 20
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"the dashboard did not start on {host}:{port}")
        time.sleep(0.02)
    try:
        yield f"http://{host}:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def chromium_missing(chromium: str = CHROMIUM, driver: str = CHROMEDRIVER) -> str | None:
    """Why a headless browser cannot run here, or ``None`` if it can."""
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install selenium)"
    for path, package in ((chromium, "chromium"), (driver, "chromium-driver")):
        if not (Path(path).is_file() or shutil.which(path)):
            return f"{path} not found (apt-get install {package})"
    return None


@contextmanager
def headless_chromium(
    width: int = 1400, height: int = 1000, chromium: str = CHROMIUM, driver: str = CHROMEDRIVER
) -> Iterator[Any]:
    """A selenium ``WebDriver`` on headless Chromium with a ``width`` x ``height`` window."""
    reason = chromium_missing(chromium, driver)
    if reason is not None:
        raise ConfigError(f"no headless browser: {reason}")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--disable-extensions",
        f"--window-size={width},{height}",
    ):
        options.add_argument(arg)
    browser = webdriver.Chrome(service=Service(driver), options=options)
    try:
        yield browser
    finally:
        browser.quit()


def wait_for(condition: Any, timeout: float = 10.0, interval: float = 0.1) -> Any:
    """Call ``condition()`` until it returns something truthy; its value, or ``TimeoutError``."""
    deadline = time.monotonic() + timeout
    last_error: Exception | None = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as exc:  # the page may be mid-update: retry
            last_error = exc
        time.sleep(interval)
    raise TimeoutError(f"condition not met in {timeout} s (last error: {last_error})")
