"""Which executor trains the queue: the Ray address (environment first, then the workspace
setting), its validation, and the cluster's recorded state."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.errors import ConfigError
from core.training import executors


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", ""),
        ("  127.0.0.1:6379 ", "127.0.0.1:6379"),
        ("head.example.org:6379", "head.example.org:6379"),
        ("ray://head:10001", "ray://head:10001"),
        ("[::1]:6379", "[::1]:6379"),
    ],
)
def test_valid_addresses(text: str, expected: str) -> None:
    assert executors.validate_address(text) == expected


@pytest.mark.parametrize(
    "text", ["head", "head:", "head:0", "head:70000", "http://head:80", "a b:1", "ray://:1"]
)
def test_invalid_addresses_name_the_value(text: str) -> None:
    with pytest.raises(ConfigError, match="ray address"):
        executors.validate_address(text)


def test_the_environment_wins_over_the_saved_setting(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(executors.ENV_ADDRESS, raising=False)
    assert executors.executor_name() == "local" and executors.address_source() == ""
    assert executors.save_address(" 10.0.0.5:6379 ") == "10.0.0.5:6379"
    assert executors.ray_address() == "10.0.0.5:6379" and executors.address_source() == "settings"
    assert executors.executor_name() == "ray"
    monkeypatch.setenv(executors.ENV_ADDRESS, "ray://head:10001")
    assert executors.ray_address() == "ray://head:10001" and executors.address_source() == "env"
    monkeypatch.delenv(executors.ENV_ADDRESS)
    assert executors.save_address("") == "" and executors.executor_name() == "local"
    with pytest.raises(ConfigError):
        executors.save_address("not an address")
    assert executors.ray_address() == ""  # the bad value was not saved


def test_a_damaged_setting_reads_as_the_local_worker(
    workspace: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(executors.ENV_ADDRESS, raising=False)
    (workspace / "runs").mkdir()
    (workspace / "runs" / ".executor-settings.json").write_text('{"ray_address": "x y"}')
    assert executors.ray_address() == ""


def test_cluster_state_round_trip(workspace: Path) -> None:
    assert executors.cluster_state() is None
    executors.write_cluster_state(reachable=False, address="127.0.0.1:1", error="refused")
    state = executors.cluster_state()
    assert state is not None and state["reachable"] is False and state["error"] == "refused"
    assert state["checked_at"]


def test_the_app_imports_without_ray() -> None:
    import subprocess
    import sys

    code = (
        "import sys; sys.modules['ray'] = None\n"  # `import ray` now fails, as without the package
        "import core.training.worker, core.training.ray_executor, core.training.ray_node, app.experiments.executor\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
