"""core.annotation.trash: a deleted project waits in <workspace>/trash, can be restored, and
expires after TRASH_DAYS."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.annotation.annotations import Box
from core.annotation.projects import Project, delete_project, list_projects
from core.annotation.trash import TRASH_DAYS, list_trash, purge_trash, restore_project
from core.errors import ProjectError
from tests.images import image_bytes


def filled(name: str) -> Project:
    project = Project.create(name)
    image = project.add_image("a.png", image_bytes())
    with project.edit() as ann:
        ann.add_box(image, Box(5, 5, 30, 30))
    return project


def test_a_deleted_project_goes_to_the_trash_and_comes_back(workspace: Path) -> None:
    filled("gone")
    entry = delete_project("gone")
    assert list_projects() == []
    assert list_trash() == [entry] and entry.name == "gone"
    assert (workspace / "trash" / entry.id / "project" / "images" / "a.png").is_file()
    assert restore_project(entry.id) == "gone"
    assert list_trash() == []
    back = Project.open("gone")
    assert back.list_images() == ["a.png"]
    assert [b.xyxy for b in back.load().boxes("a.png")] == [(5, 5, 30, 30)]
    back.undo()  # its history came back with it
    assert back.load().boxes("a.png") == []


def test_restore_under_a_free_name_when_the_old_one_is_taken(workspace: Path) -> None:
    filled("p")
    entry = delete_project("p")
    Project.create("p")
    assert restore_project(entry.id) == "p_restored"
    assert list_projects() == ["p", "p_restored"]


@pytest.mark.parametrize("entry_id", ["nope", "..", "../projects", ""])
def test_restore_of_an_unknown_entry_is_refused(workspace: Path, entry_id: str) -> None:
    with pytest.raises(ProjectError):
        restore_project(entry_id)


def test_a_restored_entry_cannot_be_restored_twice(workspace: Path) -> None:
    filled("p")
    entry = delete_project("p")
    restore_project(entry.id)
    with pytest.raises(ProjectError):
        restore_project(entry.id)


def test_entries_expire_after_the_kept_days(workspace: Path) -> None:
    filled("old")
    filled("new")
    old = delete_project("old")
    new = delete_project("new")
    day = 86400
    assert purge_trash(now=old.deleted_at + (TRASH_DAYS - 1) * day) == []
    later = max(old.deleted_at, new.deleted_at) + TRASH_DAYS * day + 1
    assert sorted(purge_trash(now=later)) == ["new", "old"]
    assert list_trash() == []
    assert [p.name for p in (workspace / "trash").iterdir() if p.is_dir()] == []


def test_newest_first(workspace: Path) -> None:
    for name in ("a", "b"):
        filled(name)
        delete_project(name)
    entries = list_trash()
    assert [e.name for e in entries] == sorted((e.name for e in entries), key=lambda n: n, reverse=True)
    assert entries[0].deleted_at >= entries[1].deleted_at
