"""The starter model (core.runs.starter): status, labels, threshold, trained-photo hashes, loading a
tiny real model, and clear ClassifierErrors for missing or corrupt files."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from core.data.provenance import sha256_file
from core.errors import ClassifierError
from core.runs.starter import (
    ENV_VAR,
    FALLBACK_THRESHOLD,
    LITERT_FILE,
    LITERT_KEY,
    model_digest,
    ship_litert,
    shipped_litert,
    starter_classifier,
    starter_dir,
    starter_info,
    starter_labels,
    starter_status,
    starter_threshold,
    trained_photo_hashes,
)

LABELS = ("with_mask", "without_mask")


def make_starter(
    folder: Path,
    keras_bytes: bytes,
    *,
    labels: tuple[str, ...] = LABELS,
    info: dict | str | None = None,
) -> Path:
    """A starter folder as models/starter holds it: model.keras, labels.txt and (optionally)
    starter.json (a dict is written as JSON, a str as it is)."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "model.keras").write_bytes(keras_bytes)
    (folder / "labels.txt").write_text("".join(f"{v}\n" for v in labels), encoding="utf-8")
    if info is not None:
        text = info if isinstance(info, str) else json.dumps(info)
        (folder / "starter.json").write_text(text, encoding="utf-8")
    return folder


@pytest.fixture(scope="module")
def tiny_keras() -> bytes:
    from tests.tiny_models import tiny_lenet_files

    return tiny_lenet_files(seed=3)[0]


@pytest.fixture
def starter(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, tiny_keras: bytes, workspace: Path) -> Path:
    folder = make_starter(
        tmp_path / "starter",
        tiny_keras,
        info={"threshold": 0.7, "trained_photo_sha256": ["a" * 64, "b" * 64, 3]},
    )
    monkeypatch.setenv(ENV_VAR, str(folder))
    return folder


def test_the_env_var_names_the_folder(starter: Path) -> None:
    assert starter_dir() == starter
    status = starter_status()
    assert status.available and status.reason is None and status.path == starter


def test_labels_threshold_and_trained_hashes_come_from_the_files(starter: Path) -> None:
    assert starter_labels() == list(LABELS)
    assert starter_threshold() == 0.7
    assert trained_photo_hashes() == {"a" * 64, "b" * 64}  # the non-string entry is ignored
    assert starter_info()["threshold"] == 0.7


@pytest.mark.parametrize(
    "info",
    [None, "{not json", json.dumps([0.7]), json.dumps({"threshold": 1.5}), json.dumps({"threshold": "0.7"})],
    ids=["missing", "damaged", "not-a-dict", "out-of-range", "a-string"],
)
def test_a_missing_or_bad_starter_json_falls_back(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, info: str | None
) -> None:
    folder = make_starter(tmp_path / "s", b"PK-not-read-here", info=info)
    monkeypatch.setenv(ENV_VAR, str(folder))
    assert starter_threshold() == FALLBACK_THRESHOLD
    assert trained_photo_hashes() == set()
    assert starter_status().available  # the figures are unknown, the model may still load


def test_the_digest_changes_with_the_model_file(starter: Path) -> None:
    first = model_digest()
    assert len(first) == 16 and first == model_digest(starter / "model.keras")
    (starter / "model.keras").write_bytes(b"other bytes")
    assert model_digest() != first


def test_the_classifier_loads_and_classifies(starter: Path, workspace: Path) -> None:
    clf = starter_classifier(backend="keras")
    assert clf.labels == LABELS and clf.image_size == 32
    probs = clf.predict(np.zeros((2, 32, 32, 3), np.float32))
    assert probs.shape == (2, 2) and np.allclose(probs.sum(axis=1), 1.0, atol=1e-4)


def test_the_litert_copy_is_cached_in_the_workspace(starter: Path, workspace: Path) -> None:
    clf = starter_classifier(backend="litert")
    assert clf.backend == "litert"
    assert (workspace / "cache" / "starter" / f"{model_digest()}.tflite").is_file()


