"""Experiments charts: short run labels, legends kept off the axes, tick labels wrapped."""

from __future__ import annotations

from app.experiments.run_charts import confusion_figure, curves_figure, final_metrics_figure, record_labels
from app.widgets.charts import LEGEND_BELOW, wrapped
from core.runs.experiments import comparison_rows, rename_run, short_id
from core.runs.store import list_runs, load_run
from tests.fake_runs import finished_run, make_manifest


def test_wrapped_breaks_at_spaces_and_hyphens_only() -> None:
    assert wrapped("mobilenet_v2-41036a") == "mobilenet_v2-<br>41036a"
    assert wrapped("found & right: with_mask") == "found & right:<br>with_mask"
    assert wrapped("short") == "short"
    assert wrapped("a_very_long_single_word_label") == "a_very_long_single_word_label"


def test_compare_charts_name_runs_by_short_labels(workspace) -> None:
    version = make_manifest()
    a = load_run(finished_run(version, "lenet", 8, 0.8))
    b = load_run(finished_run(version, "small_vgg", 32, 0.9))
    rename_run(b, "big batch")
    records = [load_run(a.run_id), load_run(b.run_id)]
    assert record_labels(records) == [short_id(a.run_id), "big batch"]

    curves = curves_figure(records, "accuracy")
    assert len(curves.data) == 4, "validation and training curves of both runs"
    shown = [t.name for t in curves.data if t.showlegend is not False]
    assert shown == [short_id(a.run_id), "big batch"], "one legend entry per run"
    assert curves.layout.legend.yref == "container" and curves.layout.legend.yanchor == "bottom"
    assert curves.layout.xaxis.title.text == "epoch" and curves.layout.yaxis.title.text == "accuracy"

    bars = final_metrics_figure(comparison_rows(records))
    assert list(bars.data[0].x) == [wrapped(short_id(a.run_id)), "big batch"]
    assert list(bars.data[1].y) == [0.8, 0.9] and bars.layout.xaxis.tickangle == 0
    assert list(bars.data[0].customdata) == [a.run_id, b.run_id], "hover names the whole run id"
    assert bars.layout.legend.to_plotly_json() == LEGEND_BELOW

    matrix = confusion_figure(records[1], "big batch")
    assert matrix is not None and matrix.layout.title.text == "big batch"
    assert len(list_runs()) == 2
