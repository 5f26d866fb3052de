"""The scene test: models judged on whole photos through the full Predict pipeline.

    photo -> detector -> square crop -> classifier -> threshold -> faces
    faces <-> labelled boxes, matched one to one at IoU >= 0.5 (core.geometry)

Scene sets and the mapping of scene classes to a model's classes are core.inference.scene_sets;
the outcome of each labelled face and the per-model report are core.inference.scene_scores.
This module describes the models (a finished run or the starter), checks for leaks and runs
them: the detector runs once per photo; every model classifies the same faces.

A model must not be scored on photos it learned from: `leaked_photos` compares each photo's
sha256 with the photos behind the run's train and validation files (core.data.provenance), and
`evaluate_models` refuses leaked photos unless told to go on (then the report says so).

    python -m core.inference.scenes evaluate-scenes RUN_ID [RUN_ID|starter ...] PROJECT_OR_VOC_DIR
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from core.errors import MaskStudioError
from core.geometry import DEFAULT_MIN_IOU
from core.inference.scene_scores import PhotoScore, SceneReport, build_report, score_photo
from core.inference.scene_sets import SceneError, SceneSet, check_mapping, default_mapping, load_scene_set

if TYPE_CHECKING:  # loaded with TensorFlow, only when a model is scored
    from core.vision.classifier import Classifier

STARTER = "starter"


# ----- models -------------------------------------------------------------------------------
@dataclass(frozen=True)
class ModelEntry:
    """A model to score: a run id or "starter", without loading it."""

    ref: str
    name: str
    labels: tuple[str, ...]
    crop_metrics: dict[str, Any] = field(default_factory=dict)
    threshold: float | None = None  # None: the run's suggested threshold, computed on load
    trained_photos: frozenset[str] = frozenset()


def model_entry(ref: str, root: Path | None = None) -> ModelEntry:
    """Describe a finished run or the starter model; SceneError when it cannot classify."""
    from core.errors import ClassifierError, TrainingError
    from core.runs.models import run_labels

    if ref == STARTER:
        from core.runs import starter

        status = starter.starter_status()
        if not status.available:
            raise SceneError(status.reason or "the starter model is not available")
        info = starter.starter_info()
        return ModelEntry(
            STARTER,
            "Starter model",
            tuple(starter.starter_labels()),
            dict(info.get("crop_metrics") or {}),
            starter.starter_threshold(),
            frozenset(starter.trained_photo_hashes()),
        )
    from core.data.manifest import find_manifest
    from core.data.provenance import seen_photo_hashes
    from core.runs.store import load_run

    try:
        record = load_run(ref, root)
        if record.state != "done":
            raise SceneError(f"run {ref} is {record.state}; only finished runs can be scored")
        labels = tuple(run_labels(record.path, record.metrics))
    except (TrainingError, ClassifierError) as exc:
        raise SceneError(str(exc)) from exc
    metrics = record.metrics or {}
    version = str(record.config.get("dataset_version", ""))
    dataset, photos = "", frozenset[str]()
    try:
        manifest, folder = find_manifest(version, root)
        dataset = manifest.dataset
        photos = frozenset(seen_photo_hashes(manifest.files, folder))
    except MaskStudioError:
        pass  # the dataset was deleted: no leak check possible (reported as unknown)
    crop = {
        "accuracy": metrics.get("accuracy"),
        "macro_f1": metrics.get("macro_f1"),
        "dataset": dataset,
        "dataset_version": version,
        "model": record.config.get("model"),
    }
    from core.runs.experiments import run_name

    label = run_name(record) or record.config.get("model") or "run"
    return ModelEntry(ref, f"{label} · {ref}", labels, crop, None, photos)


def load_classifier(
    entry: ModelEntry, root: Path | None = None, threshold: float | None = None
) -> tuple[Classifier, float]:
    """The entry's Classifier and `threshold`, or else the threshold Predict would use with it
    (a run's suggestion is measured on its test split only when no threshold is given)."""
    from core.inference.predictor import DEFAULT_THRESHOLD

    if entry.ref == STARTER:
        from core.runs.starter import starter_classifier

        return starter_classifier(root=root), float(
            threshold if threshold is not None else entry.threshold or DEFAULT_THRESHOLD
        )
    from core.runs.models import classifier_for_run
    from core.runs.thresholds import run_threshold_report

    clf = classifier_for_run(entry.ref, root)
    given = threshold if threshold is not None else entry.threshold
    if given is not None:
        return clf, float(given)
    try:
        threshold = run_threshold_report(clf, entry.ref, root).suggestion.threshold
    except MaskStudioError:
        threshold = DEFAULT_THRESHOLD
    return clf, float(threshold)


# ----- leak check ---------------------------------------------------------------------------
def photo_hashes(scene_set: SceneSet) -> dict[str, str]:
    """{photo name: sha256 of its file}."""
    from core.data.provenance import sha256_file

    return {s.name: sha256_file(s.path) for s in scene_set.scenes}


def leaked_photos(
    scene_set: SceneSet, entry: ModelEntry, hashes: Mapping[str, str] | None = None
) -> list[str]:
    """Photos of `scene_set` whose crops (or the photo itself) are in the model's training or
    validation data, by sha256 recorded when the dataset was built."""
    if not entry.trained_photos:
        return []
    hashes = hashes if hashes is not None else photo_hashes(scene_set)
    return [name for name, h in hashes.items() if h in entry.trained_photos]


@dataclass
class ModelScore:
    entry: ModelEntry
    report: SceneReport | None
    leaks: list[str]
    mapping: dict[str, str | None]
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "model": self.entry.ref,
            "name": self.entry.name,
            "crop_metrics": self.entry.crop_metrics,
            "mapping": self.mapping,
            "leaked_photos": self.leaks,
            "error": self.error,
            "scenes": self.report.to_dict() if self.report else None,
        }


