"""Experiments page, Queue section: live progress of queued and running runs, cancel, re-queue.

Every refresh reads only the run index's active runs and its five latest ended ones (never every
run folder), and restarts the worker when the last one was killed with runs still queued.
"""

from __future__ import annotations

import streamlit as st

from app.experiments.launch import _duration
from app.widgets.common import go_to_section, literal, show_error
from core.errors import MaskStudioError, TrainingError
from core.runs.experiments import progress_of, run_label
from core.runs.guardrails import check_collapse
from core.runs.store import ACTIVE_STATES, RunRecord, cancel_run, list_runs, load_run, requeue_run
from core.training.worker import resume_queue, worker_pid

REFRESH_S = 2.0
FINAL_STATES = ("done", "failed", "interrupted", "cancelled")
ENDED_SHOWN = 5


def _ended_since(watched: set[str], active_ids: set[str]) -> list[RunRecord]:
    """The watched runs that are no longer active, read from their folders (deleted ones dropped)."""
    out = []
    for run_id in sorted(watched - active_ids):
        try:
            out.append(load_run(run_id))
        except TrainingError:
            watched.discard(run_id)
    return out


def finished_notices(active: list[RunRecord]) -> None:
    """A "Finished: ..." notice for each run seen queued or running here that has ended since."""
    watching: set[str] = st.session_state.setdefault("queue_watching", set())
    finished: list[str] = st.session_state.setdefault("queue_finished", [])
    watching.update(r.run_id for r in active)
    for r in _ended_since(watching, {r.run_id for r in active}):
        if r.state in FINAL_STATES:
            watching.discard(r.run_id)
            finished.insert(0, r.run_id)
    by_id: dict[str, RunRecord] = {}
    for run_id in finished[:ENDED_SHOWN]:
        try:
            by_id[run_id] = load_run(run_id)
        except TrainingError:
            pass
    finished[:] = [i for i in finished if i in by_id]
    for run_id in list(finished):
        r = by_id[run_id]
        c_text, c_open, c_hide = st.columns([6, 2, 1], vertical_alignment="center")
        kind = c_text.success if r.state == "done" else c_text.warning
        kind(f"Finished: {run_label(r)} · {r.state}", icon=":material/flag:")
        check = check_collapse(r.metrics) if r.state == "done" else None
        if check is not None and check.flagged:
            c_text.warning(literal(check.sentence), icon=":material/warning:")
        if c_open.button("Open in Compare", key=f"open-cmp-{run_id}"):
            finished.remove(run_id)
            st.session_state["action_run"] = run_id
            go_to_section("exp_section", "Compare")
        if c_hide.button("✕", key=f"hide-fin-{run_id}", help="Dismiss"):
            finished.remove(run_id)
            st.rerun(scope="fragment")


def _worker_text(pid: int | None) -> str:
    """The worker's state in words (-1: its lock is held while it starts)."""
    if pid is None:
        return "idle"
    return f"running (pid {pid})" if pid > 0 else "starting"


@st.fragment(run_every=REFRESH_S)
def queue_section() -> None:
    """Re-runs on its own every REFRESH_S seconds; the rest of the page is not rerun."""
    try:
        pid = resume_queue()  # a killed worker is replaced here: the queue never waits for a new run
    except (MaskStudioError, OSError) as exc:
        show_error(exc)
        pid = worker_pid()
    active = list_runs(states=ACTIVE_STATES)
    st.caption(
        f"Training worker: {_worker_text(pid)}. "
        "Runs train one after another in a separate process: closing the tab or changing page "
        "does not stop them."
    )
    finished_notices(active)
    if not active:
        st.info("Nothing queued or running.")
    for r in sorted(active, key=lambda r: str(r.status.get("created_at", ""))):
        p = progress_of(r)
        c_text, c_btn = st.columns([5, 1], vertical_alignment="center")
        with c_text:
            st.markdown(f"**{literal(run_label(r))}** · {r.state}")
            if r.state == "running":
                st.progress(p.fraction or 0.0, text=p.text)
                bits = []
                if p.elapsed_s is not None:
                    bits.append(f"elapsed {_duration(p.elapsed_s)}")
                if p.eta_s is not None:
                    bits.append(f"about {_duration(p.eta_s)} left")
                if bits:
                    st.caption(" · ".join(bits))
        if c_btn.button("Cancel", key=f"cancel-{r.run_id}"):
            try:
                state = cancel_run(r.run_id)
                st.toast(
                    f"Run {r.run_id}: {'cancelled' if state == 'cancelled' else 'stopping at the next batch'}"
                )
            except MaskStudioError as exc:
                show_error(exc)
    for r in list_runs(states=("failed", "interrupted", "cancelled"), limit=ENDED_SHOWN):
        with st.expander(f"{literal(run_label(r))} · {r.state}"):
            st.code(str(r.status.get("error") or "no error recorded"), language=None)
            if st.button(
                "Queue again", key=f"requeue-{r.run_id}", help="Train this run again from the start"
            ):
                try:
                    requeue_run(r.run_id)
                    resume_queue()
                    st.toast(f"Run {r.run_id} queued again")
                except MaskStudioError as exc:
                    show_error(exc)
