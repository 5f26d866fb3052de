"""core.annotation.history: a bounded, atomic history of annotations.json with undo, redo and
restore, as a project uses it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from core.annotation.annotations import Annotations, Box
from core.annotation.history import HISTORY_DIR, INDEX_FILE, OUTSIDE, History, describe_change
from core.annotation.projects import Project
from core.errors import ProjectError
from tests.images import image_bytes


@pytest.fixture
def project(workspace: Path) -> Project:
    return Project.create("p")


def boxes_of(project: Project, image: str) -> list[tuple[int, int, int, int]]:
    return [b.xyxy for b in project.load().boxes(image)]


def add(project: Project, image: str, x: int) -> None:
    with project.edit() as ann:
        ann.add_box(image, Box(x, 0, x + 20, 20))


def test_every_change_is_a_version_with_a_summary(project: Project) -> None:
    add(project, "a.png", 0)
    with project.edit() as ann:
        ann.add_category("mask")
    with project.edit() as ann:
        ann.set_label("a.png", 0, "mask")
    summaries = [v.summary for v in project.versions()]
    assert summaries == [
        "project created",
        "1 box added on a.png",
        "category mask added",
        "1 box relabelled on a.png",
    ]
    assert [v.seq for v in project.versions()] == [1, 2, 3, 4]


def test_an_edit_that_changes_nothing_adds_no_version(project: Project) -> None:
    add(project, "a.png", 0)
    with project.edit():
        pass
    project.save(project.load())
    assert len(project.versions()) == 2


def test_undo_and_redo_walk_the_versions(project: Project) -> None:
    add(project, "a.png", 0)
    add(project, "a.png", 30)
    assert project.undo().summary == "1 box added on a.png"
    assert boxes_of(project, "a.png") == [(0, 0, 20, 20)]
    project.undo()
    assert boxes_of(project, "a.png") == []
    with pytest.raises(ProjectError, match="nothing to undo"):
        project.undo()
    project.redo()
    project.redo()
    assert boxes_of(project, "a.png") == [(0, 0, 20, 20), (30, 0, 50, 20)]
    with pytest.raises(ProjectError, match="nothing to redo"):
        project.redo()


def test_a_change_after_undo_drops_the_redo_versions(project: Project) -> None:
    add(project, "a.png", 0)
    add(project, "a.png", 30)
    project.undo()
    add(project, "b.png", 0)
    assert not project.history.can_redo()
    assert [v.summary for v in project.versions()][-1] == "1 box added on b.png"
    assert len(project.versions()) == 3


def test_history_is_bounded_and_prunes_its_files(tmp_path: Path) -> None:
    history = History(tmp_path / "annotations.json", tmp_path / "images", keep=5)
    for n in range(8):
        history.commit(f'{{"n": {n}}}'.encode(), f"step {n}")
    kept = history.versions()
    assert [v.summary for v in kept] == [f"step {n}" for n in range(3, 8)]
    snapshots = sorted(int(p.stem) for p in (tmp_path / HISTORY_DIR).glob("*.json") if p.stem.isdigit())
    assert snapshots == [v.seq for v in kept]
    assert (tmp_path / "annotations.json").read_bytes() == b'{"n": 7}'
    for _ in range(4):
        history.undo()
    assert (tmp_path / "annotations.json").read_bytes() == b'{"n": 3}'
    assert not history.can_undo()


def test_history_keeps_within_its_byte_budget_but_always_two(tmp_path: Path) -> None:
    history = History(tmp_path / "annotations.json", tmp_path / "images", keep_bytes=3000)
    for n in range(6):
        history.commit(str(n).encode() * 1000, f"step {n}")  # 1,000 bytes each
    assert [v.summary for v in history.versions()] == ["step 3", "step 4", "step 5"]
    tiny = History(tmp_path / "b" / "annotations.json", tmp_path / "images", keep_bytes=10)
    for n in range(4):
        tiny.commit(str(n).encode() * 1000, f"step {n}")
    assert [v.summary for v in tiny.versions()] == ["step 2", "step 3"]


def test_the_project_keeps_fifty_versions(project: Project) -> None:
    for x in range(55):
        with project.edit() as ann:
            ann.add_category(f"c{x}")
    versions = project.versions()
    assert len(versions) == 50
    assert versions[-1].summary == "category c54 added"


def test_restore_brings_back_an_old_version_as_a_new_one(project: Project) -> None:
    add(project, "a.png", 0)
    first = project.versions()[-1]
    add(project, "a.png", 30)
    add(project, "b.png", 0)
    restored = project.restore(first.seq)
    assert restored is not None and restored.summary.endswith("1 box added on a.png")
    assert boxes_of(project, "a.png") == [(0, 0, 20, 20)] and boxes_of(project, "b.png") == []
    project.undo()  # the restore itself can be undone
    assert boxes_of(project, "b.png") == [(0, 0, 20, 20)]
    with pytest.raises(ProjectError):
        project.restore(999)


def test_a_file_changed_outside_the_history_is_kept_as_a_version(project: Project) -> None:
    add(project, "a.png", 0)
    outside = Annotations()
    outside.add_box("z.png", Box(0, 0, 30, 30))
    from core.annotation.formats.seed_json import save_seed_json

    save_seed_json(outside, project.annotations_path)  # an older app, a hand edit
    add(project, "a.png", 40)
    summaries = [v.summary for v in project.versions()]
    assert summaries[-2:] == [OUTSIDE, "1 box added on a.png"]
    project.undo()
    assert boxes_of(project, "z.png") == [(0, 0, 30, 30)]  # the outside version, not lost


def test_an_existing_project_starts_its_history_from_the_saved_file(project: Project) -> None:
    add(project, "a.png", 0)
    (project.root / HISTORY_DIR / INDEX_FILE).unlink()  # as a project made before the history
    add(project, "a.png", 30)
    project.undo()
    assert boxes_of(project, "a.png") == [(0, 0, 20, 20)]


def test_writes_are_atomic_and_leave_no_temporary_files(project: Project) -> None:
    for x in range(0, 90, 30):
        add(project, "a.png", x)
    project.undo()
    project.redo()
    leftovers = [p.name for p in project.root.rglob("*.tmp")]
    assert leftovers == []
    index = json.loads((project.root / HISTORY_DIR / INDEX_FILE).read_text())
    assert index["current"] == index["versions"][-1]["seq"]


def test_a_failed_write_leaves_history_and_file_as_they_were(
    project: Project, monkeypatch: pytest.MonkeyPatch
) -> None:
    add(project, "a.png", 0)
    before = project.annotations_path.read_bytes()
    index = (project.root / HISTORY_DIR / INDEX_FILE).read_bytes()

    def broken(*args: object, **kwargs: object) -> None:
        raise OSError("disk full")

    monkeypatch.setattr("core.annotation.history.atomic_write_bytes", broken)
    with pytest.raises(OSError):
        add(project, "a.png", 30)
    assert project.annotations_path.read_bytes() == before
    assert (project.root / HISTORY_DIR / INDEX_FILE).read_bytes() == index


def test_undo_brings_back_a_deleted_image_and_its_boxes(project: Project) -> None:
    name = project.add_image("a.png", image_bytes())
    add(project, name, 0)
    project.delete_image(name)
    assert project.list_images() == [] and project.load().images == {}
    assert project.versions()[-1].summary == "delete image a.png (1 box)"
    project.undo()
    assert project.list_images() == [name]
    assert boxes_of(project, name) == [(0, 0, 20, 20)]
    project.redo()
    assert project.list_images() == []


def test_undo_brings_back_a_deleted_category(project: Project) -> None:
    with project.edit() as ann:
        ann.add_category("mask")
        ann.add_box("a.png", Box(0, 0, 20, 20, "mask"))
    with project.edit() as ann:
        ann.delete_category("mask")
    assert project.load().boxes("a.png")[0].label == "None"
    project.undo()
    saved = project.load()
    assert "mask" in saved.categories and saved.boxes("a.png")[0].label == "mask"


@pytest.mark.parametrize(
    ("change", "summary"),
    [
        (lambda a: a.add_box("x", Box(50, 50, 90, 90)), "1 box added on x"),
        (lambda a: a.delete_box("x", 0), "1 box deleted on x"),
        (
            lambda a: (a.add_box("x", Box(50, 50, 90, 90)), a.add_box("y", Box(0, 0, 9, 9))),
            "2 boxes added on 2 images",
        ),
        (lambda a: a.add_category("new"), "category new added"),
        (lambda a: None, "annotations saved"),
    ],
)
def test_describe_change(change, summary: str) -> None:
    before = Annotations()
    before.add_box("x", Box(0, 0, 20, 20))
    after = before.copy()
    change(after)
    assert describe_change(before, after) == summary


def test_position_is_the_versions_and_the_current_one(tmp_path: Path) -> None:
    history = History(tmp_path / "annotations.json", tmp_path / "images")
    assert history.position() == ([], None)
    for n in range(3):
        history.commit(f'{{"n": {n}}}'.encode(), f"step {n}")
    history.undo()
    versions, current = history.position()
    assert versions == history.versions() and current == history.current() == versions[1]


def test_a_missing_file_is_written_again_by_a_commit_of_the_current_version(tmp_path: Path) -> None:
    history = History(tmp_path / "annotations.json", tmp_path / "images")
    history.commit(b'{"n": 1}', "step 1")
    (tmp_path / "annotations.json").unlink()
    assert history.commit(b'{"n": 1}', "again") is not None
    assert (tmp_path / "annotations.json").read_bytes() == b'{"n": 1}'
