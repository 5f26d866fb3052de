"""Where Predict's "Send to annotator" and Live's "Snapshot" put predictions: one sidebar picker.

By default a new project named after the source and the day (`predictions-2026-11-29`), so
predictions never land in a ground-truth project by accident. An existing project whose boxes
were labelled by hand needs an explicit "mix them in" tick, with a warning.
"""

from __future__ import annotations

from dataclasses import dataclass

import streamlit as st

from app.ui.common import literal, show_error
from core.annotation.projects import Project, list_projects
from core.errors import MaskStudioError
from core.inference.predict_io import dated_project_name, human_labelled_boxes, open_or_create

NEW_PROJECT = "(new project)"


@dataclass
class TargetChoice:
    """The sidebar's choice: an existing project, or a new one and its name."""

    project: str  # NEW_PROJECT or an existing project's name
    new_name: str
    human_boxes: int  # hand-labelled boxes already in the chosen project
    mix_confirmed: bool

    @property
    def is_new(self) -> bool:
        return self.project == NEW_PROJECT

    @property
    def blocked(self) -> str | None:
        """Why nothing may be saved yet (None when it may)."""
        if self.is_new and not self.new_name.strip():
            return "Type a name for the new project in the sidebar first."
        if self.human_boxes and not self.mix_confirmed:
            return (
                f"Project {self.project} has hand-labelled boxes: tick “Mix predictions into it” in the "
                "sidebar first, or choose a new project."
            )
        return None

    def open(self) -> Project:
        """The chosen project; a new one is created (or reopened when made earlier today)."""
        return open_or_create(self.new_name) if self.is_new else Project.open(self.project)


def choose_target(prefix: str, source: str, label: str) -> TargetChoice:
    """Sidebar widgets (keys start with `prefix`): project, new name, and the mixing guard."""
    sb = st.sidebar
    names = list_projects()
    project = sb.selectbox(label, [NEW_PROJECT, *names], key=f"{prefix}_project")
    new_name, human, confirmed = "", 0, False
    if project == NEW_PROJECT:
        new_name = sb.text_input("New project name", value=dated_project_name(source), key=f"{prefix}_new")
    else:
        try:
            human = human_labelled_boxes(Project.open(project))
        except MaskStudioError as exc:
            show_error(exc)
        if human:
            sb.warning(
                f"{literal(project)} has {human} hand-labelled box(es). Predictions saved here are "
                "mixed with them (they keep their scores, so you can tell them apart).",
                icon=":material/warning:",
            )
            confirmed = sb.checkbox("Mix predictions into it", key=f"{prefix}_mix:{project}")
    return TargetChoice(project, new_name, human, confirmed)