def evaluate_models(
    refs: Sequence[str],
    scene_set: SceneSet,
    *,
    detector: str | Any | None = None,
    mappings: Mapping[str, Mapping[str, str | None]] | None = None,
    allow_leaks: bool = False,
    thresholds: Mapping[str, float] | None = None,
    root: Path | None = None,
    progress: Callable[[int, int], None] | None = None,
    min_iou: float = DEFAULT_MIN_IOU,
) -> list[ModelScore]:
    """Score each model on `scene_set` (the detector runs once per photo). `detector` is a
    name Predict offers (default: Predict's default) or a core.vision.detectors.FaceDetector.

    A model whose mapping fails, or (unless `allow_leaks`) that learned from any of the photos,
    gets a ModelScore with `error` and no report; the others are scored on every photo.
    """
    from core.imaging import load_rgb_array
    from core.inference.predictor import Predictor
    from core.vision.detectors import DEFAULT_PREDICT_DETECTOR, get_detector

    if not refs:
        raise SceneError("choose at least one model")
    if detector is None or isinstance(detector, str):
        det_name = detector or DEFAULT_PREDICT_DETECTOR
        det = get_detector(det_name)
    else:
        det, det_name = detector, str(getattr(detector, "name", type(detector).__name__))
    hashes = photo_hashes(scene_set)
    ready: list[tuple[ModelScore, Any, float, list[PhotoScore]]] = []
    scores: list[ModelScore] = []
    for ref in refs:
        entry = model_entry(ref, root)
        wanted = (mappings or {}).get(ref) or default_mapping(scene_set.classes, entry.labels)
        score = ModelScore(entry, None, leaked_photos(scene_set, entry, hashes), dict(wanted))
        scores.append(score)
        try:
            score.mapping = check_mapping(wanted, scene_set, entry.labels)
            if score.leaks and not allow_leaks:
                raise SceneError(
                    f"{len(score.leaks)} of {len(scene_set.scenes)} photos were in this model's "
                    f"training data (e.g. {', '.join(score.leaks[:3])}): its figures would be too good"
                )
            clf, threshold = load_classifier(entry, root, (thresholds or {}).get(ref))
            ready.append((score, clf, threshold, []))
        except MaskStudioError as exc:
            score.error = str(exc)
    total = len(scene_set.scenes)
    for i, scene in enumerate(scene_set.scenes if ready else ()):
        rgb = load_rgb_array(scene.path)
        found = det.detect(rgb)
        for score, clf, threshold, photos in ready:
            faces = Predictor(det, clf, threshold).classify_boxes(rgb, found)
            photos.append(score_photo(scene, faces, score.mapping, min_iou))
        if progress:
            progress(i + 1, total)
    for score, clf, threshold, photos in ready:
        score.report = build_report(photos, clf.labels, threshold, det_name)
    return scores


