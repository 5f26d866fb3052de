"""The Ray executor: queued runs train on a Ray cluster; their folders stream back here.

`serve_ray` is the background worker's loop when a Ray address is set (core.training.executors).
It claims queued runs as the local worker does (so a run is claimed once), and starts one Ray
actor per run (`RunHost`) that declares the run's resources: `cpus` CPUs, and one GPU when the
config asks for it and the cluster has one. The dataset version travels through Ray's object
store as one archive, keyed by the version id (a digest of every file's sha256); a node unpacks it
once, checks every file against the manifest, and trains in a temporary workspace, so workers need
no shared filesystem. Progress and history are polled while it trains; the model, metrics and the
final status come back at the end. The run's status says where it trained (executor, node).

Failures: the cancel flag of a run is passed to its actor (and the actor is killed when it does not
stop in CANCEL_GRACE_S); an actor whose worker or node died ends its run 'interrupted' with the
reason (re-queue it from the Queue section); an unreachable cluster leaves queued runs queued and
says so in <workspace>/runs/.executor.json. Actors are never restarted and their calls never
retried, so no run trains twice. `ray` is imported here only inside functions.
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
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from core.data.manifest import SPLITS_DIR, find_manifest
from core.data.provenance import SOURCES_FILE
from core.errors import DatasetError, TrainingError
from core.fsutil import atomic_write_bytes, atomic_write_json
from core.runs.config import RunConfig
from core.runs.store import (
    cancel_requested,
    claim_run,
    load_run,
    now_iso,
    queued_runs,
    read_json,
    run_path,
    write_status,
)
from core.training.executors import write_cluster_state
from core.workspace import runs_dir

POLL_S = 1.0
RETRY_S = 10.0
CONNECT_TIMEOUT_S = 60.0
CANCEL_GRACE_S = 30.0
#: Files polled while a run trains, and those that come back at the end (metrics.json last).
LIVE_FILES = ("progress.json", "history.csv", "labels.txt")
_SKIP = {"config.json", "status.json", "cancel"}
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
REPO = Path(__file__).resolve().parents[2]


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


# ---------------------------------------------------------------- the actor (runs on a Ray node)


def node_base() -> Path:
    """Where a node keeps unpacked versions, image caches and run workspaces."""
    return Path(os.environ.get("MASK_STUDIO_RAY_CACHE") or tempfile.gettempdir()) / "mask-studio-ray"


class RunHost:
    """One run on a Ray node (wrapped by ray.remote). `train` blocks; `poll`, `cancel` and `where`
    are answered from other threads of the same actor meanwhile."""

    def __init__(self, run_id: str, config: dict[str, Any]) -> None:
        base = node_base()
        (base / "ws").mkdir(parents=True, exist_ok=True)
        self.base = base
        self.ws = Path(tempfile.mkdtemp(prefix="run-", dir=base / "ws"))
        self.run_id = run_id
        self.run_dir = self.ws / "runs" / run_id
        self.run_dir.mkdir(parents=True)
        atomic_write_json(self.run_dir / "config.json", config)
        write_status(self.run_dir, state="queued", created_at=now_iso(), error=None)
        self._sent: dict[str, float] = {}

    def where(self) -> dict[str, Any]:
        import ray

        ctx = ray.get_runtime_context()
        return {
            "node": socket.gethostname(),
            "node_ip": ray.util.get_node_ip_address(),
            "ray_node_id": ctx.get_node_id(),
            "node_pid": os.getpid(),
            "gpu_ids": [str(g) for g in ray.get_gpu_ids()],
        }

    def cancel(self) -> None:
        (self.run_dir / "cancel").write_text(now_iso())

    def poll(self) -> dict[str, bytes]:
        """The live files changed since the last poll."""
        out = {}
        for name in LIVE_FILES:
            try:
                mtime = (self.run_dir / name).stat().st_mtime
                if self._sent.get(name) != mtime:
                    out[name], self._sent[name] = (self.run_dir / name).read_bytes(), mtime
            except OSError:
                continue
        return out

    def train(self, package: list[Any]) -> dict[str, Any]:
        """Train the run; returns its final status and every file of its folder."""
        from core.training.train import execute_run

        try:
            if claim_run(self.run_id, self.ws):
                data_root = self._dataset(package[0])
                (self.ws / "datasets").symlink_to(data_root / "datasets", target_is_directory=True)
                (self.base / "cache").mkdir(exist_ok=True)
                (self.ws / "cache").symlink_to(self.base / "cache", target_is_directory=True)
                execute_run(self.run_id, self.ws)
            else:
                write_status(self.run_dir, state="cancelled", finished_at=now_iso())
            files = {
                p.name: p.read_bytes()
                for p in sorted(self.run_dir.iterdir())
                if p.is_file() and p.name not in _SKIP and not p.name.startswith(".")
            }
            return {"status": read_json(self.run_dir / "status.json") or {}, "files": files}
        finally:
            shutil.rmtree(self.ws, ignore_errors=True)

    def _dataset(self, ref: Any) -> Path:
        import ray

        version = str(self._config_version())
        cached = self.base / "versions" / version
        return cached if cached.is_dir() else unpack_version(version, ray.get(ref), self.base)

    def _config_version(self) -> str:
        return str((read_json(self.run_dir / "config.json") or {}).get("dataset_version", ""))


# ---------------------------------------------------------------- the dispatcher (this machine)


@dataclass
class _Active:
    run_id: str
    handle: Any
    done: Any
    started: float = field(default_factory=time.monotonic)
    where: Any = None
    poll: Any = None
    polled_at: float = 0.0
    cancel_sent: float | None = None


def _host_port(address: str) -> tuple[str, int]:
    rest = address.removeprefix("ray://")
    host, _, port = rest.rpartition(":")
    return host.strip("[]"), int(port)


def reachable(address: str, timeout: float = 3.0) -> str | None:
    """None when a TCP connection to the address opens, else why not."""
    host, port = _host_port(address)
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return None
    except OSError as exc:
        return f"{address} is unreachable ({exc.strerror or exc})"


def connect(address: str, root: Path | None = None) -> Any | None:
    """ray, connected to the cluster at `address` (its state recorded), or None when it cannot
    be reached in CONNECT_TIMEOUT_S. A loopback head is joined on 127.0.0.1; a ray:// address
    (Ray Client) ships this checkout's code as the job's working_dir."""
    host, _ = _host_port(address)
    loopback = host in _LOOPBACK
    if loopback:  # keep Ray on the loopback interface (otherwise it resolves the machine's address)
        os.environ["RAY_ENABLE_WINDOWS_OR_OSX_CLUSTER"] = "0"
    why = reachable(address)
    if why is not None:
        write_cluster_state(root, reachable=False, address=address, error=why)
        return None
    import ray

    env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
    runtime_env: dict[str, Any] = {"env_vars": env}
    if address.startswith("ray://"):
        excludes = [".git", ".venv", "workspace", "tests", "docs", "benchmarks", "**/__pycache__"]
        runtime_env.update(working_dir=str(REPO), excludes=excludes)
    kwargs: dict[str, Any] = {"namespace": "mask-studio", "log_to_driver": False, "runtime_env": runtime_env}
    if loopback:
        kwargs["_node_ip_address"] = "127.0.0.1"
    errors: list[str] = []

    def init() -> None:
        try:
            ray.init(address=address, logging_level="ERROR", **kwargs)
        except Exception as exc:  # noqa: BLE001 - any failure means "not connected", said plainly
            errors.append(f"{type(exc).__name__}: {exc}")

    thread = threading.Thread(target=init, daemon=True)
    thread.start()
    thread.join(CONNECT_TIMEOUT_S)
    if thread.is_alive() or errors or not ray.is_initialized():
        why = errors[0] if errors else f"no answer in {CONNECT_TIMEOUT_S:.0f} s (check RAY_AUTH_TOKEN)"
        write_cluster_state(root, reachable=False, address=address, error=why)
        return None
    _record_cluster(ray, address, root)
    return ray


def _record_cluster(ray: Any, address: str, root: Path | None) -> dict[str, Any]:
    total = ray.cluster_resources()
    nodes = [n for n in ray.nodes() if n.get("Alive")]
    return write_cluster_state(
        root,
        reachable=True,
        address=address,
        error=None,
        nodes=len(nodes),
        cpus=float(total.get("CPU", 0)),
        gpus=float(total.get("GPU", 0)),
    )


class RayDispatcher:
    """Hands queued runs of a workspace to the cluster and writes their results back."""

    def __init__(self, ray: Any, address: str, root: Path | None = None) -> None:
        self.ray, self.address, self.root = ray, address, root
        self.active: dict[str, _Active] = {}
        self.packages: dict[str, Any] = {}  # version id -> ObjectRef of its archive
        self.finished = 0
        self.host = ray.remote(RunHost)

    def capacity(self) -> float:
        return float(self.ray.cluster_resources().get("CPU", 0))

    def submit(self, run_id: str) -> bool:
        """Claim a queued run and start its actor; False when another process claimed it."""
        if not claim_run(run_id, self.root):
            return False
        path = run_path(run_id, self.root)
        write_status(path, executor="ray", ray_address=self.address, node=None)
        config = load_run(run_id, self.root).config
        try:
            cfg = RunConfig.from_dict(config)
            if cfg.dataset_version not in self.packages:
                self.packages[cfg.dataset_version] = self.ray.put(
                    pack_version(cfg.dataset_version, self.root)
                )
        except Exception as exc:  # noqa: BLE001 - the run fails with the reason; the loop goes on
            write_status(path, state="failed", finished_at=now_iso(), error=str(exc))
            return True
        gpus = 1 if cfg.gpu and self.ray.cluster_resources().get("GPU", 0) >= 1 else 0
        handle = self.host.options(
            num_cpus=cfg.cpus, num_gpus=gpus, max_restarts=0, max_task_retries=0, max_concurrency=4
        ).remote(run_id, config)
        done = handle.train.remote([self.packages[cfg.dataset_version]])
        self.active[run_id] = _Active(run_id, handle, done, where=handle.where.remote())
        return True

    def step(self) -> None:
        """Start queued runs while the cluster has CPUs for them, then look at every active run."""
        room = self.capacity() - sum(
            float(load_run(r, self.root).config.get("cpus", 1) or 1) for r in self.active
        )
        for run_id in queued_runs(self.root):
            cpus = float(load_run(run_id, self.root).config.get("cpus", 1) or 1)
            if cpus > room:
                break
            if self.submit(run_id):
                room -= cpus
        for item in list(self.active.values()):
            self._watch(item)

    def _ready(self, ref: Any) -> bool:
        return ref is not None and bool(self.ray.wait([ref], timeout=0)[0])

    def _watch(self, item: _Active) -> None:
        ray, path = self.ray, run_path(item.run_id, self.root)
        if self._ready(item.where):
            try:
                write_status(path, **ray.get(item.where))
            except Exception:  # noqa: BLE001 - the actor died; `done` says how
                pass
            item.where = None
        if self._ready(item.poll):
            try:
                for name, data in ray.get(item.poll).items():
                    if name in LIVE_FILES:
                        atomic_write_bytes(path / name, data)
            except Exception:  # noqa: BLE001 - the actor died; `done` says how
                pass
            item.poll = None
        if item.poll is None and time.monotonic() - item.polled_at >= POLL_S:
            item.poll, item.polled_at = item.handle.poll.remote(), time.monotonic()
        if cancel_requested(path):
            if item.cancel_sent is None:
                item.handle.cancel.remote()
                item.cancel_sent = time.monotonic()
            elif time.monotonic() - item.cancel_sent > CANCEL_GRACE_S:
                ray.kill(item.handle, no_restart=True)
                write_status(path, state="cancelled", finished_at=now_iso())
                del self.active[item.run_id]
                return
        if self._ready(item.done):
            self._finish(item, path)

    def _finish(self, item: _Active, path: Path) -> None:
        ray = self.ray
        del self.active[item.run_id]
        self.finished += 1
        try:
            result = ray.get(item.done)
        except ray.exceptions.RayActorError as exc:
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            write_status(
                path,
                state="cancelled" if item.cancel_sent is not None else "interrupted",
                finished_at=now_iso(),
                error=f"the Ray worker training this run died ({type(exc).__name__}: {reason})",
            )
            return
        except Exception as exc:  # noqa: BLE001 - recorded on the run
            write_status(path, state="failed", finished_at=now_iso(), error=f"{type(exc).__name__}: {exc}")
            return
        files = result.get("files", {})
        for name in sorted(files, key=lambda n: n == "metrics.json"):  # metrics.json last
            atomic_write_bytes(path / name, files[name])
        remote = result.get("status", {})
        keep = {k: remote[k] for k in ("state", "error", "traceback") if k in remote}
        write_status(path, **keep, node_started_at=remote.get("started_at"), finished_at=now_iso())
        ray.kill(item.handle, no_restart=True)

    def lose_all(self, reason: str) -> None:
        """The cluster went away: every active run ends interrupted, with the reason."""
        for run_id in list(self.active):
            write_status(
                run_path(run_id, self.root), state="interrupted", finished_at=now_iso(), error=reason
            )
        self.active.clear()
        self.packages.clear()


def serve_ray(address: str, root: Path | None = None, idle_exit_s: float = 60.0) -> int:
    """The worker loop with a Ray cluster: returns the number of runs it finished. Exits after
    `idle_exit_s` with nothing queued or running; retries an unreachable cluster every RETRY_S."""
    finished, idle_since, dispatcher, last_try = 0, time.monotonic(), None, -RETRY_S
    runs_dir(root).mkdir(parents=True, exist_ok=True)
    while True:
        busy = bool(queued_runs(root)) or (dispatcher is not None and bool(dispatcher.active))
        if not busy and time.monotonic() - idle_since >= idle_exit_s:
            return finished + (dispatcher.finished if dispatcher is not None else 0)
        if busy:
            idle_since = time.monotonic()
        if dispatcher is None and busy and time.monotonic() - last_try >= RETRY_S:
            last_try = time.monotonic()
            ray = connect(address, root)
            dispatcher = None if ray is None else RayDispatcher(ray, address, root)
        if dispatcher is not None:
            try:
                dispatcher.step()
            except Exception as exc:  # noqa: BLE001 - the cluster went away: say so, retry later
                why = reachable(address) or f"{type(exc).__name__}: {exc}"
                finished += dispatcher.finished
                dispatcher.lose_all(f"lost the Ray cluster: {why}")
                write_cluster_state(root, reachable=False, address=address, error=why)
                dispatcher.ray.shutdown()
                dispatcher = None
                continue
        time.sleep(POLL_S / 4 if dispatcher is not None and dispatcher.active else POLL_S)


def check_address(address: str) -> None:
    """TrainingError unless ray is installed (the page says how to install it)."""
    try:
        import ray  # noqa: F401
    except ImportError as exc:
        raise TrainingError(
            f"a Ray address is set ({address}) but ray is not installed: pip install -r requirements-ray.txt"
        ) from exc
