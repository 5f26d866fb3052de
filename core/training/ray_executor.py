"""The Ray executor: queued runs train on a Ray cluster; their folders stream back here.

`serve_ray` is the background worker's loop when a Ray address is set (core.training.executors).
It claims queued runs as the local worker does (so a run is claimed once) and hands each to a
trainer actor (core.training.ray_node.Trainer) that declares the run's resources: `cpus` CPUs,
and one GPU when the config asks for it and the cluster has one. Trainers are kept warm (one
TensorFlow import each) and train run after run; a run is claimed only when a trainer of its
shape is ready, so it stays 'queued' (and cancellable as such) until then. The dataset version
travels through Ray's object store as one archive, put once per version id (a digest of every
file's sha256). Progress and history are polled while a run trains; the model, metrics and the
final status come back at the end. The run's status says where it trained (executor, node).

Failures: a run's cancel flag is passed to its trainer (killed when the run does not stop in
CANCEL_GRACE_S); a trainer whose worker process or node died ends its run 'interrupted' with
the reason (queue it again from the Queue section); an unreachable cluster leaves queued runs
queued and says so in <workspace>/runs/.executor.json. Actors are never restarted and their
calls never retried, so no run trains twice. `ray` is imported here only inside functions.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from core.fsutil import atomic_write_bytes
from core.runs.config import RunConfig
from core.runs.store import (
    cancel_requested,
    claim_run,
    load_run,
    now_iso,
    queued_runs,
    run_path,
    write_status,
)
from core.training.executors import write_cluster_state
from core.training.ray_node import LIVE_FILES, Trainer, pack_version
from core.workspace import runs_dir

POLL_S = 1.0
RETRY_S = 10.0
CONNECT_TIMEOUT_S = 60.0
CANCEL_GRACE_S = 30.0
_LOOPBACK = {"127.0.0.1", "localhost", "::1", "[::1]"}
REPO = Path(__file__).resolve().parents[2]


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
    try:
        import ray
    except ImportError:
        error = "ray is not installed here: pip install -r requirements-ray.txt"
        write_cluster_state(root, reachable=False, address=address, error=error)
        return None
    env = {"TF_CPP_MIN_LOG_LEVEL": "2"}
    runtime_env: dict[str, Any] = {"env_vars": env}
    if address.startswith("ray://"):
        excludes = [".git", ".venv", "workspace", "tests", "docs", "benchmarks", "**/__pycache__"]
        runtime_env.update(working_dir=str(REPO), excludes=excludes)
    kwargs: dict[str, Any] = {"namespace": "mask-studio", "log_to_driver": False, "runtime_env": runtime_env}
    if loopback and not address.startswith("ray://"):
        kwargs["_node_ip_address"] = "127.0.0.1"
    errors: list[str] = []

    def init() -> None:
        try:
            ray.init(address=address, logging_level=logging.ERROR, **kwargs)
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


@dataclass
class _Slot:
    """One trainer actor: its shape (cpus, gpus), where it runs, and the run it trains."""

    handle: Any
    cpus: float
    gpus: int
    ready: Any  # ObjectRef of where(): resolved once the actor has started
    where: dict[str, Any] | None = None
    run_id: str | None = None
    done: Any = None
    poll: Any = None
    polled_at: float = 0.0
    cancel_sent: float | None = None


class RayDispatcher:
    """Hands queued runs of a workspace to warm trainers on the cluster and writes results back."""

    def __init__(self, ray: Any, address: str, root: Path | None = None) -> None:
        self.ray, self.address, self.root = ray, address, root
        self.slots: list[_Slot] = []
        self.packages: dict[str, Any] = {}  # version id -> ObjectRef of its archive
        self.finished = 0
        self.trainer = ray.remote(Trainer)

    @property
    def active(self) -> list[str]:
        return [s.run_id for s in self.slots if s.run_id is not None]

    def _slot_for(self, cpus: float, gpus: int, waiting: int = 1) -> _Slot | None:
        """A ready, idle trainer of this shape; None while none is (another is started, up to one
        per `waiting` run, while the cluster has room, idle trainers of other shapes making way)."""
        same = [s for s in self.slots if s.run_id is None and (s.cpus, s.gpus) == (cpus, gpus)]
        for slot in same:
            if slot.where is None and self.ray.wait([slot.ready], timeout=0)[0]:
                try:
                    slot.where = self.ray.get(slot.ready)
                except self.ray.exceptions.RayError:
                    self._drop(slot)
                    continue
            if slot.where is not None:
                return slot
        if len([s for s in same if s in self.slots]) >= waiting:  # enough start for the runs that wait
            return None
        total = self.ray.cluster_resources()
        room = float(total.get("CPU", 0)) - sum(s.cpus for s in self.slots)
        for idle in [s for s in self.slots if s.run_id is None and (s.cpus, s.gpus) != (cpus, gpus)]:
            if room >= cpus:
                break
            self._drop(idle)
            room += idle.cpus
        if room < cpus or gpus > total.get("GPU", 0) - sum(s.gpus for s in self.slots):
            return None
        handle = self.trainer.options(
            num_cpus=cpus, num_gpus=gpus, max_restarts=0, max_task_retries=0, max_concurrency=4
        ).remote()
        self.slots.append(_Slot(handle, cpus, gpus, handle.where.remote()))
        return None

    def _drop(self, slot: _Slot) -> None:
        self.slots.remove(slot)
        self.ray.kill(slot.handle, no_restart=True)

    def step(self) -> None:
        """Give queued runs to ready trainers (oldest first), then look at every training run."""
        gpus_here = self.ray.cluster_resources().get("GPU", 0) >= 1
        queue = queued_runs(self.root)
        for n, run_id in enumerate(queue):
            try:
                cfg = RunConfig.from_dict(load_run(run_id, self.root).config)
            except Exception as exc:  # noqa: BLE001 - a config that no longer reads fails its run
                if claim_run(run_id, self.root):
                    write_status(
                        run_path(run_id, self.root), state="failed", finished_at=now_iso(), error=str(exc)
                    )
                continue
            slot = self._slot_for(float(cfg.cpus), 1 if cfg.gpu and gpus_here else 0, len(queue) - n)
            if slot is None:
                break
            self.submit(run_id, cfg, slot)
        for slot in [s for s in self.slots if s.run_id is not None]:
            self._watch(slot)

    def submit(self, run_id: str, cfg: RunConfig, slot: _Slot) -> bool:
        """Claim a queued run and start it on `slot`; False when another process claimed it."""
        if not claim_run(run_id, self.root):
            return False
        path = run_path(run_id, self.root)
        write_status(path, executor="ray", ray_address=self.address, **(slot.where or {}))
        try:
            if cfg.dataset_version not in self.packages:
                self.packages[cfg.dataset_version] = self.ray.put(
                    pack_version(cfg.dataset_version, self.root)
                )
        except Exception as exc:  # noqa: BLE001 - the run fails with the reason; the loop goes on
            write_status(path, state="failed", finished_at=now_iso(), error=str(exc))
            return True
        config = load_run(run_id, self.root).config
        slot.run_id, slot.cancel_sent, slot.poll, slot.polled_at = run_id, None, None, 0.0
        slot.done = slot.handle.train.remote(run_id, config, [self.packages[cfg.dataset_version]])
        return True

    def _ready(self, ref: Any) -> bool:
        return ref is not None and bool(self.ray.wait([ref], timeout=0)[0])

    def _watch(self, slot: _Slot) -> None:
        ray, run_id = self.ray, str(slot.run_id)
        path = run_path(run_id, self.root)
        if self._ready(slot.poll):
            try:
                for name, data in ray.get(slot.poll).items():
                    if name in LIVE_FILES:
                        atomic_write_bytes(path / name, data)
            except ray.exceptions.RayError:  # the actor died: `done` says how
                pass
            slot.poll = None
        if slot.poll is None and time.monotonic() - slot.polled_at >= POLL_S:
            slot.poll, slot.polled_at = slot.handle.poll.remote(run_id), time.monotonic()
        if cancel_requested(path):
            if slot.cancel_sent is None:
                slot.handle.cancel.remote(run_id)
                slot.cancel_sent = time.monotonic()
            elif time.monotonic() - slot.cancel_sent > CANCEL_GRACE_S:
                self._drop(slot)
                write_status(path, state="cancelled", finished_at=now_iso())
                self.finished += 1
                return
        if self._ready(slot.done):
            self._finish(slot, path)

    def _finish(self, slot: _Slot, path: Path) -> None:
        ray = self.ray
        self.finished += 1
        try:
            result = ray.get(slot.done)
        except ray.exceptions.RayActorError as exc:
            self.slots.remove(slot)
            reason = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
            write_status(
                path,
                state="cancelled" if slot.cancel_sent is not None else "interrupted",
                finished_at=now_iso(),
                error=f"the Ray worker training this run died ({type(exc).__name__}: {reason})",
            )
            return
        except Exception as exc:  # noqa: BLE001 - recorded on the run
            write_status(path, state="failed", finished_at=now_iso(), error=f"{type(exc).__name__}: {exc}")
        else:
            files = result.get("files", {})
            for name in sorted(files, key=lambda n: n == "metrics.json"):  # metrics.json last
                atomic_write_bytes(path / name, files[name])
            remote = result.get("status", {})
            keep = {k: remote[k] for k in ("state", "error", "traceback") if k in remote}
            write_status(path, **keep, node_started_at=remote.get("started_at"), finished_at=now_iso())
        slot.run_id = slot.done = slot.poll = None

    def lose_all(self, reason: str) -> None:
        """The cluster went away: every training run ends interrupted, with the reason."""
        for run_id in self.active:
            write_status(
                run_path(run_id, self.root), state="interrupted", finished_at=now_iso(), error=reason
            )
        self.slots.clear()
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
