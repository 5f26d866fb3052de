"""Experiments page, Compare section: runs table, Plotly charts side by side, exports, actions."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from app.experiments.run_charts import (
    confusion_figure,
    curves_figure,
    figures_html,
    final_metrics_figure,
    record_labels,
    sweep_figure,
)
from app.widgets.common import act, literal
from app.widgets.make_active import make_active_button
from core.runs.active_model import get_active, record_reason
from core.runs.experiments import (
    comparison_rows,
    no_sweep_reason,
    per_class_rows,
    rename_run,
    rows_to_csv,
    run_label,
    run_name,
    sweep_points,
    varying_keys,
)
from core.runs.guardrails import check_collapse
from core.runs.metrics import UNREADABLE, checked_record
from core.runs.store import RunRecord, delete_run, list_runs

MAX_DEFAULT_SELECTED = 4


def _filters(records: list[RunRecord]) -> list[RunRecord]:
    c1, c2, c3 = st.columns(3)
    models = sorted({str(r.config.get("model")) for r in records})
    states = sorted({r.state for r in records})
    versions = sorted({str(r.config.get("dataset_version")) for r in records})
    f_models = c1.multiselect("Model", models, key="flt_models")
    f_states = c2.multiselect("State", states, key="flt_states")
    f_versions = c3.multiselect("Dataset version", versions, key="flt_versions")
    return [
        r
        for r in records
        if (not f_models or str(r.config.get("model")) in f_models)
        and (not f_states or r.state in f_states)
        and (not f_versions or str(r.config.get("dataset_version")) in f_versions)
    ]


def compare_section() -> None:
    checked = [checked_record(r) for r in list_runs()]
    records = [r for r, _ in checked]
    if not records:
        st.info(
            "No runs yet: start some in the Launch tab, or with `python -m core.training.cli run CONFIG.json`."
        )
        return
    shown = _filters(records)
    if not shown:
        st.info("No run matches these filters.")
        return
    active = get_active()
    _actions(shown, active)
    table = {row["run"]: row for row in comparison_rows(shown)}
    rows = [{"active": "★" if run == active else "", **row} for run, row in table.items()]
    st.dataframe(pd.DataFrame(rows), hide_index=True, width="stretch", key="runs_table")
    st.download_button("Runs table as CSV", rows_to_csv(rows), "runs.csv", "text/csv", key="dl_runs_csv")
    shown_ids = {r.run_id for r in shown}
    for r, why in checked:
        if why and r.run_id in shown_ids:
            st.warning(
                f"{literal(run_label(r))}: {UNREADABLE} ({literal(why)}); it is compared without its test figures.",
                icon=":material/warning:",
            )
    collapse_warnings(shown)

    by_id = {r.run_id: r for r in shown}
    done = [r.run_id for r in shown if r.state == "done"]
    kept = [i for i in st.session_state.get("_keep_compare", []) if i in by_id]
    selected_ids = st.multiselect(
        "Runs to compare",
        list(by_id),
        default=kept or done[:MAX_DEFAULT_SELECTED],
        format_func=lambda i: f"{run_label(by_id[i])} · {by_id[i].state}",
        key="compare_runs",
    )
    st.session_state["_keep_compare"] = selected_ids
    selected = [by_id[i] for i in selected_ids]
    if selected:
        _charts(selected, [table[r.run_id] for r in selected])


def collapse_warnings(records: list[RunRecord]) -> None:
    """One warning per finished run whose predictions collapse (core.runs.guardrails)."""
    for r in records:
        check = check_collapse(r.metrics) if r.state == "done" else None
        if check is not None and check.flagged:
            st.warning(f"{literal(run_label(r))}: {literal(check.sentence)}", icon=":material/warning:")


def _charts(selected: list[RunRecord], rows: list[dict[str, Any]]) -> None:
    """The charts and tables of the `selected` runs; `rows` are their comparison_rows."""
    figures = []
    c1, c2 = st.columns(2)
    acc, loss = curves_figure(selected, "accuracy"), curves_figure(selected, "loss")
    c1.plotly_chart(acc, key="fig_acc")
    c2.plotly_chart(loss, key="fig_loss")
    figures += [("Accuracy per epoch", acc), ("Loss per epoch", loss)]
    finished = [r for r in rows if r["state"] == "done"]
    c3, c4 = st.columns(2)
    if finished:
        bars = final_metrics_figure(finished)
        c3.plotly_chart(bars, key="fig_final")
        figures.append(("Final metrics", bars))
    keys = varying_keys(selected)
    if keys:
        key = c4.selectbox("Swept parameter", keys, key="sweep_key")
        sweep = sweep_figure(sweep_points(selected, key), key)
        c4.plotly_chart(sweep, key="fig_sweep")
        figures.append((f"Accuracy vs {key}", sweep))
    else:
        c4.info(no_sweep_reason(selected))
    matrices = [
        (r, confusion_figure(r, label)) for r, label in zip(selected, record_labels(selected), strict=True)
    ]
    matrices = [(r, f) for r, f in matrices if f is not None]
    if matrices:
        st.markdown("**Confusion matrices (test split)**")
        for start in range(0, len(matrices), 3):
            cols = st.columns(3)
            for col, (r, fig) in zip(cols, matrices[start : start + 3], strict=False):
                col.plotly_chart(fig, key=f"fig_cm_{r.run_id}")
                figures.append((f"Confusion matrix {run_label(r)}", fig))
    per_class = per_class_rows(selected)
    if per_class:
        st.markdown("**Per-class precision / recall / F1 (test split)**")
        st.dataframe(pd.DataFrame(per_class), hide_index=True, width="stretch")
    st.markdown("**Size and speed**")
    st.dataframe(
        pd.DataFrame(
            [
                {
                    "run": f"{r['name']} · {r['run']}" if r.get("name") else r["run"],
                    "parameters": r["params"],
                    "train seconds": r["train_seconds"],
                    "total seconds": r["total_seconds"],
                    "inference ms/image (batched)": r["inference_ms_per_image"],
                    "latency ms (one image)": r["latency_ms_single"],
                }
                for r in rows
            ]
        ),
        hide_index=True,
        width="stretch",
    )
    c_csv, c_html = st.columns(2)
    c_csv.download_button(
        "Comparison as CSV", rows_to_csv(rows), "comparison.csv", "text/csv", key="dl_cmp_csv"
    )
    # Built on click only: the page embeds plotly.js (megabytes), too much for every rerun.
    c_html.download_button(
        "Charts as standalone HTML",
        lambda: figures_html(figures),
        "comparison.html",
        "text/html",
        key="dl_cmp_html",
    )


def _actions(records: list[RunRecord], active: str | None) -> None:
    """Run actions, at the top: pick a run, rename it, make it the active model, delete it."""
    box = st.container(border=True)
    box.markdown("**Run actions**")
    by_id = {r.run_id: r for r in records}
    c_run, c_name = box.columns([1, 1], vertical_alignment="bottom")
    run_id = c_run.selectbox(
        "Run",
        list(by_id),
        format_func=lambda i: f"{run_label(by_id[i])} · {by_id[i].state}",
        key="action_run",
    )
    if not run_id:
        return
    record = by_id[run_id]
    with c_name.form(f"rename-{run_id}", border=False, enter_to_submit=True):
        c_text, c_btn = st.columns([3, 1], vertical_alignment="bottom")
        new_name = c_text.text_input("Run name", value=run_name(record), placeholder="e.g. lenet baseline")
        if c_btn.form_submit_button("Rename"):
            act(
                lambda: rename_run(record, new_name),
                lambda stored: f"Run {run_id} is now named {stored!r}." if stored else "Name removed.",
            )
    if record.state in ("failed", "interrupted"):
        box.error(f"This run {record.state}:")
        box.code(str(record.status.get("error") or "no error recorded"), language=None)
    check = check_collapse(record.metrics) if record.state == "done" else None
    if check is not None and check.flagged:
        box.warning(literal(check.sentence), icon=":material/warning:")
    c1, c2 = box.columns(2)
    label = "★ Active model" if run_id == active else "Make active model"
    reason = record_reason(record) if record.state == "done" else f"run is {record.state}"
    make_active_button(
        c1,
        run_id,
        key="make_active",
        label=label,
        disabled=reason is not None or run_id == active,
        help=reason,
        done=f"Run {run_id} is now the active model for Predict, Live and the annotator.",
        panel=box,
    )
    with c2.popover("Delete run", disabled=record.state in ("queued", "running")):
        st.write(f"Delete run {run_id} and its model files? This cannot be undone.")
        if st.button("Yes, delete", type="primary", key="confirm_delete"):
            act(lambda: delete_run(run_id), f"Deleted run {run_id}.")
