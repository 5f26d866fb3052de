"""AppTest of app.widgets.target_project.project_target, the one "which project" sidebar section behind
Predict's "Send to annotator" and Live's "Snapshot": the model's classes (never "face"), the guard
on hand-labelled projects, Live's one-category labelling, and a new project kept after a save."""

from __future__ import annotations

from pathlib import Path

from streamlit.testing.v1 import AppTest

from core.annotation.annotations import Box
from core.annotation.projects import Project
from tests.images import image_bytes
from tests.pages.conftest import run, texts


def target_script() -> None:
    """A page holding only the section (Live's form: relabel) and a "save" button that creates
    the chosen project and adds one image to it."""
    import streamlit as st

    from app.widgets.target_project import project_target
    from tests.images import image_bytes

    target = project_target(
        "t", "snapshots", "Snapshot", "Save to project", ("with_mask", "face"), relabel=True
    )
    st.session_state["seen"] = target
    if st.button("save", key="save"):
        project = target.open()
        if project is not None:
            project.add_image("shot.png", image_bytes((40, 30), (200, 180, 160)))
            target.saved_into(project.name)


def seen(at: AppTest):
    return at.session_state["seen"]


def test_a_new_project_is_the_default_and_stays_chosen_once_saved_into(workspace: Path) -> None:
    at = run(AppTest.from_function(target_script, default_timeout=30))
    target = seen(at)
    assert target.choice.is_new and target.labels == ("with_mask",)  # "face" is no class
    assert target.add_categories == ("with_mask",) and target.label is None
    at.sidebar.text_input(key="t_new").input("webcam")
    at.button(key="save").click()
    run(at)
    assert Project.open("webcam").list_images() == ["shot.png"]
    run(at)  # the next run keeps the new project as the target
    assert at.sidebar.selectbox(key="t_project").value == "webcam" and not seen(at).choice.is_new


def test_hand_labels_block_until_mixing_is_ticked_and_one_category_can_label_every_face(
    workspace: Path,
) -> None:
    truth = Project.create("truth")
    truth.add_image("a.png", image_bytes((80, 60), (200, 180, 160)))
    with truth.edit() as ann:
        ann.add_category("mask")
        ann.add_box("a.png", Box(10, 10, 40, 40, "mask"))
    at = run(AppTest.from_function(target_script, default_timeout=30))
    at.sidebar.selectbox(key="t_project").select("truth")
    run(at)
    assert "1 hand-labelled box(es)" in texts(at.sidebar, "warning")
    at.button(key="save").click()
    run(at)
    assert "Mix predictions into it" in texts(at, "warning") and truth.list_images() == ["a.png"]
    at.sidebar.checkbox(key="t_add").uncheck()
    run(at)
    assert "No category for with_mask in this project" in texts(at.sidebar, "caption")
    assert seen(at).add_categories == ()
    at.sidebar.selectbox(key="t_label:truth").select("mask")
    run(at)
    assert seen(at).label == "mask" and "No category" not in texts(at.sidebar, "caption")
    at.sidebar.checkbox(key="t_mix:truth").check()
    at.button(key="save").click()
    run(at)
    assert truth.list_images() == ["a.png", "shot.png"]
