"""What runs on a Ray node: the dataset version's archive (every file checked) and the trainer's
bookkeeping, without a cluster (tests/core/training/test_ray_executor.py runs it on a real head)."""

from __future__ import annotations

from pathlib import Path

import pytest

from core.data.manifest import find_manifest
from core.errors import DatasetError
from core.training import ray_node
from tests.models.synth import make_dataset_version


def test_pack_and_unpack_a_version_checks_every_file(workspace: Path, tmp_path: Path) -> None:
    version = make_dataset_version(workspace, per_split=(2, 1, 1))
    data = ray_node.pack_version(version, workspace)
    root = ray_node.unpack_version(version, data, tmp_path / "node")
    manifest, folder = find_manifest(version, root)
    assert manifest.version == version and len(list(folder.glob("*/*.png"))) == len(manifest.files)
    assert ray_node.unpack_version(version, b"ignored: cached", tmp_path / "node") == root
    _, src = find_manifest(version, workspace)
    first = manifest.files[0].path
    (src / first).write_bytes(b"tampered")
    with pytest.raises(DatasetError, match="sha256"):
        ray_node.unpack_version(version, ray_node.pack_version(version, workspace), tmp_path / "n2")
    assert not (tmp_path / "n2" / "versions" / version).exists()  # nothing half-unpacked stays
    (src / first).unlink()
    with pytest.raises(DatasetError, match="missing"):
        ray_node.pack_version(version, workspace)


def test_a_run_cancelled_before_it_starts_comes_back_cancelled_and_leaves_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MASK_STUDIO_RAY_CACHE", str(tmp_path / "node"))
    trainer = ray_node.Trainer(warm=False)
    trainer.cancel("20260101-000000-lenet-abcdef")
    config = {"model": "lenet", "dataset_version": "0123456789ab", "image_size": 32}
    result = trainer.train("20260101-000000-lenet-abcdef", config, [None])
    assert result["status"]["state"] == "cancelled" and result["files"] == {}
    assert trainer.poll("20260101-000000-lenet-abcdef") == {}
    assert list((tmp_path / "node" / "mask-studio-ray" / "ws").iterdir()) == []  # workspace removed
