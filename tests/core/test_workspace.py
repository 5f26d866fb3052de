"""LiteRT export keeps its temporary files inside the workspace (issue 12: Keras wrote a
SavedModel to /tmp although the README promises nothing is written outside the workspace)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pytest

from core.workspace import workspace_temp_dir


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
