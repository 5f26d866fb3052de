"""core.data.manifest: a content-addressed version id, canonical JSON, strict reading (FormatError),
atomic saving under <dataset>/.splits, and finding versions in the workspace."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from core.data.manifest import (
    FORMAT,
    SPLITS_DIR,
    Manifest,
    ManifestFile,
    find_manifest,
    list_versions,
    manifest_path,
    read_manifest,
    save_manifest,
)
from core.errors import FormatError, WorkspaceError


def sample(dataset: str = "faces", seed: int = 0) -> Manifest:
    files = [
        ManifestFile("mask/a.png", "mask", "a" * 64, "train", 0),
        ManifestFile("mask/b.png", "mask", "b" * 64, "train", 0),
        ManifestFile("nomask/c.png", "nomask", "c" * 64, "val"),
        ManifestFile("nomask/d.png", "nomask", "d" * 64, "test"),
    ]
    return Manifest(dataset, ["mask", "nomask"], files, seed=seed)


def test_version_is_twelve_hex_digits_and_ignores_file_order() -> None:
    m = sample()
    assert len(m.version) == 12 and int(m.version, 16) >= 0
    shuffled = Manifest(m.dataset, m.classes, list(reversed(m.files)), seed=m.seed)
    assert shuffled.version == m.version
    assert [f["path"] for f in shuffled.to_dict()["files"]] == sorted(f.path for f in m.files)


@pytest.mark.parametrize(
    "change",
    [
        lambda m: replace(m, seed=1),
        lambda m: replace(m, dataset="other"),
        lambda m: replace(m, files=[replace(m.files[0], split="val"), *m.files[1:]]),
        lambda m: replace(m, files=[replace(m.files[0], sha256="e" * 64), *m.files[1:]]),
        lambda m: replace(m, files=m.files[1:]),
        lambda m: replace(m, fractions={"train": 0.8, "val": 0.1, "test": 0.1}),
    ],
)
def test_any_change_of_data_or_split_changes_the_version(change: Any) -> None:
    assert change(sample()).version != sample().version


def test_split_files_and_counts_include_empty_cells() -> None:
    m = sample()
    assert [f.path for f in m.split_files("train")] == ["mask/a.png", "mask/b.png"]
    assert m.split_files("nope") == []
    assert m.counts() == {
        "train": {"mask": 2, "nomask": 0},
        "val": {"mask": 0, "nomask": 1},
        "test": {"mask": 0, "nomask": 1},
    }


def test_dict_round_trip_keeps_everything() -> None:
    m = sample(seed=7)
    back = Manifest.from_dict(json.loads(json.dumps(m.to_dict())))
    assert back == Manifest(m.dataset, m.classes, sorted(m.files, key=lambda f: f.path), seed=7)
    assert back.version == m.version and back.format == FORMAT


def _broken(**change: Any) -> dict[str, Any]:
    d = sample().to_dict()
    d.update(change)
    return d


@pytest.mark.parametrize(
    ("data", "why"),
    [
        ([], "not a"),
        (_broken(format="mask-studio-split/0"), "not a"),
        ({k: v for k, v in sample().to_dict().items() if k != "classes"}, "malformed"),
        (_broken(seed="seven"), "malformed"),
        (_broken(files=[{"path": "mask/a.png"}]), "malformed"),
        (_broken(files=[{**sample().to_dict()["files"][0], "extra": 1}]), "malformed"),
        (_broken(files=None), "malformed"),
        (_broken(files=[{**sample().to_dict()["files"][0], "split": "holdout"}]), "bad split or label"),
        (_broken(files=[{**sample().to_dict()["files"][0], "label": "cat"}]), "bad split or label"),
    ],
)
def test_bad_manifests_are_format_errors_naming_the_file(data: Any, why: str) -> None:
    with pytest.raises(FormatError, match=why) as info:
        Manifest.from_dict(data, file="v1.json")
    assert info.value.file == "v1.json"


@pytest.mark.parametrize("fractions", [[0.7, 0.15, 0.15], None])
def test_fractions_that_are_not_a_mapping_are_format_errors(fractions: Any) -> None:
    with pytest.raises(FormatError):
        Manifest.from_dict(_broken(fractions=fractions))


def test_save_writes_under_the_version_and_reads_back(tmp_path: Path) -> None:
    m = sample()
    path = save_manifest(m, tmp_path)
    assert path == manifest_path("faces", m.version, tmp_path)
    assert path.parent.name == SPLITS_DIR and path.parent.parent.name == "faces"
    assert read_manifest(path).version == m.version
    assert json.loads(path.read_text()) == m.to_dict()
    assert [p.name for p in path.parent.iterdir()] == [f"{m.version}.json"], "no temporary file left"


def test_saving_again_replaces_the_file_whole(tmp_path: Path) -> None:
    m = sample()
    path = save_manifest(m, tmp_path)
    path.write_text('{"truncated": ')  # a damaged copy is overwritten, not appended to
    assert save_manifest(m, tmp_path) == path
    assert read_manifest(path) == Manifest.from_dict(m.to_dict())


@pytest.mark.parametrize("content", [None, "{not json", '"a string"', "[]"])
def test_unreadable_manifest_files_are_format_errors(tmp_path: Path, content: str | None) -> None:
    path = tmp_path / "x.json"
    if content is not None:
        path.write_text(content)
    with pytest.raises(FormatError):
        read_manifest(path)


def test_list_versions_newest_first_and_find(tmp_path: Path) -> None:
    assert list_versions(tmp_path) == []
    old, new = sample("a"), sample("b", seed=3)
    p_old, p_new = save_manifest(old, tmp_path), save_manifest(new, tmp_path)
    os.utime(p_old, (1_000_000, 1_000_000))
    os.utime(p_new, (2_000_000, 2_000_000))
    assert list_versions(tmp_path) == [("b", new.version), ("a", old.version)]
    found, folder = find_manifest(old.version, tmp_path)
    assert found.version == old.version and folder == p_old.parent.parent


def test_find_manifest_of_an_unknown_version_is_a_workspace_error(tmp_path: Path) -> None:
    with pytest.raises(WorkspaceError, match="000000000000"):
        find_manifest("000000000000", tmp_path)
    save_manifest(sample(), tmp_path)
    with pytest.raises(WorkspaceError):
        find_manifest("000000000000", tmp_path)


def test_a_damaged_manifest_in_the_workspace_is_a_format_error(tmp_path: Path) -> None:
    path = save_manifest(sample(), tmp_path)
    path.write_text("{}")
    with pytest.raises(FormatError):
        find_manifest(path.stem, tmp_path)
