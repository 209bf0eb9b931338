"""Two ASGI middlewares of the dashboard: a Host-header check, and names that may hold ``/``.

**Host check.** A page on another site can make the user's browser resolve its own domain to
127.0.0.1 (DNS rebinding) and then read the dashboard as if it were that site; the browser
still sends the attacker's name in the ``Host`` header. Answering only requests whose ``Host``
is a name the dashboard is served under closes that door.

**Names with a slash.** An experiment called ``a/b`` is linked as ``/experiments/a%2Fb``; the
server decodes ``%2F`` to ``/`` before routing, so ``{name}`` would no longer match. Under the
experiment paths, the path is decoded again from the raw request with ``%2F`` (and ``%25``)
left encoded; :func:`unquote_name` decodes the name the route receives.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import unquote

Scope = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[MutableMapping[str, Any]]]
Send = Callable[[MutableMapping[str, Any]], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

#: the names a dashboard answers to unless told otherwise (with the address it listens on)
LOCAL_HOSTS = ("127.0.0.1", "localhost", "::1")
#: paths whose next segment is an experiment name
NAME_PREFIXES = ("/experiments/", "/api/experiments/")
_ENCODED_SLASH = re.compile("%2f", re.IGNORECASE)


def host_name(header: str) -> str:
    """The host of a ``Host`` header, without port, brackets or a trailing dot, lower case.

    Example:
        >>> host_name("[::1]:8000"), host_name("LocalHost.:80"), host_name("example.org")
        ('::1', 'localhost', 'example.org')
    """
    text = header.strip().lower()
    if text.startswith("["):  # an IPv6 literal: [::1]:8000
        text = text[1 : text.find("]")] if "]" in text else text[1:]
    elif text.count(":") == 1:
        text = text.split(":", 1)[0]
    return text.rstrip(".")


def allowed_host_names(hosts: Iterable[str]) -> frozenset[str]:
    """The names of ``hosts`` as :func:`host_name` gives them (``*``: any host)."""
    return frozenset(host_name(h) if h != "*" else "*" for h in hosts if h.strip())


class HostCheck:
    """Answer 400 to a request whose ``Host`` header names none of ``allowed`` (``*``: any)."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str]) -> None:
        self.app = app
        self.allowed = allowed_host_names(allowed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] not in ("http", "websocket") or "*" in self.allowed:
            await self.app(scope, receive, send)
            return
        header = ""
        for key, value in scope.get("headers", ()):
            if key == b"host":
                header = value.decode("latin-1")
                break
        if host_name(header) in self.allowed:
            await self.app(scope, receive, send)
            return
        known = ", ".join(sorted(self.allowed))
        detail = (
            f"host {header!r} is not served here (allowed: {known}); "
            "start the dashboard with --allow-host NAME to serve another name"
        )
        body = json.dumps({"detail": detail}).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})


class EncodedSlashNames:
    """Route experiment paths on the raw path, keeping ``%2F`` (and ``%25``) encoded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            path = _path_keeping_slashes(scope)
            if path is not None:
                scope = {**scope, "path": path}
        await self.app(scope, receive, send)


def _path_keeping_slashes(scope: Scope) -> str | None:
    root = scope.get("root_path", "")
    path = scope.get("path", "")
    if not any(path.startswith(root + p) for p in NAME_PREFIXES):
        return None
    try:
        raw = scope["raw_path"].decode("ascii")
    except (KeyError, AttributeError, UnicodeDecodeError):  # no raw path: slashes are lost
        return str(path).replace("%", "%25")
    pieces = _ENCODED_SLASH.split(raw)
    return "%2F".join(unquote(piece).replace("%", "%25") for piece in pieces)


def unquote_name(name: str) -> str:
    """The experiment name of a path segment that :class:`EncodedSlashNames` left encoded."""
    return unquote(name)


__all__ = [
    "LOCAL_HOSTS",
    "EncodedSlashNames",
    "HostCheck",
    "allowed_host_names",
    "host_name",
    "unquote_name",
]
