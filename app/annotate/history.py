"""The annotator's Undo / Redo, its list of versions to restore from, and the deleted projects.

Every saved change to a project's annotations is a version in its history (the last 50,
core.annotation.history); a deleted project waits in the workspace trash for 14 days
(core.annotation.trash). Names in summaries come from users and files: shown as text only.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import streamlit as st

from app.widgets.common import flash, literal, show_error
from core.annotation.history import Version
from core.annotation.projects import Project
from core.annotation.trash import TRASH_DAYS, list_trash, purge_trash, restore_project
from core.errors import MaskStudioError


def when(stamp: float) -> str:
    """A version's time, as a person reads it."""
    return time.strftime("%Y-%m-%d %H:%M:%S", time.localtime(stamp))


def _do(action: Callable[[], Version | None], verb: str, on_change: Callable[[], None]) -> None:
    try:
        version = action()
    except MaskStudioError as exc:
        show_error(exc)
        return
    if version is not None:
        flash("success", f"{verb}: {version.summary}")
    on_change()
    st.rerun()


def history_bar(project: Project, on_change: Callable[[], None] = lambda: None) -> None:
    """Undo, Redo and the list of versions of the open project. `on_change` runs after any of
    them changed the saved annotations (the page remounts its canvas)."""
    history = project.history
    versions, current = history.position()  # the index is read once per rerun
    can_undo = current is not None and current.seq != versions[0].seq
    can_redo = current is not None and current.seq != versions[-1].seq
    c_undo, c_redo, c_list = st.columns([1, 1, 2], vertical_alignment="bottom")
    undo_help = f"Undo: {current.summary}" if current is not None and can_undo else None
    if c_undo.button(
        "Undo", key="history_undo", icon=":material/undo:", disabled=not can_undo, help=undo_help
    ):
        _do(project.undo, "Undone", on_change)
    if c_redo.button("Redo", key="history_redo", icon=":material/redo:", disabled=not can_redo):
        _do(project.redo, "Redone", on_change)
    with c_list.popover(f"History ({len(versions)})", icon=":material/history:"):
        if not versions:
            st.caption("No saved change yet.")
            return
        newest_first = list(reversed(versions))
        st.dataframe(  # a table: names in summaries stay text
            [
                {
                    "": "◀ now" if current and v.seq == current.seq else "",
                    "time": when(v.time),
                    "change": v.summary,
                }
                for v in newest_first
            ],
            hide_index=True,
            width="stretch",
        )
        pick = st.selectbox(
            "Version to restore",
            [v.seq for v in newest_first],
            format_func=lambda s: next(f"{when(v.time)} · {v.summary}" for v in versions if v.seq == s),
            key=f"history_pick-{project.name}",
        )
        st.caption(f"The last {history.keep} versions are kept. Restoring is itself a change you can undo.")
        if st.button(
            "Restore this version",
            key="history_restore",
            disabled=current is not None and pick == current.seq,
        ):
            _do(lambda: project.restore(pick), "Restored", on_change)


def trash_panel() -> None:
    """The deleted projects (sidebar), each with a Restore button."""
    try:
        purge_trash()
        entries = list_trash()
    except (MaskStudioError, OSError) as exc:
        st.sidebar.caption(f"Deleted projects cannot be listed: {literal(exc)}")
        return
    if not entries:
        return
    with st.sidebar.expander(f"Deleted projects ({len(entries)})", icon=":material/restore_from_trash:"):
        st.caption(f"Kept {TRASH_DAYS} days after deletion, then removed for good.")
        for entry in entries:
            st.text(
                f"{entry.name}\ndeleted {when(entry.deleted_at)}, kept until {when(entry.expires_at())[:10]}"
            )
            if st.button("Restore", key=f"trash_restore-{entry.id}", icon=":material/restore:"):
                try:
                    name = restore_project(entry.id)
                except MaskStudioError as exc:
                    show_error(exc)
                    return
                st.session_state["project_created"] = name  # the project picker opens it
                st.query_params["project"] = name
                st.query_params.pop("image", None)
                flash("success", f"Restored project {name}.")
                st.rerun()
