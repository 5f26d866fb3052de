"""history.csv: numbers parsed back, missing cells empty, columns in first-seen order."""

from __future__ import annotations

from pathlib import Path

from core.runs.history import read_history, rows_to_csv_text, write_history


def test_history_round_trip(tmp_path: Path) -> None:
    rows = [
        {"epoch": 1, "phase": "head", "loss": 0.5},
        {"epoch": 2, "phase": "head", "loss": 0.25, "val_loss": 0.3},
    ]
    write_history(tmp_path, rows)
    back = read_history(tmp_path)
    assert back[1] == {"epoch": 2, "phase": "head", "loss": 0.25, "val_loss": 0.3}
    assert back[0]["loss"] == 0.5 and back[0]["val_loss"] == ""


def test_columns_are_the_union_in_first_seen_order() -> None:
    text = rows_to_csv_text([{"epoch": 1, "loss": 0.5}, {"epoch": 2, "val_loss": 0.4}])
    assert text.splitlines() == ["epoch,loss,val_loss", "1,0.5,", "2,,0.4"]


def test_a_missing_history_reads_empty(tmp_path: Path) -> None:
    assert read_history(tmp_path) == []
