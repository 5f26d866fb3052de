"""Where Predict's "Send to annotator" and Live's "Snapshot" put predictions: one sidebar section.

By default a new project named after the source and the day (`predictions-2026-11-29`), so
predictions never land in a ground-truth project by accident. An existing project whose boxes
were labelled by hand needs an explicit "mix them in" tick, with a warning. The model's classes
the project lacks are added to it unless unticked (then those faces become "None"), and Live can
label every face as one category. A new project that was saved into stays chosen.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import streamlit as st

from app.widgets.common import literal, show_error
from core.annotation.annotations import NONE
from core.annotation.projects import Project, list_projects
from core.errors import MaskStudioError
from core.inference.predict_io import dated_project_name, human_labelled_boxes, label_fit, open_or_create
from core.inference.predictor import FACE

NEW_PROJECT = "(new project)"
PREDICTED = "(the predicted class)"


@dataclass
class TargetChoice:
    """The sidebar's choice: an existing project, or a new one and its name."""

    project: str  # NEW_PROJECT or an existing project's name
    new_name: str
    human_boxes: int  # hand-labelled boxes already in the chosen project
    mix_confirmed: bool
    categories: list[str] = field(default_factory=list)  # the chosen project's categories

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


def project_facts(name: str) -> tuple[int, list[str]]:
    """(hand-labelled boxes, categories) of project `name` (Project.load re-validates only when
    the file changed); MaskStudioError when it cannot be read."""
    project = Project.open(name)
    return human_labelled_boxes(project), project.load().categories


def choose_target(prefix: str, source: str, label: str) -> TargetChoice:
    """Sidebar widgets (keys start with `prefix`): project, new name, and the mixing guard."""
    sb = st.sidebar
    names = list_projects()
    project = sb.selectbox(label, [NEW_PROJECT, *names], key=f"{prefix}_project")
    new_name, human, confirmed, categories = "", 0, False, []
    if project == NEW_PROJECT:
        new_name = sb.text_input("New project name", value=dated_project_name(source), key=f"{prefix}_new")
    else:
        try:
            human, categories = project_facts(project)
        except MaskStudioError as exc:
            show_error(exc)
        if human:
            sb.warning(
                f"{literal(project)} has {human} hand-labelled box(es). Predictions saved here are "
                "mixed with them (they keep their scores, so you can tell them apart).",
                icon=":material/warning:",
            )
            confirmed = sb.checkbox("Mix predictions into it", key=f"{prefix}_mix:{project}")
    return TargetChoice(project, new_name, human, confirmed, categories)


@dataclass(frozen=True)
class ProjectTarget:
    """The sidebar's answer: which project, and how the predicted classes become its categories."""

    prefix: str
    choice: TargetChoice
    labels: tuple[str, ...]  # the model's classes (never FACE)
    add_missing: bool  # add the model's classes the project lacks
    label: str | None = None  # one category for every face; None: each face's predicted class

    @property
    def add_categories(self) -> tuple[str, ...]:
        return self.labels if self.add_missing else ()

    def open(self) -> Project | None:
        """The chosen project (created when new), or None after saying why not."""
        if (why := self.choice.blocked) is not None:
            st.warning(literal(why))
            return None
        return self.choice.open()

    def saved_into(self, project: str) -> None:
        """Keep a project that was just created chosen on the next runs."""
        if self.choice.is_new:
            st.session_state[_created_key(self.prefix)] = project


def _created_key(prefix: str) -> str:
    return f"_{prefix}_created"


def unlabelled(mapping: Mapping[str, str]) -> list[str]:
    """The predicted classes a save labelled "None" (the project has no such category)."""
    return sorted(k for k, v in mapping.items() if v == NONE and k != FACE)


def project_target(
    prefix: str, source: str, header: str, label: str, labels: Sequence[str], *, relabel: bool = False
) -> ProjectTarget:
    """The sidebar section `header` (widget keys start with `prefix`): the project (choose_target),
    whether to add the model's missing classes, and with `relabel` one category for every face."""
    sb = st.sidebar
    sb.header(header)
    labels = tuple(v for v in labels if v != FACE)
    created = st.session_state.pop(_created_key(prefix), None)
    if created in list_projects():
        st.session_state[f"{prefix}_project"] = created
    choice = choose_target(prefix, source, label)
    categories = choice.categories
    one = PREDICTED
    if relabel:
        one = sb.selectbox(
            "Label the faces as",
            [PREDICTED, *categories],
            key=f"{prefix}_label:{choice.project}",
            help="The predicted class (mapped to the project's category of the same name, else "
            "'None'), or one category for every face: hold a class in front of the camera and "
            "collect examples of it.",
        )
    add_missing = bool(labels) and sb.checkbox(
        "Add the model's classes missing from the project",
        value=True,
        key=f"{prefix}_add",
        help="Otherwise a predicted class the project lacks, and every uncertain face, becomes 'None'.",
    )
    if labels and categories and not add_missing and one == PREDICTED:
        _, unknown = label_fit(labels, categories)
        if unknown:
            sb.caption(
                f"No category for {', '.join(literal(u) for u in unknown)} in this project: "
                "those faces will be saved as 'None'."
            )
    return ProjectTarget(prefix, choice, labels, add_missing, None if one == PREDICTED else one)
