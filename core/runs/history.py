"""A run's history.csv: one row per epoch, the columns the union of the rows' keys."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from core.fsutil import atomic_write_text


def read_history(run_dir: Path) -> list[dict[str, Any]]:
    """history.csv as a list of rows with numbers parsed."""
    try:
        text = (run_dir / "history.csv").read_text(encoding="utf-8")
    except OSError:
        return []
    rows = []
    for row in csv.DictReader(io.StringIO(text)):
        parsed: dict[str, Any] = {}
        for key, value in row.items():
            try:
                parsed[key] = int(value) if key == "epoch" else float(value)
            except (TypeError, ValueError):
                parsed[key] = value
        rows.append(parsed)
    return rows


def rows_to_csv_text(rows: Sequence[dict[str, Any]]) -> str:
    """CSV text of `rows`; the columns are the union of the keys, in first-seen order."""
    columns: list[str] = []
    for row in rows:
        columns += [k for k in row if k not in columns]
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def write_history(run_dir: Path, rows: list[dict[str, Any]]) -> None:
    """Rewrite history.csv (atomic) with every row so far."""
    atomic_write_text(run_dir / "history.csv", rows_to_csv_text(rows))
