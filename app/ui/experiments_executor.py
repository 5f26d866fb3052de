"""The Queue section's executor: where queued runs train (this machine or a Ray cluster), the
cluster's last known state, and re-queueing runs that ended unfinished."""

from __future__ import annotations

import streamlit as st

from app.ui.common import flash, literal, show_error
from app.ui.experiments_queue import queue_section
from core.errors import MaskStudioError
from core.runs.experiments import run_label
from core.runs.store import list_runs
from core.training.executors import (
    ENV_ADDRESS,
    address_source,
    cluster_state,
    ray_address,
    ray_installed,
    requeue,
    save_address,
)


def executor_section() -> None:
    """An "Executor" expander: the Ray address (saved in the workspace settings) and its state."""
    address = ray_address()
    where = f"Ray cluster {address}" if address else "this machine (local worker)"
    with st.expander(f"Executor: {literal(where)}", icon=":material/hub:"):
        st.caption(
            "Queued runs and sweeps train on this machine, or on a Ray cluster when an address is set "
            "(host:port for a cluster this machine belongs to, ray://host:10001 for a remote one). "
            "The cluster's token goes in RAY_AUTH_TOKEN or RAY_AUTH_TOKEN_PATH, with RAY_AUTH_MODE=token, "
            "in the environment of the app: it is never saved here."
        )
        if address_source() == "env":
            st.info(f"Set by {ENV_ADDRESS}={literal(address)}: unset it to change it here.")
        else:
            with st.form("executor_form", border=False):
                text = st.text_input(
                    "Ray address (empty: this machine)", value=address, key="executor_address"
                )
                if st.form_submit_button("Save executor", key="executor_save"):
                    try:
                        saved = save_address(text)
                    except MaskStudioError as exc:
                        show_error(exc)
                    else:
                        flash("success", f"Queued runs now train on {saved or 'this machine'}.")
                        st.rerun()
        if address and not ray_installed():
            st.error("ray is not installed: pip install -r requirements-ray.txt", icon=":material/error:")
        state = cluster_state() if address else None
        if state and state.get("address") == address:
            if state.get("reachable"):
                st.caption(
                    f"Cluster: {state.get('nodes')} node(s), {state.get('cpus'):g} CPU(s), "
                    f"{state.get('gpus'):g} GPU(s) · checked {literal(state.get('checked_at', ''))}"
                )
            else:
                st.warning(
                    f"The Ray cluster is unreachable: {literal(state.get('error'))}. Queued runs stay "
                    "queued; the worker tries again every few seconds.",
                    icon=":material/cloud_off:",
                )


def requeue_section() -> None:
    """A button per recent run that ended interrupted: queue it again as a new run."""
    lost = [r for r in list_runs() if r.state == "interrupted"][:5]
    for r in lost:
        c_text, c_btn = st.columns([5, 1], vertical_alignment="center")
        c_text.caption(f"{literal(run_label(r))} · interrupted: {literal(r.status.get('error') or '')}")
        if c_btn.button("Re-queue", key=f"requeue_{r.run_id}"):
            try:
                new_id = requeue(r.run_id)
            except MaskStudioError as exc:
                show_error(exc)
            else:
                flash("success", f"Queued again as run {new_id}.")
                st.rerun()


def queue_page() -> None:
    """The Queue section with its executor above and the re-queue buttons below."""
    executor_section()
    queue_section()
    requeue_section()