@pytest.mark.parametrize(
    ("setup", "words"),
    [
        (lambda f: None, "missing"),  # no folder at all
        (lambda f: make_starter(f, b""), "missing"),  # an empty model file
        (lambda f: make_starter(f, b"garbage bytes, no zip archive"), "cannot be loaded"),
        (lambda f: make_starter(f, b"PK\x03\x04garbage"), "cannot be loaded"),
        (lambda f: (make_starter(f, b"x"), (f / "labels.txt").unlink()), "labels.txt"),
        (lambda f: make_starter(f, b"x", labels=("with_mask",)), "fewer than two"),
    ],
    ids=["no-folder", "empty-model", "garbage", "bad-zip", "no-labels", "one-label"],
)
def test_missing_or_corrupt_files_raise_a_clear_classifier_error(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    workspace: Path,
    setup,
    words: str,
) -> None:
    folder = tmp_path / "starter"
    setup(folder)
    monkeypatch.setenv(ENV_VAR, str(folder))
    with pytest.raises(ClassifierError, match=words):
        starter_classifier()


def test_labels_that_do_not_fit_the_model_are_refused(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, workspace: Path, tiny_keras: bytes
) -> None:
    folder = make_starter(tmp_path / "s", tiny_keras, labels=("a", "b", "c"))
    monkeypatch.setenv(ENV_VAR, str(folder))
    with pytest.raises(ClassifierError, match="3 labels"):
        starter_classifier(backend="keras")


def test_a_shipped_litert_copy_fills_the_cache_when_starter_json_vouches_for_it(
    starter: Path, workspace: Path
) -> None:
    record = ship_litert(starter, workspace)
    shipped = (starter / LITERT_FILE).read_bytes()
    assert record["file"] == LITERT_FILE and record["keras_sha256"] == sha256_file(starter / "model.keras")
    info = json.loads((starter / "starter.json").read_text())
    (starter / "starter.json").write_text(json.dumps({**info, LITERT_KEY: record}))
    assert shipped_litert(starter) == shipped
    clf = starter_classifier(backend="litert")
    assert clf.backend == "litert" and clf.check.ok
    assert (workspace / "cache" / "starter" / f"{model_digest()}.tflite").read_bytes() == shipped


@pytest.mark.parametrize(
    "spoil",
    [
        lambda f, r: (f / "model.keras").write_bytes(
            (f / "model.keras").read_bytes() + b"\0"
        ),  # model remade
        lambda f, r: (f / LITERT_FILE).write_bytes(b"TFL3 not the file recorded"),
        lambda f, r: (f / LITERT_FILE).unlink(),
        lambda f, r: r.update(file="other.tflite"),
        lambda f, r: r.pop("sha256"),
    ],
    ids=["stale-keras", "changed-tflite", "no-tflite", "other-file", "no-digest"],
)
def test_a_stale_or_unvouched_litert_copy_is_never_used(starter: Path, workspace: Path, spoil) -> None:
    record = ship_litert(starter, workspace)
    spoil(starter, record)
    info = json.loads((starter / "starter.json").read_text())
    (starter / "starter.json").write_text(json.dumps({**info, LITERT_KEY: record}))
    assert shipped_litert(starter) is None


def test_without_a_shipped_copy_the_litert_file_is_exported_as_before(starter: Path, workspace: Path) -> None:
    assert not (starter / LITERT_FILE).exists()
    clf = starter_classifier(backend="litert")
    assert clf.backend == "litert"
    assert (workspace / "cache" / "starter" / f"{model_digest()}.tflite").stat().st_size > 0


def test_the_repository_starter_ships_a_litert_copy_of_its_own_model() -> None:
    """models/starter's model.tflite is recorded in its starter.json against its model.keras
    (a starter remade without its LiteRT copy, or with a stale one, fails here)."""
    from core.runs.starter import starter_dir as default_dir

    folder = default_dir()
    if not (folder / "model.keras").is_file():
        pytest.skip("no shipped starter in this checkout")
    assert shipped_litert(folder) is not None
