"""The Queue section's executor: where queued runs train (this machine or a Ray cluster) and the
cluster's last known state."""

from __future__ import annotations

import streamlit as st

from app.experiments.queue import queue_section
from app.widgets.common import flash, literal, show_error
from core.errors import MaskStudioError
from core.training.executors import (
    ENV_ADDRESS,
    address_source,
    cluster_state,
    ray_address,
    ray_installed,
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


def queue_page() -> None:
    """The Queue section with its executor above."""
    executor_section()
    queue_section()
