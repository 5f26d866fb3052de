""" "Make active" with guardrails, one for Compare and for the Predict/Live model picker.

A run is made active at once, as before, unless core.runs.guardrails.activation_check says to ask
first: the run is collapsed (its collapse sentence), or it scored lower on its last scene test than
the model it replaces. Then the button opens a confirm step in place (kept in session state, so it
survives reruns) showing the collapse sentence and both scene figures; "Make it active anyway"
makes it active, "Cancel" leaves the current model.
"""

from __future__ import annotations

import streamlit as st

from app.widgets.common import act, literal
from core.runs.active_model import set_active
from core.runs.guardrails import ActivationCheck, activation_check
from core.runs.scene_figures import STARTER, SceneFigure


def _replaced_name(check: ActivationCheck) -> str:
    if check.replaced == STARTER:
        return "the starter model"
    return f"run {check.replaced}" if check.replaced else "no model"


def figure_text(figure: SceneFigure | None) -> str:
    return figure.describe() if figure is not None else "no scene test yet"


def _confirm(where, run_id: str, key: str, done: str) -> None:
    check = activation_check(run_id)
    box = where.container(border=True)
    box.markdown(f"**Make run {literal(run_id)} the active model?**")
    if check.collapse.flagged:
        box.warning(literal(check.collapse.sentence), icon=":material/warning:")
    figures = check.figures
    if figures.lower:
        box.warning(
            f"It scored lower on the scene test than {literal(_replaced_name(check))}, which it replaces.",
            icon=":material/warning:",
        )
    lines = [f"- Run {literal(run_id)}: {literal(figure_text(figures.candidate))}"]
    if check.replaced is not None:
        lines.append(f"- Replaces {literal(_replaced_name(check))}: {literal(figure_text(figures.replaced))}")
    box.markdown("\n".join(lines))
    c_yes, c_no = box.columns(2)
    if c_yes.button("Make it active anyway", type="primary", key=f"{key}_confirm"):
        st.session_state.pop(f"{key}__pending", None)
        act(lambda: set_active(run_id), done)
    if c_no.button("Cancel", key=f"{key}_cancel"):
        st.session_state.pop(f"{key}__pending", None)
        st.rerun()


def make_active_button(
    where,
    run_id: str,
    *,
    key: str,
    label: str = "Make active model",
    disabled: bool = False,
    help: str | None = None,
    done: str | None = None,
    panel=None,
) -> None:
    """The button in `where`; it makes `run_id` active at once, or opens the confirm step (in
    `panel`) when the guardrails say to ask first. `done`: the success message."""
    message = done or f"Run {run_id} is now the active model."
    pending = f"{key}__pending"
    if st.session_state.get(pending) not in (None, run_id):
        st.session_state.pop(pending)  # another run was chosen meanwhile
    if st.session_state.get(pending) == run_id and not disabled:
        _confirm(panel if panel is not None else where, run_id, key, message)
        return
    if where.button(label, disabled=disabled, key=key, help=help):
        if activation_check(run_id).needs_confirm:
            st.session_state[pending] = run_id
            st.rerun()
        act(lambda: set_active(run_id), message)