def record_scores(scores: Sequence[ModelScore], scene_set: SceneSet, root: Path | None = None) -> list[str]:
    """Keep each scored model's found-and-right on `scene_set` as its last scene figure
    (core.runs.scene_figures), for Predict, Live and "make active". Models that were not scored,
    or that learned from these photos (their figures are too good), are not kept. Returns the
    refs kept; a run deleted meanwhile is skipped."""
    from core.runs.scene_figures import SceneFigure, save_scene_figure

    kept = []
    for score in scores:
        report = score.report
        if report is None or score.error or score.leaks:
            continue
        values = {c: v for c, v in report.found_and_right.items() if v is not None}
        if not values:
            continue
        figure = SceneFigure(
            score.entry.ref,
            values,
            scene_set.name,
            scene_set.kind,
            scene_set.source,
            photos=len(scene_set.scenes),
            faces=scene_set.faces,
            detector=report.detector,
        )
        try:
            save_scene_figure(figure, root)
        except (MaskStudioError, OSError):
            continue
        kept.append(score.entry.ref)
    return kept


# ----- command line -------------------------------------------------------------------------
def _parse_map(items: Sequence[str]) -> dict[str, str | None]:
    out: dict[str, str | None] = {}
    for item in items:
        if "=" not in item:
            raise SceneError(f"--map wants SCENE_CLASS=MODEL_CLASS (empty to leave out), got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = v.strip() or None
    return out


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m core.inference.scenes", description=__doc__.split("\n\n")[0]
    )
    sub = parser.add_subparsers(dest="cmd", required=True)
    ev = sub.add_parser("evaluate-scenes", help="score runs (or 'starter') on a project or VOC folder")
    ev.add_argument("models", nargs="+", metavar="RUN_ID", help="run ids, or 'starter'")
    ev.add_argument("source", metavar="PROJECT_OR_VOC_DIR")
    ev.add_argument("--detector", default=None, help="default: the Predict default")
    ev.add_argument("--map", action="append", default=[], metavar="SCENE=MODEL", help="class mapping")
    ev.add_argument("--allow-leaks", action="store_true", help="score even on photos the model learned from")
    ev.add_argument("--threshold", type=float, default=None, help="default: each model's suggested one")
    args = parser.parse_args(argv)
    try:
        scene_set = load_scene_set(args.source)
        extra = _parse_map(args.map)
        mappings = {}
        for ref in args.models:
            base = default_mapping(scene_set.classes, model_entry(ref).labels)
            mappings[ref] = {**base, **extra}
        thresholds = {ref: args.threshold for ref in args.models} if args.threshold is not None else None
        scores = evaluate_models(
            args.models,
            scene_set,
            detector=args.detector,
            mappings=mappings,
            allow_leaks=args.allow_leaks,
            thresholds=thresholds,
        )
    except MaskStudioError as exc:
        print(json.dumps({"error": str(exc)}), file=sys.stdout)
        return 2
    record_scores(scores, scene_set)
    out = {
        "scene_set": {
            "name": scene_set.name,
            "kind": scene_set.kind,
            "photos": len(scene_set.scenes),
            "faces": scene_set.faces,
            "classes": scene_set.classes,
            "skipped": list(scene_set.skipped),
        },
        "models": [s.to_dict() for s in scores],
    }
    print(json.dumps(out, indent=2))
    return 1 if any(s.error for s in scores) else 0


if __name__ == "__main__":
    raise SystemExit(main())
