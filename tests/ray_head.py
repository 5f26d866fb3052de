"""A real local Ray head for tests and benchmarks/scale.py: loopback only, a temporary folder,
token authentication, no dashboard. Stopped by killing the process group it started (never
`ray stop`, which would stop every Ray on the machine)."""

from __future__ import annotations

import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


#: The environment a driver needs to join the head (token auth, loopback addresses).
def head_env(token: str) -> dict[str, str]:
    return {"RAY_AUTH_MODE": "token", "RAY_AUTH_TOKEN": token, "RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER": "0"}


@contextmanager
def local_head(num_cpus: int = 2, timeout: float = 120.0) -> Iterator[tuple[str, dict[str, str]]]:
    """Start a head on 127.0.0.1; yields (its address, the environment a driver needs)."""
    temp = Path(tempfile.mkdtemp(prefix="rayt-", dir="/tmp"))  # short: Ray's socket paths have a limit
    env = head_env(secrets.token_hex(32))
    port = _free_port()
    ray_bin = Path(sys.executable).with_name("ray")
    cmd = [
        str(ray_bin), "start", "--head", "--block", "--node-ip-address=127.0.0.1", f"--port={port}",
        f"--num-cpus={num_cpus}", "--num-gpus=0", "--include-dashboard=false", f"--temp-dir={temp}",
        f"--ray-client-server-port={_free_port()}", "--disable-usage-stats",
    ]  # fmt: skip
    log = open(temp / "head.log", "wb")
    proc = subprocess.Popen(
        cmd,
        env={**os.environ, **env, "MASK_STUDIO_RAY_CACHE": str(temp / "node")},  # removed with the head
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    address = f"127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + timeout
        while not (temp / "ray_current_cluster").is_file():
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("the Ray head did not start:\n" + (temp / "head.log").read_text()[-3000:])
            time.sleep(0.2)
        yield address, env
    finally:
        for sig in (signal.SIGTERM, signal.SIGKILL):  # the head, its raylet and its workers
            try:
                os.killpg(proc.pid, sig)
            except ProcessLookupError:
                break
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                pass
        log.close()
        shutil.rmtree(temp, ignore_errors=True)
