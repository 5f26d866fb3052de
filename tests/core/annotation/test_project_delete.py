"""Deleting a project removes it, its images and its boxes, in one step (issue 12), into the
trash; a writer in another thread or process then gets a ProjectError and never brings it back
(issue 18)."""

from __future__ import annotations

import multiprocessing
import multiprocessing.synchronize
import threading
from pathlib import Path

import pytest

from core.annotation.annotations import Annotations, Box
from core.annotation.projects import Project, delete_project, list_projects
from core.annotation.trash import list_trash
from core.errors import ProjectError, WorkspaceError
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


def test_a_writer_waiting_for_the_lock_gets_a_project_error_and_recreates_nothing(workspace: Path) -> None:
    project = Project.create("p")
    outcome: list[BaseException | str] = []

    def add() -> None:
        try:
            outcome.append(Project(project.root).add_image("late.png", image_bytes()))
        except BaseException as exc:  # noqa: BLE001 - the test inspects what came out
            outcome.append(exc)

    with project.locked():  # the writer blocks here, then the project is deleted under the lock
        writer = threading.Thread(target=add)
        writer.start()
        writer.join(0.3)
        assert writer.is_alive()
        delete_project("p")
    writer.join(10)
    assert len(outcome) == 1 and isinstance(outcome[0], ProjectError), outcome
    assert "was deleted" in str(outcome[0])
    assert not project.root.exists() and list_projects() == []
    for write in (
        lambda: project.add_image("x.png", image_bytes()),
        lambda: project.save(Annotations()),
        lambda: project.import_annotations(Annotations()),
        lambda: project.undo(),
    ):
        with pytest.raises(ProjectError):
            write()
        assert not project.root.exists()
    with pytest.raises(ProjectError):
        with project.edit() as ann:
            ann.add_box("a.png", Box(0, 0, 20, 20))
    assert not project.root.exists()


def _keep_adding(root: str, started: multiprocessing.synchronize.Event, log: str) -> None:
    project = Project(root)
    n = errors = 0
    while errors < 3:  # every write after the deletion, a few times over
        n += 1
        try:
            project.add_image(f"img{n}.png", image_bytes(colour=(n % 250, 20, 20)))
            with project.edit() as ann:
                ann.add_box(f"img{n}.png", Box(0, 0, 20, 20))
        except Exception as exc:  # noqa: BLE001
            errors += 1
            with open(log, "a") as fh:
                fh.write(f"{type(exc).__name__}\n")
        if n == 3:
            started.set()


def test_a_second_process_adding_images_cannot_bring_a_deleted_project_back(workspace: Path) -> None:
    project = Project.create("p")
    ctx = multiprocessing.get_context("fork")
    started = ctx.Event()
    log = workspace / "child.log"
    child = ctx.Process(target=_keep_adding, args=(str(project.root), started, str(log)))
    child.start()
    try:
        assert started.wait(30)
        delete_project("p")
    finally:
        child.join(30)
    assert child.exitcode == 0
    assert log.read_text().splitlines() == ["ProjectError"] * 3
    assert not project.root.exists() and list_projects() == []
    (entry,) = list_trash()
    assert len(Project(workspace / "trash" / entry.id / "project").list_images()) >= 3
