"""core.live.rtc: no ICE server by default, servers from the environment or secrets.toml, bad
settings refused with a typed error that names the setting, and the SRTP binding's load order."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.errors import IceConfigError, MaskStudioError
from core.live.rtc import (
    ICE_ENV,
    MAX_SERVERS,
    compile_ice_servers,
    default_settings,
    preload_srtp,
    rtc_settings,
)


def test_no_ice_servers_by_default() -> None:
    s = rtc_settings(env={}, secrets=None)
    assert s.configuration == {"iceServers": []} and s.source == "default" and s.urls == []


@pytest.mark.parametrize(
    ("value", "servers"),
    [
        ('["stun:stun.example.org:3478"]', [{"urls": "stun:stun.example.org:3478"}]),
        (
            '[{"urls": ["turn:t.example.org:3478?transport=udp"], "username": "u", "credential": "p"}]',
            [{"urls": ["turn:t.example.org:3478?transport=udp"], "username": "u", "credential": "p"}],
        ),
        ("[]", []),
    ],
)
def test_ice_servers_from_the_environment(value: str, servers: list[dict]) -> None:
    s = rtc_settings(env={ICE_ENV: value}, secrets={"webrtc": {"ice_servers": ["stun:ignored.org"]}})
    assert s.configuration == {"iceServers": servers} and s.source == ICE_ENV


def test_ice_servers_from_secrets() -> None:
    s = rtc_settings(env={}, secrets={"webrtc": {"ice_servers": [{"urls": "stuns:s.example.org"}]}})
    assert s.configuration == {"iceServers": [{"urls": "stuns:s.example.org"}]}
    assert s.source == "secrets.toml" and "stuns:s.example.org" in s.describe()


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("[stun", "not valid JSON"),
        ('{"urls": "stun:x.org"}', "wrap it in"),
        ('"stun:x.org"', "must be a list"),
        ('[{"url": "stun:x.org"}]', "unknown key"),
        ('[{"urls": []}]', "non-empty list"),
        ('["http://x.org"]', "'http://x.org' is not a STUN/TURN URL"),
        ('["turn:x.org"]', "needs a 'username' and a 'credential'"),
        ('[{"urls": "stun:x.org", "username": 5}]', "'username' must be text"),
        ("[1]", "an object or a URL string"),
    ],
)
def test_bad_ice_settings_name_the_problem(value: str, message: str) -> None:
    with pytest.raises(IceConfigError, match=message) as info:
        rtc_settings(env={ICE_ENV: value})
    assert ICE_ENV in str(info.value)
    assert isinstance(info.value, ValueError) and isinstance(info.value, MaskStudioError)


def test_bad_ice_secrets_are_refused() -> None:
    with pytest.raises(IceConfigError, match="must be a table"):
        rtc_settings(env={}, secrets={"webrtc": "stun:x.org"})
    with pytest.raises(IceConfigError, match=r"secrets.toml \[webrtc\] ice_servers\[0\]"):
        compile_ice_servers([{"urls": "ftp:x"}], "secrets.toml [webrtc] ice_servers")


def test_srtp_binding_survives_tensorflow() -> None:
    """aiortc's pylibsrtp imported after TensorFlow used to kill the process (SIGSEGV)."""
    import subprocess
    import sys

    code = (
        "import tensorflow\n"
        "from core.live.rtc import preload_srtp\n"
        "preload_srtp()\n"
        "import pylibsrtp, streamlit_webrtc\n"
        "print('ok')\n"
    )
    repo = Path(__file__).resolve().parents[3]
    done = subprocess.run([sys.executable, "-c", code], cwd=repo, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]
    preload_srtp()  # and a no-op when it is loaded already


def test_an_empty_variable_leaves_the_choice_to_secrets() -> None:
    secrets = {"webrtc": {"ice_servers": ["stun:s.example.org"]}}
    s = rtc_settings(env={ICE_ENV: "  "}, secrets=secrets)
    assert s.source == "secrets.toml" and s.urls == ["stun:s.example.org"]
    assert rtc_settings(env={}, secrets={"webrtc": {}}) == default_settings()
    assert rtc_settings(env={}, secrets={"other": 1}).source == "default"


def test_os_environ_is_read_when_no_env_is_given(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ICE_ENV, '["stun:env.example.org:3478"]')
    assert rtc_settings().urls == ["stun:env.example.org:3478"]
    monkeypatch.delenv(ICE_ENV)
    assert rtc_settings().configuration == {"iceServers": []}


def test_secrets_read_only_tables_become_plain_values() -> None:
    from types import MappingProxyType

    server = MappingProxyType({"urls": ("turn:t.org:3478",), "username": "u", "credential": "p"})
    s = rtc_settings(env={}, secrets={"webrtc": MappingProxyType({"ice_servers": (server,)})})
    assert s.configuration == {
        "iceServers": [{"urls": ["turn:t.org:3478"], "username": "u", "credential": "p"}]
    }
    assert type(s.configuration["iceServers"][0]["urls"]) is list


def test_describe_names_every_url_but_no_credential() -> None:
    value = '[{"urls": ["turn:a.org", "turns:b.org"], "username": "u", "credential": "secret"}, "stun:c.org"]'
    s = rtc_settings(env={ICE_ENV: value})
    assert s.urls == ["turn:a.org", "turns:b.org", "stun:c.org"]
    assert s.describe() == f"ICE servers from {ICE_ENV}: turn:a.org, turns:b.org, stun:c.org."
    assert "secret" not in s.describe()
    assert default_settings().describe().startswith("No STUN or TURN server")


def test_too_many_servers_are_refused() -> None:
    value = json.dumps([f"stun:s{i}.org" for i in range(MAX_SERVERS + 1)])
    with pytest.raises(IceConfigError, match=f"at most {MAX_SERVERS}"):
        rtc_settings(env={ICE_ENV: value})
    assert (
        len(rtc_settings(env={ICE_ENV: json.dumps([f"stun:s{i}.org" for i in range(MAX_SERVERS)])}).urls)
        == 16
    )
