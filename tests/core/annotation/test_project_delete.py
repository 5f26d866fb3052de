"""Deleting a project removes it, its images and its boxes, in one step (issue 12)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.annotation.annotations import Box
from core.annotation.projects import Project, delete_project, list_projects
from core.errors import WorkspaceError
from tests.images import image_bytes


def test_delete_project_removes_images_and_boxes(workspace: Path) -> None:
    keep = Project.create("keep")
    gone = Project.create("gone")
    image = gone.add_image("a.png", image_bytes(colour=(90, 90, 90)))
    with gone.edit() as ann:
        ann.add_box(image, Box(5, 5, 30, 30))
    delete_project("gone")
    assert list_projects() == ["keep"]
    assert not gone.root.exists()
    assert [p.name for p in (workspace / "projects").iterdir()] == ["keep"]  # no hidden leftover
    assert keep.load().images == {}
    with pytest.raises(WorkspaceError):
        delete_project("gone")
    with pytest.raises(WorkspaceError):
        delete_project("../keep")


def test_delete_image_removes_its_boxes(workspace: Path) -> None:
    project = Project.create("p")
    a, b = (
        project.add_image("a.png", image_bytes(colour=(90, 90, 90))),
        project.add_image("b.png", image_bytes(colour=(90, 90, 90))),
    )
    with project.edit() as ann:
        ann.add_box(a, Box(5, 5, 30, 30))
        ann.add_box(b, Box(5, 5, 30, 30))
    project.delete_image(a)
    assert project.list_images() == [b]
    assert set(project.load().images) == {b}
