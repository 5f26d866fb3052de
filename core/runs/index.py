"""The run index: one row per run folder (its config and status) in `<workspace>/runs/.index/runs.sqlite`,
so listing runs reads one small database instead of every folder's JSON files.

The folders stay the record; the index is a cache that core.runs.store keeps in step (create,
status change, delete) and re-syncs on every listing: folder names added or removed behind its
back are found by comparing one directory listing with the indexed ids, and runs that are not in a
final state are re-read from their status.json. A missing, damaged or older-format index is
rebuilt from the folders. SQLite (stdlib `sqlite3`) gives atomic, inter-process-locked updates;
a stale write never replaces a newer one (rows carry the status's `updated_at`).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

#: The index lives in its own folder, so that SQLite's journal files never touch the runs folder's
#: mtime (core.runs.store compares folder names only when that mtime moves).
INDEX_DIR = ".index"
INDEX_FILE = "runs.sqlite"
SCHEMA_VERSION = 1
_SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    state TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL,
    config TEXT NOT NULL,
    status TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS runs_state ON runs(state);
CREATE INDEX IF NOT EXISTS runs_created ON runs(created_at);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""


@contextmanager
def open_index(runs_folder: Path) -> Iterator[sqlite3.Connection]:
    """A connection to the index of `runs_folder` (created, or rebuilt empty when damaged or of
    another format), committed when the block ends without an error."""
    folder = runs_folder / INDEX_DIR
    folder.mkdir(parents=True, exist_ok=True)
    conn = _connect(folder / INDEX_FILE)
    try:
        yield conn
        conn.commit()
    finally:
        conn.close()


def _connect(path: Path) -> sqlite3.Connection:
    for attempt in (1, 2):
        conn = sqlite3.connect(path, timeout=60.0)
        try:
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version != SCHEMA_VERSION:
                if version != 0:
                    raise sqlite3.DatabaseError(f"index format {version}")
                conn.execute("PRAGMA journal_mode=WAL")  # readers never wait for a writer
                conn.executescript(_SCHEMA)
                conn.execute(f"PRAGMA user_version={SCHEMA_VERSION}")
                conn.commit()
            conn.execute("PRAGMA synchronous=NORMAL")  # a cache: the folders are the durable record
            return conn
        except sqlite3.DatabaseError:
            conn.close()
            if attempt == 2:
                raise
            for suffix in ("", "-wal", "-shm"):  # a cache: rebuilt from the folders
                Path(f"{path}{suffix}").unlink(missing_ok=True)
    raise AssertionError("unreachable")


def upsert(conn: sqlite3.Connection, run_id: str, config: dict[str, Any], status: dict[str, Any]) -> None:
    """Record a run's config and status, unless the index already holds a newer status."""
    conn.execute(
        "INSERT INTO runs(run_id, state, created_at, updated_at, config, status) VALUES (?, ?, ?, ?, ?, ?) "
        "ON CONFLICT(run_id) DO UPDATE SET state=excluded.state, created_at=excluded.created_at, "
        "updated_at=excluded.updated_at, config=excluded.config, status=excluded.status "
        "WHERE excluded.updated_at >= runs.updated_at",
        (
            run_id,
            str(status.get("state", "failed")),
            str(status.get("created_at", "")),
            str(status.get("updated_at", "")),
            json.dumps(config, allow_nan=True),
            json.dumps(status, allow_nan=True),
        ),
    )


def set_status(
    conn: sqlite3.Connection, run_id: str, status: dict[str, Any], *, newer_only: bool = True
) -> None:
    """Update the status of an indexed run (a run not in the index is left to the next sync);
    with `newer_only`, not over a status with a later `updated_at`."""
    stamp = str(status.get("updated_at", ""))
    conn.execute(
        "UPDATE runs SET state=?, created_at=?, updated_at=?, status=? WHERE run_id=?"
        + (" AND updated_at <= ?" if newer_only else ""),
        (
            str(status.get("state", "failed")),
            str(status.get("created_at", "")),
            stamp,
            json.dumps(status, allow_nan=True),
            run_id,
            *((stamp,) if newer_only else ()),
        ),
    )


def remove(conn: sqlite3.Connection, run_ids: Iterable[str]) -> None:
    """Forget runs (their folders are gone)."""
    conn.executemany("DELETE FROM runs WHERE run_id=?", [(i,) for i in run_ids])


def indexed_ids(conn: sqlite3.Connection) -> set[str]:
    """Every run id in the index."""
    return {row[0] for row in conn.execute("SELECT run_id FROM runs")}


def rows(
    conn: sqlite3.Connection, states: Sequence[str] | None = None, limit: int | None = None
) -> list[tuple[str, str, dict[str, Any]]]:
    """(run id, config as JSON text, status) of the indexed runs (those in `states` when given),
    newest first, at most `limit`."""
    sql, args = "SELECT run_id, config, status FROM runs", list[Any]()
    if states is not None:
        sql += f" WHERE state IN ({','.join('?' * len(states))})"
        args += list(states)
    sql += " ORDER BY created_at DESC, run_id DESC"
    if limit is not None:
        sql += " LIMIT ?"
        args.append(int(limit))
    return [(run_id, config, json.loads(status)) for run_id, config, status in conn.execute(sql, args)]


def stamps(conn: sqlite3.Connection, states: Sequence[str]) -> dict[str, str]:
    """{run id: stored updated_at} of the runs whose stored state is one of `states`."""
    marks = ",".join("?" * len(states))
    return dict(conn.execute(f"SELECT run_id, updated_at FROM runs WHERE state IN ({marks})", list(states)))


def get_meta(conn: sqlite3.Connection, key: str) -> str | None:
    """A value the store keeps beside the rows (the runs folder's last compared mtime)."""
    row = conn.execute("SELECT value FROM meta WHERE key=?", (key,)).fetchone()
    return None if row is None else str(row[0])


def set_meta(conn: sqlite3.Connection, key: str, value: str | None) -> None:
    """Set (or, with None, forget) a meta value."""
    if value is None:
        conn.execute("DELETE FROM meta WHERE key=?", (key,))
    else:
        conn.execute(
            "INSERT INTO meta(key, value) VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value=excluded.value",
            (key, value),
        )
