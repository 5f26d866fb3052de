"""core.review.ranking: the model a queue is scored with, the Predict crop, the review order."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from core.annotation.projects import Project
from core.geometry import MatchingError
from core.imaging import CROP_SIZE, load_rgb_array
from core.inference.predictor import crop_faces
from core.review.ranking import (
    ModelInfo,
    QueueEntry,
    base_features_of,
    check_classes,
    default_model_ref,
    model_info,
    rank,
    score_candidates,
)
from core.review.scores import WHY_RANDOM
from core.review.sources import Candidate, Collected, ReviewError, Source, collect
from core.runs.active_model import set_active
from tests.core.review.conftest import CLASSES, ColourModel, FakeDetector


def test_model_info_names_the_run_its_file_digest_and_classes(run_id: str) -> None:
    info = model_info(run_id)
    assert info.run_id == run_id and info.labels == CLASSES and len(info.digest) == 16
    assert Path(info.file).name == "best.keras" and info.mtime > 0
    assert ModelInfo.from_dict(info.to_dict()) == info
    assert ModelInfo.from_dict({"run_id": "x"}) is None


def test_the_default_model_is_the_active_run_and_bad_refs_are_refused(workspace: Path, run_id: str) -> None:
    with pytest.raises(ReviewError, match="no model"):
        default_model_ref()  # no active model and no starter in the test workspace
    set_active(run_id)
    assert default_model_ref() == run_id and model_info().run_id == run_id
    with pytest.raises(ReviewError, match="cannot rank"):
        model_info("no-such-run")
    with pytest.raises(ReviewError, match="starter"):
        model_info("starter")


@pytest.mark.parametrize(
    ("categories", "ok"),
    [
        (["None"], True),
        (["None", "mask", "no_mask", "other"], True),
        (["None", "mask"], False),
        (["None", "a", "b"], False),
    ],
)
def test_a_model_whose_classes_are_not_the_projects_is_refused(categories: list[str], ok: bool) -> None:
    if ok:
        check_classes(CLASSES, categories, "p")
    else:
        with pytest.raises(ReviewError, match="do not match"):
            check_classes(CLASSES, categories, "p")


def test_faces_are_cropped_as_predict_crops_them_one_batch_per_chunk(project: Project) -> None:
    got = collect(Source("project", "p"), detector=FakeDetector())
    model = ColourModel()
    scored = score_candidates(got.candidates, model, features=False)
    assert model.batches == [4], "every face of the source in one batch"
    assert scored.probs.shape == (4, 2) and scored.features is None
    frame = load_rgb_array(project.image_path("a.png"))
    expected = model.predict(crop_faces(frame, [got.candidates[0].xyxy], model.image_size))
    np.testing.assert_allclose(scored.probs[0], expected[0])


def test_a_photo_gone_since_detection_is_skipped(project: Project) -> None:
    got = collect(Source("project", "p"), detector=FakeDetector())
    (project.images_dir / "b.png").unlink()
    scored = score_candidates(got.candidates, ColourModel(), features=False)
    assert len(scored.candidates) == 2 and len(scored.skipped) == 1


def test_rank_orders_by_uncertainty_and_marks_the_random_share(project: Project) -> None:
    got = collect(Source("project", "p"), detector=FakeDetector())
    entries, skipped, _ = rank(got, ColourModel(), share=0.0, features=False)
    assert not skipped and len(entries) == 4
    assert [e.guess for e in entries[:2]] == ["no_mask", "no_mask"], "the unsure (0.55) faces first"
    assert entries[0].priority >= entries[-1].priority
    first = entries[0]
    assert first.probs == {"mask": pytest.approx(0.45), "no_mask": pytest.approx(0.55)}
    assert first.confidence == pytest.approx(0.55) and "uncertain" in first.why
    again = QueueEntry.from_dict(first.to_dict())
    assert again.key == first.key and again.xyxy == first.xyxy
    assert math.isnan(again.det_score) == math.isnan(first.det_score)
    assert all(type(v) is float for v in again.xyxy)
    with pytest.raises(MatchingError, match="4 numbers"):  # a hand-edited queue file's box
        QueueEntry.from_dict({**first.to_dict(), "xyxy": [1, 2, 3]})
    shared, _, _ = rank(got, ColourModel(), share=0.5, seed=3, features=False)
    assert sum(WHY_RANDOM in e.why for e in shared) == 2 and {e.key for e in shared} == {
        e.key for e in entries
    }


@pytest.mark.slow  # builds MobileNetV2
def test_near_duplicates_collapse_on_mobilenet_base_features(workspace: Path, keras_home: Path) -> None:
    rng = np.random.default_rng(0)
    a = rng.integers(0, 255, (CROP_SIZE, CROP_SIZE, 3), dtype=np.uint8)
    b = np.full((CROP_SIZE, CROP_SIZE, 3), (20, 200, 40), np.uint8)
    feats = base_features_of(np.stack([a, a, b]))
    assert feats.shape == (3, 1280)
    np.testing.assert_allclose(feats[0], feats[1], atol=1e-5)
    assert not np.allclose(feats[0], feats[2])
    assert list((workspace / "cache" / "features").glob("*.npz")), "rows go to the feature bank"
    # two identical faces on two photos: the queue keeps one
    from PIL import Image

    img = workspace / "dup.png"
    Image.fromarray(a).save(img)
    c1 = Candidate(str(img), (0.0, 0.0, 240.0, 240.0), 0.95)
    c2 = Candidate(str(img), (0.0, 0.0, 240.0, 240.0), 0.9, project="q", image_name="dup.png", box_id="b1")
    entries, _, notes = rank(Collected([c1, c2]), ColourModel(), share=0.0)
    assert len(entries) == 1 and "near-duplicate" in " ".join(notes)


def test_chunks_of_crops_give_the_same_scores(project: Project, monkeypatch: pytest.MonkeyPatch) -> None:
    from core.review import ranking

    got = collect(Source("project", "p"), detector=FakeDetector())
    whole = score_candidates(got.candidates, ColourModel(), features=False)
    monkeypatch.setattr(ranking, "CHUNK", 1)
    monkeypatch.setattr(ranking, "BATCH", 10)
    monkeypatch.setattr(
        ranking,
        "base_features_of",
        lambda crops, *a, **k: crops.reshape(len(crops), -1)[:, :8].astype(np.float32),
    )
    model = ColourModel()
    parts = score_candidates(got.candidates, model, features=True)
    assert model.batches == [2, 2], "one chunk per photo here (each photo's faces stay together)"
    np.testing.assert_allclose(parts.probs, whole.probs)
    assert parts.features is not None and parts.features.shape == (4, 8)
