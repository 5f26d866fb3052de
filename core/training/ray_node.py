"""What runs on a Ray node for core.training.ray_executor: the dataset version's archive (packed
here, unpacked and checked there) and `Trainer`, the actor that trains runs one at a time.

A trainer imports TensorFlow once when it starts and then trains run after run (as the local
worker does), so a run pays for dispatch only. Each run gets a temporary workspace on the node:
its dataset version unpacked once per node under $MASK_STUDIO_RAY_CACHE (default
/tmp/mask-studio-ray), every file checked against the manifest's sha256; no shared filesystem.
`ray` is imported here only inside methods (they run on a node, where it is installed).
"""

from __future__ import annotations

import hashlib
import io
import os
import shutil
import socket
import tarfile
import tempfile
import threading
from pathlib import Path
from typing import Any

from core.data.manifest import SPLITS_DIR, find_manifest
from core.data.provenance import SOURCES_FILE
from core.errors import DatasetError
from core.fsutil import atomic_write_json
from core.runs.store import claim_run, now_iso, read_json, write_status

#: Files polled while a run trains (the rest of the folder comes back when it ends).
LIVE_FILES = ("progress.json", "history.csv", "labels.txt")
_SKIP = {"config.json", "status.json", "cancel"}


# ---------------------------------------------------------------- the dataset version's archive


def pack_version(version: str, root: Path | None = None) -> bytes:
    """A tar of the version's manifest, its files and the dataset's provenance, paths relative
    to a workspace root (datasets/<dataset>/...). DatasetError when a listed file is missing."""
    manifest, folder = find_manifest(version, root)
    prefix = f"datasets/{folder.name}"
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        tar.add(folder / SPLITS_DIR / f"{version}.json", f"{prefix}/{SPLITS_DIR}/{version}.json")
        if (folder / SOURCES_FILE).is_file():
            tar.add(folder / SOURCES_FILE, f"{prefix}/{SOURCES_FILE}")
        for item in manifest.files:
            path = folder / item.path
            if not path.is_file():
                raise DatasetError(f"dataset version {version}: {item.path} is missing")
            tar.add(path, f"{prefix}/{item.path}")
    return buf.getvalue()


def unpack_version(version: str, data: bytes, base: Path) -> Path:
    """A workspace root under `base` holding the version (unpacked once per node, every file
    checked against the manifest's sha256). DatasetError when the archive does not match."""
    target = base / "versions" / version
    if target.is_dir():
        return target
    target.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{version}.", dir=target.parent))
    try:
        with tarfile.open(fileobj=io.BytesIO(data)) as tar:
            tar.extractall(staging, filter="data")
        manifest, folder = find_manifest(version, staging)
        for item in manifest.files:
            digest = hashlib.sha256((folder / item.path).read_bytes()).hexdigest()
            if digest != item.sha256:
                raise DatasetError(f"dataset version {version}: {item.path} does not match its sha256")
        try:
            staging.rename(target)
        except OSError:  # another run on this node unpacked it first
            if not target.is_dir():
                raise
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def node_base() -> Path:
    """Where a node keeps unpacked versions, image caches and run workspaces."""
    return Path(os.environ.get("MASK_STUDIO_RAY_CACHE") or tempfile.gettempdir()) / "mask-studio-ray"


class Trainer:
    """A Ray actor (wrapped by ray.remote) that trains one run at a time. `train` blocks; `poll`,
    `cancel` and `where` are answered from the actor's other threads meanwhile."""

    def __init__(self, warm: bool = True) -> None:
        self.base = node_base()
        (self.base / "ws").mkdir(parents=True, exist_ok=True)
        (self.base / "cache").mkdir(exist_ok=True)
        self._runs: dict[str, Path] = {}
        self._sent: dict[tuple[str, str], float] = {}
        self._cancelled: set[str] = set()
        self._lock = threading.Lock()
        if warm:  # pay for TensorFlow once, before the first run
            import keras  # noqa: F401

    def where(self) -> dict[str, Any]:
        """Where this trainer runs: host name, IP, Ray node id, pid, GPU ids."""
        import ray

        return {
            "node": socket.gethostname(),
            "node_ip": ray.util.get_node_ip_address(),
            "ray_node_id": ray.get_runtime_context().get_node_id(),
            "node_pid": os.getpid(),
            "gpu_ids": [str(g) for g in ray.get_gpu_ids()],
        }

    def cancel(self, run_id: str) -> None:
        """Stop `run_id` at its next batch (or before it starts)."""
        with self._lock:
            self._cancelled.add(run_id)
            run_dir = self._runs.get(run_id)
        if run_dir is not None:
            (run_dir / "cancel").write_text(now_iso())

    def poll(self, run_id: str) -> dict[str, bytes]:
        """The live files of `run_id` changed since the last poll."""
        run_dir = self._runs.get(run_id)
        out: dict[str, bytes] = {}
        for name in LIVE_FILES if run_dir is not None else ():
            assert run_dir is not None
            try:
                mtime = (run_dir / name).stat().st_mtime
                if self._sent.get((run_id, name)) != mtime:
                    out[name], self._sent[(run_id, name)] = (run_dir / name).read_bytes(), mtime
            except OSError:
                continue
        return out

    def train(self, run_id: str, config: dict[str, Any], package: list[Any]) -> dict[str, Any]:
        """Train one run in a temporary workspace; returns its final status and every file of its
        folder. `package`: [ObjectRef of the version's archive] (fetched only when not cached)."""
        from core.training.train import execute_run

        ws = Path(tempfile.mkdtemp(prefix="run-", dir=self.base / "ws"))
        run_dir = ws / "runs" / run_id
        try:
            run_dir.mkdir(parents=True)
            atomic_write_json(run_dir / "config.json", config)
            write_status(run_dir, state="queued", created_at=now_iso(), error=None)
            with self._lock:
                self._runs[run_id] = run_dir
                if run_id in self._cancelled:
                    (run_dir / "cancel").write_text(now_iso())
            if claim_run(run_id, ws):
                data_root = self._dataset(str(config.get("dataset_version", "")), package[0])
                (ws / "datasets").symlink_to(data_root / "datasets", target_is_directory=True)
                (ws / "cache").symlink_to(self.base / "cache", target_is_directory=True)
                execute_run(run_id, ws)
            else:
                write_status(run_dir, state="cancelled", finished_at=now_iso())
            files = {
                p.name: p.read_bytes()
                for p in sorted(run_dir.iterdir())
                if p.is_file() and p.name not in _SKIP and not p.name.startswith(".")
            }
            return {"status": read_json(run_dir / "status.json") or {}, "files": files}
        finally:
            with self._lock:
                self._runs.pop(run_id, None)
                self._cancelled.discard(run_id)
            shutil.rmtree(ws, ignore_errors=True)

    def _dataset(self, version: str, ref: Any) -> Path:
        import ray

        cached = self.base / "versions" / version
        return cached if cached.is_dir() else unpack_version(version, ray.get(ref), self.base)
