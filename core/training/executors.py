"""Where queued runs train: the local worker (the default) or a Ray cluster.

The cluster's address comes from MASK_STUDIO_RAY_ADDRESS, else from the workspace setting
<workspace>/runs/.executor-settings.json that the Experiments page saves. With an address the
background worker (core.training.worker) hands queued runs to core.training.ray_executor and
reports the cluster's state in <workspace>/runs/.executor.json (reachable or not, and why).
Nothing here imports ray: the app runs without it installed.
"""

from __future__ import annotations

import importlib.util
import os
import re
from pathlib import Path
from typing import Any

from core.errors import ConfigError
from core.fsutil import atomic_write_json
from core.runs.store import now_iso, read_json
from core.workspace import runs_dir

ENV_ADDRESS = "MASK_STUDIO_RAY_ADDRESS"
EXECUTORS = ("local", "ray")
_SETTINGS = ".executor-settings.json"
_STATE = ".executor.json"
_ADDRESS = re.compile(r"^(ray://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9][A-Za-z0-9.-]{0,252}):(\d{1,5})$")


def validate_address(address: str) -> str:
    """`address` stripped: "" (the local worker), "host:port" (a cluster this machine is a node
    of) or "ray://host:port" (Ray Client, a remote cluster). ConfigError naming the value otherwise."""
    text = str(address).strip()
    if not text:
        return ""
    match = _ADDRESS.match(text)
    if match is None or not 0 < int(match.group(3)) < 65536:
        raise ConfigError(f"ray address {text!r} is not host:port or ray://host:port")
    return text


def saved_address(root: Path | None = None) -> str:
    """The address saved in the workspace setting ('' when none)."""
    value = (read_json(runs_dir(root) / _SETTINGS) or {}).get("ray_address", "")
    try:
        return validate_address(value) if isinstance(value, str) else ""
    except ConfigError:
        return ""


def save_address(address: str, root: Path | None = None) -> str:
    """Validate and save the workspace's Ray address ('' = local worker); returns it."""
    value = validate_address(address)
    base = runs_dir(root)
    base.mkdir(parents=True, exist_ok=True)
    atomic_write_json(base / _SETTINGS, {"ray_address": value, "saved_at": now_iso()})
    return value


def ray_address(root: Path | None = None) -> str:
    """The Ray cluster queued runs go to ('' = the local worker); the environment wins."""
    env = os.environ.get(ENV_ADDRESS, "").strip()
    return validate_address(env) if env else saved_address(root)


def address_source(root: Path | None = None) -> str:
    """'env', 'settings' or '' (no address: the local worker)."""
    if os.environ.get(ENV_ADDRESS, "").strip():
        return "env"
    return "settings" if saved_address(root) else ""


def executor_name(root: Path | None = None) -> str:
    """'ray' when queued runs go to a cluster, else 'local'."""
    return "ray" if ray_address(root) else "local"


def ray_installed() -> bool:
    """True when the `ray` package can be imported (requirements-ray.txt)."""
    return importlib.util.find_spec("ray") is not None


def write_cluster_state(root: Path | None = None, **fields: Any) -> dict[str, Any]:
    """Record what the dispatcher last saw of the cluster (reachable, error, nodes, cpus, gpus)."""
    state = {**fields, "checked_at": now_iso()}
    base = runs_dir(root)
    base.mkdir(parents=True, exist_ok=True)
    atomic_write_json(base / _STATE, state)
    return state


def cluster_state(root: Path | None = None) -> dict[str, Any] | None:
    """The dispatcher's last report on the cluster, or None before any."""
    return read_json(runs_dir(root) / _STATE)
