"""Which Host headers the server answers: loopback names only, unless MASK_STUDIO_ALLOWED_HOSTS
says otherwise. A page on another site that points its own name at this machine (DNS
rebinding) then gets neither the app nor its websocket.

`HostCheck` is plain ASGI middleware (no Streamlit here); home.py installs it through `st.App`
when `streamlit run home.py` serves it.
"""

from __future__ import annotations

import os
from collections.abc import Awaitable, Callable, Iterable, MutableMapping
from typing import Any
from urllib.parse import urlsplit

#: The env var: comma-separated host names the server also answers (`*` for any; `*.lan` for
#: every name under lan). The loopback names are always allowed.
ENV_VAR = "MASK_STUDIO_ALLOWED_HOSTS"
LOOPBACK = ("127.0.0.1", "localhost", "::1")

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]


def allowed_hosts(env: str | None = None) -> tuple[str, ...]:
    """The loopback names plus those in MASK_STUDIO_ALLOWED_HOSTS (or `env`), lower-case."""
    text = os.environ.get(ENV_VAR, "") if env is None else env
    extra = [h.strip().lower().rstrip(".") for h in text.split(",") if h.strip()]
    return (*LOOPBACK, *(h.strip("[]") for h in extra))


def host_allowed(host: str | None, allowed: Iterable[str] = LOOPBACK) -> bool:
    """Whether a Host header (`name` or `name:port`, `[::1]:8501`) names one of `allowed`."""
    if not host:
        return False
    try:
        parts = urlsplit(f"//{host}")
        name, _ = parts.hostname, parts.port  # .port checks the port is a number in range
    except ValueError:
        return False
    if not name or parts.username or parts.password or parts.path or parts.query or parts.fragment:
        return False
    name = name.lower().rstrip(".")
    for pattern in allowed:
        if pattern == "*" or name == pattern or (pattern.startswith("*.") and name.endswith(pattern[1:])):
            return True
    return False


class HostCheck:
    """ASGI middleware: HTTP requests and websockets whose Host is not allowed are refused
    (HTTP 400; a websocket is closed before it opens, which the client sees as HTTP 403)."""

    def __init__(self, app: ASGIApp, allowed: Iterable[str] | None = None) -> None:
        self.app = app
        self.allowed = tuple(allowed) if allowed is not None else allowed_hosts()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = next((v.decode("latin-1") for k, v in scope.get("headers", []) if k == b"host"), None)
            if not host_allowed(host, self.allowed):
                await self._refuse(scope, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send) -> None:
        if scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": 1008})
            return
        body = f"Host not allowed. Set {ENV_VAR} to serve other host names.\n".encode()
        await send(
            {
                "type": "http.response.start",
                "status": 400,
                "headers": [
                    (b"content-type", b"text/plain; charset=utf-8"),
                    (b"content-length", b"%d" % len(body)),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})
