"""core.workspace: the one check of project and dataset folder names, and temporary files (the
LiteRT export's too) kept inside the workspace."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from core.errors import WorkspaceError
from core.workspace import existing_folder, new_folder, workspace_temp_dir


def test_new_folder_is_a_safe_child_and_refuses_a_taken_or_empty_name(tmp_path: Path) -> None:
    assert new_folder(tmp_path, "../My faces!", "dataset") == tmp_path.resolve() / "My_faces"
    (tmp_path / "taken").mkdir()
    with pytest.raises(WorkspaceError, match="a project named 'taken' already exists$"):
        new_folder(tmp_path, "taken", "project")
    with pytest.raises(WorkspaceError, match="exists; try taken_2"):
        new_folder(tmp_path, "taken", "dataset", taken_hint=lambda name: f"try {name}_2")
    with pytest.raises(WorkspaceError, match="letter or digit"):
        new_folder(tmp_path, "...", "dataset")


@pytest.mark.parametrize("name", ["a/b", "..", ".", "", "file.txt", "missing", "../outside"])
def test_existing_folder_is_one_folder_directly_inside(tmp_path: Path, name: str) -> None:
    base = tmp_path / "base"
    (base / "a" / "b").mkdir(parents=True)
    (base / "file.txt").write_text("x")
    (tmp_path / "outside").mkdir()
    assert existing_folder(base, "a", "dataset") == (base / "a").resolve()
    with pytest.raises(WorkspaceError):
        existing_folder(base, name, "dataset")


def test_temp_dir_is_inside_the_workspace_and_library_temp_files_follow(workspace: Path) -> None:
    before = tempfile.tempdir
    with workspace_temp_dir() as tmp:
        assert workspace in tmp.parents
        with tempfile.TemporaryDirectory() as other:  # what a library does on its own
            assert workspace in Path(other).parents
    assert tempfile.tempdir == before
    assert not tmp.exists()


def test_litert_export_writes_nothing_to_the_system_temp_folder(
    workspace: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import keras

    from core.vision.classifier import export_litert
    from models.lenet import make_model

    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(system_tmp))
    keras.utils.set_random_seed(0)
    content = export_litert(make_model((32, 32, 3), 2, neurons=8))
    assert content[4:8] == b"TFL3"  # a LiteRT flatbuffer
    assert list(system_tmp.iterdir()) == []
    # The export folder is removed; TensorFlow's autograph leaves its generated sources, in the
    # workspace's cache now.
    assert not [p for p in (workspace / "cache" / "tmp").iterdir() if p.name.startswith("mask-studio-")]
