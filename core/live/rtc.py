"""WebRTC settings for Live: which ICE (STUN/TURN) servers the browser and the server may use.

By default none: `{"iceServers": []}`, which connects a browser and the app on the same machine
(localhost) without asking any outside server. A deployment reached over a network can name
servers in the environment variable MASK_STUDIO_ICE_SERVERS (a JSON list) or in
`.streamlit/secrets.toml`:

    [webrtc]
    ice_servers = [{urls = ["turn:turn.example.org:3478"], username = "u", credential = "p"}]

The environment variable wins over secrets.toml. Each server is `{"urls": ..., "username": ...,
"credential": ...}` as in the browser's RTCIceServer; a bare URL string is short for
`{"urls": URL}`. The same explicit list always goes to both the browser and the server, so
streamlit-webrtc never adds its default public STUN server nor asks a TURN credential service.
Credentials of a TURN server reach the browser (WebRTC needs them there): use short-lived ones.
"""

from __future__ import annotations

import _imp
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from core.errors import IceConfigError

ICE_ENV = "MASK_STUDIO_ICE_SERVERS"
SECRETS_SECTION = "webrtc"
SECRETS_KEY = "ice_servers"
SCHEMES = ("stun:", "stuns:", "turn:", "turns:")
MAX_SERVERS = 16


@dataclass(frozen=True)
class RtcSettings:
    """The RTC configuration for webrtc_streamer and where it came from (for the UI)."""

    configuration: dict[str, Any]
    source: str  # "default", the env variable's name, or "secrets.toml"

    @property
    def urls(self) -> list[str]:
        """Every server URL (never the credentials), for the UI."""
        out: list[str] = []
        for server in self.configuration["iceServers"]:
            urls = server["urls"]
            out.extend([urls] if isinstance(urls, str) else urls)
        return out

    def describe(self) -> str:
        """One sentence for the UI."""
        if not self.urls:
            return "No STUN or TURN server (works when the browser runs on this machine)."
        return f"ICE servers from {self.source}: {', '.join(self.urls)}."


def compile_ice_server(value: Any, where: str) -> dict[str, Any]:
    """One RTCIceServer dict, checked; IceConfigError naming `where` and the offending value."""
    if isinstance(value, str):
        value = {"urls": value}
    if not isinstance(value, Mapping):
        raise IceConfigError(f"{where}: an ICE server must be an object or a URL string, got {value!r}")
    unknown = sorted(set(value) - {"urls", "username", "credential"})
    if unknown:
        raise IceConfigError(f"{where}: unknown key(s) {', '.join(map(repr, unknown))}")
    urls = value.get("urls")
    url_list = [urls] if isinstance(urls, str) else urls
    if not isinstance(url_list, list) or not url_list:
        raise IceConfigError(f"{where}: 'urls' must be a URL or a non-empty list of URLs, got {urls!r}")
    for url in url_list:
        if not isinstance(url, str) or not url.startswith(SCHEMES) or len(url) <= len("stun:"):
            raise IceConfigError(
                f"{where}: {url!r} is not a STUN/TURN URL (it must start with {', '.join(SCHEMES)})"
            )
    server: dict[str, Any] = {"urls": urls if isinstance(urls, str) else list(url_list)}
    for key in ("username", "credential"):
        if key in value and value[key] is not None:
            if not isinstance(value[key], str):
                raise IceConfigError(f"{where}: '{key}' must be text, got {type(value[key]).__name__}")
            server[key] = value[key]
    if any(u.startswith(("turn:", "turns:")) for u in url_list) and not (
        server.get("username") and server.get("credential")
    ):
        raise IceConfigError(f"{where}: a TURN server needs a 'username' and a 'credential'")
    return server


def compile_ice_servers(value: Any, source: str) -> list[dict[str, Any]]:
    """A checked list of RTCIceServer dicts from a JSON string or a list; IceConfigError if invalid."""
    if isinstance(value, str):
        try:
            value = json.loads(value) if value.strip() else []
        except json.JSONDecodeError as exc:
            raise IceConfigError(f"{source} is not valid JSON: {exc.msg} at character {exc.pos}") from exc
    if isinstance(value, Mapping):
        raise IceConfigError(f"{source} must be a list of ICE servers, got one object: wrap it in [...]")
    if not isinstance(value, list | tuple):
        raise IceConfigError(f"{source} must be a list of ICE servers, got {type(value).__name__}")
    if len(value) > MAX_SERVERS:
        raise IceConfigError(f"{source} lists {len(value)} ICE servers; at most {MAX_SERVERS} are allowed")
    return [compile_ice_server(v, f"{source}[{i}]") for i, v in enumerate(value)]


def rtc_settings(
    env: Mapping[str, str] | None = None, secrets: Mapping[str, Any] | None = None
) -> RtcSettings:
    """The RTC configuration: MASK_STUDIO_ICE_SERVERS, else secrets' [webrtc] ice_servers, else none.

    `env` defaults to os.environ; `secrets` is st.secrets as a mapping (or None). IceConfigError
    when the chosen setting is invalid (the page then says why and uses no servers).
    """
    env = os.environ if env is None else env
    raw = env.get(ICE_ENV)
    if raw is not None and raw.strip():
        return RtcSettings({"iceServers": compile_ice_servers(raw, ICE_ENV)}, ICE_ENV)
    section = secrets.get(SECRETS_SECTION) if secrets is not None else None
    if section is not None:
        if not isinstance(section, Mapping):
            raise IceConfigError(f"secrets.toml: [{SECRETS_SECTION}] must be a table")
        if SECRETS_KEY in section:
            servers = compile_ice_servers(
                _plain(section[SECRETS_KEY]), f"secrets.toml [{SECRETS_SECTION}] {SECRETS_KEY}"
            )
            return RtcSettings({"iceServers": servers}, "secrets.toml")
    return default_settings()


def default_settings() -> RtcSettings:
    """No ICE servers at all: localhost only, nothing asked of the network."""
    return RtcSettings({"iceServers": []}, "default")


def _plain(value: Any) -> Any:
    """Secrets' read-only mappings and lists as plain dicts and lists."""
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    return value


def preload_srtp() -> None:
    """Import aiortc's SRTP binding (pylibsrtp) so that TensorFlow cannot break it.

    pylibsrtp carries its own OpenSSL 3 and exports its symbols; TensorFlow loads BoringSSL,
    whose functions have the same names, into the global symbol scope. Imported after
    TensorFlow, pylibsrtp's `srtp_init()` then calls BoringSSL and the server process dies
    (SIGSEGV). Loaded with RTLD_DEEPBIND it binds to its own copies first. Call this before
    importing streamlit_webrtc or aiortc; a no-op once pylibsrtp is imported.
    """
    if "pylibsrtp" in sys.modules or not hasattr(os, "RTLD_DEEPBIND"):
        return
    _imp.acquire_lock()  # no other thread imports while the flags are changed
    flags = sys.getdlopenflags()
    try:
        sys.setdlopenflags(flags | os.RTLD_DEEPBIND)
        import pylibsrtp  # noqa: F401
    finally:
        sys.setdlopenflags(flags)
        _imp.release_lock()
