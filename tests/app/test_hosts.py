"""app.hosts: only loopback Host names are served unless MASK_STUDIO_ALLOWED_HOSTS adds others;
the ASGI middleware refuses HTTP (400) and websockets (closed before they open)."""

from __future__ import annotations

import asyncio

import pytest

from app.hosts import ENV_VAR, LOOPBACK, HostCheck, allowed_hosts, host_allowed


@pytest.mark.parametrize(
    ("host", "ok"),
    [
        ("127.0.0.1", True),
        ("127.0.0.1:8501", True),
        ("localhost:8501", True),
        ("LOCALHOST.", True),
        ("[::1]:8501", True),
        ("evil.example", False),
        ("evil.example:8501", False),
        ("127.0.0.1.evil.example", False),
        ("localhost@evil.example", False),
        ("127.0.0.1:99999", False),
        ("127.0.0.1/x", False),
        ("", False),
        (None, False),
    ],
)
def test_only_loopback_names_are_allowed_by_default(host: str | None, ok: bool) -> None:
    assert host_allowed(host, LOOPBACK) is ok


def test_the_env_var_adds_names_and_wildcards(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV_VAR, " studio.lan , *.example.org,")
    allowed = allowed_hosts()
    assert set(LOOPBACK) <= set(allowed)
    assert host_allowed("studio.lan:8501", allowed) and host_allowed("a.example.org", allowed)
    assert not host_allowed("example.org.evil.example", allowed) and not host_allowed("evil.example", allowed)
    assert host_allowed("anything", allowed_hosts("*"))
    monkeypatch.delenv(ENV_VAR)
    assert allowed_hosts() == LOOPBACK


def _call(scope_type: str, host: str) -> tuple[list[dict], bool]:
    sent: list[dict] = []
    reached: list[bool] = []

    async def inner(scope, receive, send) -> None:
        reached.append(True)

    async def send(message: dict) -> None:
        sent.append(message)

    async def receive() -> dict:
        return {}

    scope = {"type": scope_type, "headers": [(b"host", host.encode())]}
    asyncio.run(HostCheck(inner, LOOPBACK)(scope, receive, send))
    return sent, bool(reached)


def test_the_middleware_refuses_other_hosts_and_passes_loopback() -> None:
    sent, reached = _call("http", "evil.example")
    assert not reached and sent[0]["status"] == 400 and ENV_VAR.encode() in sent[1]["body"]
    sent, reached = _call("websocket", "evil.example:8501")
    assert not reached and sent == [{"type": "websocket.close", "code": 1008}]
    for kind in ("http", "websocket"):
        sent, reached = _call(kind, "127.0.0.1:8501")
        assert reached and sent == []
