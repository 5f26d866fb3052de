"""The scene test on a tiny synthetic scene set with known answers.

Scenes are grey photos with red squares (masked faces) and blue squares (bare faces). A colour
detector finds every square; a real Keras model classifies by mean red minus mean blue. So each
outcome (right, wrong, uncertain, missed, false detection) is known before the test runs.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

from core.annotation.annotations import Box
from core.annotation.projects import Project
from core.data.provenance import sha256_file
from core.inference.scene_sets import SceneError, load_scene_set, scene_sources
from core.inference.scenes import (
    STARTER,
    ModelEntry,
    ModelScore,
    evaluate_models,
    leaked_photos,
    main,
    record_scores,
)
from core.runs.scene_figures import latest_figure
from core.runs.store import run_path
from core.vision.detections import Detection
from tests.core.runs.test_active_model import make_run

RED, BLUE, GREEN = (220, 30, 30), (30, 30, 220), (30, 200, 30)
LABELS = ("with_mask", "without_mask")


# ----- a synthetic scene set on disk --------------------------------------------------------
def scene_image(squares: list[tuple[tuple[int, int, int, int], tuple[int, int, int]]]) -> Image.Image:
    img = np.full((120, 200, 3), 128, np.uint8)
    for (x1, y1, x2, y2), colour in squares:
        img[y1:y2, x1:x2] = colour
    return Image.fromarray(img)


SCENES = {
    # name: [(box, colour, true label)]
    "s1.png": [((10, 10, 50, 50), RED, "with_mask"), ((100, 10, 140, 50), BLUE, "without_mask")],
    "s2.png": [((10, 60, 50, 100), RED, "without_mask"), ((120, 60, 160, 100), GREEN, "with_mask")],
    "s3.png": [((60, 20, 100, 60), BLUE, "without_mask")],
}


class ColourDetector:
    """Finds the non-grey squares of the synthetic scenes (column/row runs of coloured pixels)."""

    name = "colour"

    def detect(self, image: np.ndarray) -> list[Detection]:
        mask = np.abs(image.astype(int) - 128).max(axis=2) > 40
        out = []
        seen = np.zeros_like(mask)
        for y, x in zip(*np.nonzero(mask & ~seen), strict=True):
            if seen[y, x]:
                continue
            x2 = x
            while x2 < mask.shape[1] and mask[y, x2]:
                x2 += 1
            y2 = y
            while y2 < mask.shape[0] and mask[y2, x]:
                y2 += 1
            seen[y:y2, x:x2] = True
            out.append(Detection(float(x), float(y), float(x2), float(y2), 0.9))
        return out


def colour_model_bytes(tmp: Path) -> bytes:
    """A Keras model: softmax(k * (mean red - mean blue), k * (mean blue - mean red))."""
    import keras

    inp = keras.Input((32, 32, 3))
    pooled = keras.layers.GlobalAveragePooling2D()(inp)
    dense = keras.layers.Dense(2, activation="softmax", name="predictions")
    out = dense(pooled)
    model = keras.Model(inp, out)
    k = 0.05
    dense.set_weights([np.array([[k, -k], [0, 0], [-k, k]], np.float32), np.zeros(2, np.float32)])
    path = tmp / "colour.keras"
    model.save(path)
    return path.read_bytes()


def write_voc_dir(folder: Path) -> Path:
    """The synthetic scenes as a Pascal VOC folder (and one XML whose image is missing)."""
    (folder / "images").mkdir(parents=True)
    (folder / "annotations").mkdir()
    for name, squares in SCENES.items():
        scene_image([(b, c) for b, c, _ in squares]).save(folder / "images" / name)
        objects = "".join(
            f"<object><name>{label}</name><bndbox><xmin>{b[0] + 1}</xmin><ymin>{b[1] + 1}</ymin>"
            f"<xmax>{b[2]}</xmax><ymax>{b[3]}</ymax></bndbox></object>"
            for b, _, label in squares
        )
        xml = f"<annotation><filename>{name}</filename><size><width>200</width><height>120</height></size>{objects}</annotation>"
        (folder / "annotations" / name.replace(".png", ".xml")).write_text(xml)
    (folder / "annotations" / "gone.xml").write_text(
        "<annotation><filename>gone.png</filename><object><name>with_mask</name><bndbox><xmin>1</xmin>"
        "<ymin>1</ymin><xmax>20</xmax><ymax>20</ymax></bndbox></object></annotation>"
    )
    return folder


@pytest.fixture
def voc_dir(tmp_path: Path) -> Path:
    return write_voc_dir(tmp_path / "voc")


@pytest.fixture
def colour_run(workspace: Path, tmp_path: Path, keras_home: Path) -> str:
    return make_run(workspace, model=colour_model_bytes(tmp_path), labels=LABELS, image_size=32)


def test_known_answers_end_to_end(voc_dir: Path, workspace: Path, colour_run: str) -> None:
    ss = load_scene_set(voc_dir)
    [score] = evaluate_models([colour_run], ss, detector=ColourDetector(), thresholds={colour_run: 0.7})
    assert score.error is None and score.leaks == []
    r = score.report
    # s1: red->with_mask right, blue->without_mask right; s2: red labelled without_mask -> wrong,
    # green (no red/blue difference: p=0.5) -> uncertain; s3: blue right.
    assert r.per_class["with_mask"].right == 1 and r.per_class["with_mask"].uncertain == 1
    assert r.per_class["without_mask"].right == 2 and r.per_class["without_mask"].wrong == 1
    assert r.found_and_right == {"with_mask": 0.5, "without_mask": pytest.approx(2 / 3)}
    assert r.detector_recall == 1.0 and r.false_detections == 0
    assert r.accuracy_on_found == pytest.approx(3 / 5)
    assert r.worst_photos(1)[0].name == "s2.png"


def test_scored_models_keep_their_scene_figure_leaked_ones_do_not(
    voc_dir: Path, workspace: Path, colour_run: str
) -> None:
    ss = load_scene_set(voc_dir)
    [score] = evaluate_models([colour_run], ss, detector=ColourDetector(), thresholds={colour_run: 0.7})
    leaked = ModelScore(score.entry, score.report, ["s1.png"], score.mapping)
    failed = ModelScore(score.entry, None, [], score.mapping, error="no model")
    assert record_scores([leaked, failed], ss) == []
    assert latest_figure(colour_run) is None
    assert record_scores([score], ss) == [colour_run]
    fig = latest_figure(colour_run)
    assert fig.found_and_right == {"with_mask": 0.5, "without_mask": pytest.approx(2 / 3)}
    assert (fig.kind, fig.photos, fig.faces, fig.detector) == ("voc", 3, ss.faces, "colour")


def test_leaked_photos_are_refused_unless_allowed(voc_dir: Path, workspace: Path, colour_run: str) -> None:
    ss = load_scene_set(voc_dir)
    sha = sha256_file(voc_dir / "images" / "s1.png")
    entry = ModelEntry("r", "r", LABELS, trained_photos=frozenset({sha}))
    assert leaked_photos(ss, entry) == ["s1.png"]
    # a run whose dataset holds a crop of s1.png: recorded at build time by core.data.provenance
    from core.data.dataset import Dataset
    from core.data.split import split_dataset
    from core.data.voc_import import import_voc

    ds = Dataset.create("scenes", workspace)
    import_voc(voc_dir, ds)
    manifest = split_dataset(ds, seed=0, fractions={"train": 1.0, "val": 0.0, "test": 0.0}).manifest
    cfg = run_path(colour_run, workspace) / "config.json"
    cfg.write_text(json.dumps({**json.loads(cfg.read_text()), "dataset_version": manifest.version}))
    [refused] = evaluate_models([colour_run], ss, detector=ColourDetector())
    assert refused.report is None and "3 of 3 photos" in refused.error
    [allowed] = evaluate_models([colour_run], ss, detector=ColourDetector(), allow_leaks=True)
    assert allowed.report is not None and sorted(allowed.leaks) == ["s1.png", "s2.png", "s3.png"]


def test_project_scenes_never_write_to_the_project(workspace: Path, colour_run: str) -> None:
    project = Project.create("scenes", workspace)
    for name, squares in SCENES.items():
        scene_image([(b, c) for b, c, _ in squares]).save(project.images_dir / name)
    with project.edit() as ann:
        ann.add_category("with_mask")
        ann.add_category("without_mask")
        for name, squares in SCENES.items():
            for b, _, label in squares:
                ann.add_box(name, Box.from_xyxy(b, label))
        ann.add_box("unlabelled.png", Box.from_xyxy((0, 0, 30, 30)))
    before = project.annotations_path.read_bytes(), project.annotations_path.stat().st_mtime_ns
    assert scene_sources(workspace) == ["scenes"]
    ss = load_scene_set("scenes", workspace)
    assert ss.kind == "project" and len(ss.scenes) == 3
    [score] = evaluate_models([colour_run], ss, detector=ColourDetector(), thresholds={colour_run: 0.7})
    assert score.report.found_and_right["with_mask"] == 0.5
    assert (project.annotations_path.read_bytes(), project.annotations_path.stat().st_mtime_ns) == before


def test_a_model_with_other_classes_gets_an_error_not_a_crash(
    voc_dir: Path, workspace: Path, tmp_path: Path
) -> None:
    run = make_run(workspace, model=colour_model_bytes(tmp_path), labels=("cat", "dog"), image_size=32)
    [score] = evaluate_models([run], load_scene_set(voc_dir), detector=ColourDetector())
    assert score.report is None and "match none of the model's classes" in score.error
    [mapped] = evaluate_models(
        [run],
        load_scene_set(voc_dir),
        detector=ColourDetector(),
        mappings={run: {"with_mask": "cat", "without_mask": "dog"}},
        thresholds={run: 0.7},
    )
    assert mapped.report.found_and_right["cat"] == 0.5


def test_starter_entry_without_files_is_a_clear_error(tmp_path: Path, monkeypatch, voc_dir: Path) -> None:
    monkeypatch.setenv("MASK_STUDIO_STARTER_DIR", str(tmp_path / "nothing"))
    with pytest.raises(SceneError, match="missing"):
        evaluate_models([STARTER], load_scene_set(voc_dir), detector=ColourDetector())


def test_cli_prints_one_json_object(
    voc_dir: Path, workspace: Path, colour_run: str, capsys, monkeypatch
) -> None:
    monkeypatch.setattr("core.vision.detectors.get_detector", lambda name="": ColourDetector())
    code = main(["evaluate-scenes", colour_run, str(voc_dir), "--threshold", "0.7"])
    out = json.loads(capsys.readouterr().out)
    assert code == 0
    assert out["scene_set"]["photos"] == 3 and out["scene_set"]["skipped"]
    assert out["models"][0]["scenes"]["found_and_right"]["with_mask"] == 0.5
    assert main(["evaluate-scenes", colour_run, str(voc_dir / "nope")]) == 2
    assert "neither a project" in json.loads(capsys.readouterr().out)["error"]
