"""Compare (app/experiments/compare.py) with a run whose metrics.json was edited by hand."""

from __future__ import annotations

import pytest

from core.fsutil import atomic_write_text
from core.runs.store import run_path
from tests.fake_runs import finished_run, make_manifest
from tests.pages.conftest import open_page, open_section, run, texts

BAD_METRICS = [
    '"oops"',
    "[1, 2]",
    '{"accuracy": "high", "per_class": "x", "confusion_matrix": "x", "classes": 3}',
    '{"accuracy": 0.9, "per_class": {"with_mask": "x"}, "confusion_matrix": [[1, "a"]], "params_total": []}',
    "{not json",
]


@pytest.mark.parametrize("bad", BAD_METRICS)
def test_a_run_with_unreadable_metrics_is_named_and_the_others_still_compare(workspace, bad: str) -> None:
    version = make_manifest()
    good_a = finished_run(version, "lenet", 8, 0.8)
    good_b = finished_run(version, "lenet", 32, 0.9)
    broken = finished_run(version, "lenet", 16, 0.85)
    atomic_write_text(run_path(broken) / "metrics.json", bad)
    at = open_section(run(open_page("experiments.py")), "Compare")
    at.multiselect(key="compare_runs").set_value([good_a, broken, good_b])
    run(at)
    assert "metrics unreadable" in texts(at, "warning", "caption", "markdown", "info")
    table = at.dataframe[0].value
    assert set(table["run"]) == {good_a, good_b, broken}
    assert len(at.get("plotly_chart")) >= 4  # curves, final metrics of the two good runs, their matrices
