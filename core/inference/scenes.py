"""The scene test: models judged on whole photos through the full Predict pipeline.

    photo -> detector -> square crop -> classifier -> threshold -> faces
    faces <-> labelled boxes, matched one to one at IoU >= 0.5 (core.geometry)

For every labelled face the outcome is one of: found and right, found with the wrong class,
found but uncertain, or missed; a detection matching no labelled face is a false detection.
Scene classes map to the model's classes (`default_mapping`, editable); faces of a class mapped
to nothing are left out of the class figures, and a detection on them is not false.

Scene sets are an annotation project (its labelled boxes; nothing is ever written to it) or a
Pascal VOC folder (XML files and images anywhere under it; a photo whose image is missing is
listed and skipped). The detector runs once per photo; every model classifies the same faces.

A model must not be scored on photos it learned from: `leaked_photos` compares each photo's
sha256 with the photos behind the run's train and validation files (core.data.provenance), and
`evaluate_models` refuses leaked photos unless told to go on (then the report says so).

    python -m core.inference.scenes evaluate-scenes RUN_ID [RUN_ID|starter ...] PROJECT_OR_VOC_DIR
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from core.annotation.annotations import NONE
from core.errors import MaskStudioError
from core.fsutil import natural_key
from core.geometry import DEFAULT_MIN_IOU, match_boxes

STARTER = "starter"
RIGHT, WRONG, UNCERTAIN_OUTCOME, MISSED, IGNORED = "right", "wrong", "uncertain", "missed", "ignored"
#: Known spellings of the same classes across public sets (scene class -> model class), tried
#: after exact and normalised name matches. A mask worn wrongly is still a mask on the face.
ALIASES: Mapping[str, tuple[str, ...]] = {
    "maskwearedincorrect": ("with_mask", "mask_worn_incorrectly", "mask"),
    "maskwornincorrectly": ("mask_worn_incorrectly", "with_mask", "mask"),
    "mask": ("with_mask",),
    "withmask": ("mask",),
    "nomask": ("without_mask",),
    "withoutmask": ("no_mask",),
}


class SceneError(MaskStudioError, ValueError):
    """A scene set or a model that cannot be scored, with the reason (names the classes)."""


# ----- scene sets ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SceneFace:
    label: str
    xyxy: tuple[float, float, float, float]


@dataclass(frozen=True)
class Scene:
    name: str
    path: Path
    faces: tuple[SceneFace, ...]


@dataclass(frozen=True)
class SceneSet:
    """Photos with labelled faces. `kind` is "project" or "voc"; `skipped` lists what was left
    out and why; `classes` counts faces per scene class."""

    name: str
    kind: str
    source: str
    scenes: tuple[Scene, ...]
    skipped: tuple[str, ...] = ()

    @property
    def classes(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for s in self.scenes:
            for f in s.faces:
                out[f.label] = out.get(f.label, 0) + 1
        return dict(sorted(out.items(), key=lambda kv: natural_key(kv[0])))

    @property
    def faces(self) -> int:
        return sum(len(s.faces) for s in self.scenes)

    def subset(self, names: Iterable[str]) -> SceneSet:
        keep = set(names)
        return SceneSet(
            self.name, self.kind, self.source, tuple(s for s in self.scenes if s.name in keep), self.skipped
        )


def load_scene_set(source: str | Path, root: Path | None = None) -> SceneSet:
    """A project of the workspace (by name) or a Pascal VOC folder (by path)."""
    from core.annotation.projects import list_projects

    text = str(source)
    if text in list_projects(root):
        return _project_scenes(text, root)
    path = Path(text).expanduser()
    if path.is_dir():
        return _voc_scenes(path)
    raise SceneError(f"{text!r} is neither a project of this workspace nor a folder")


def scene_sources(root: Path | None = None) -> list[str]:
    """Projects with at least one labelled box (a class other than None)."""
    from core.annotation.projects import Project, list_projects

    out = []
    for name in list_projects(root):
        try:
            ann = Project.open(name, root).load()
        except MaskStudioError:
            continue
        if any(b.label != NONE for img in ann.images for b in ann.boxes(img)):
            out.append(name)
    return out


def _project_scenes(name: str, root: Path | None) -> SceneSet:
    from core.annotation.projects import Project

    project = Project.open(name, root)
    ann = project.load()
    scenes, skipped = [], []
    for image in sorted(ann.images, key=natural_key):
        boxes = ann.boxes(image)
        if not any(b.label != NONE for b in boxes):
            continue
        try:
            path = project.image_path(image)
            if not path.is_file():
                raise FileNotFoundError(image)
        except (MaskStudioError, OSError):
            skipped.append(f"{image}: the image file is missing")
            continue
        scenes.append(Scene(image, path, tuple(SceneFace(b.label, tuple(map(float, b.xyxy))) for b in boxes)))
    if not scenes:
        raise SceneError(
            f"project {name!r} has no image with labelled boxes: give its faces a category "
            "(other than None) on the Annotate page first"
        )
    return SceneSet(name, "project", name, tuple(scenes), tuple(skipped))


def _voc_scenes(folder: Path) -> SceneSet:
    from core.annotation.formats.voc import parse_voc_xml, voc_folder_files, voc_image
    from core.errors import FormatError

    xmls, images = voc_folder_files(folder)
    if not xmls:
        raise SceneError(f"no Pascal VOC .xml files under {folder}")
    scenes, skipped = [], []
    for xml in xmls:
        try:
            name, _, raw = parse_voc_xml(xml.read_bytes(), file=xml.name)
        except (OSError, FormatError) as exc:
            skipped.append(f"{xml.name}: {exc}")
            continue
        path = voc_image(images, name, xml)
        if path is None:
            skipped.append(f"{xml.name}: image {name} is missing")
            continue
        if not raw:
            continue
        scenes.append(Scene(path.name, path, tuple(SceneFace(b.label, tuple(b.xyxy)) for b in raw)))
    if not scenes:
        raise SceneError(
            f"no photo with labelled boxes under {folder}" + (f" ({len(skipped)} skipped)" if skipped else "")
        )
    return SceneSet(folder.name, "voc", str(folder), tuple(scenes), tuple(skipped))


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
    dataset, photos = "", frozenset()
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
):  # -> (Classifier, threshold)
    """The entry's Classifier and `threshold`, or else the threshold Predict would use with it
    (a run's suggestion is measured on its test split only when no threshold is given)."""
    if entry.ref == STARTER:
        from core.runs.starter import starter_classifier

        return starter_classifier(root=root), float(
            threshold if threshold is not None else entry.threshold or 0.6
        )
    from core.inference.predictor import DEFAULT_THRESHOLD
    from core.runs.models import classifier_for_run
    from core.runs.thresholds import run_threshold_report

    clf = classifier_for_run(entry.ref, root)
    if threshold is not None or entry.threshold is not None:
        return clf, float(threshold if threshold is not None else entry.threshold)
    try:
        threshold = run_threshold_report(clf, entry.ref, root).suggestion.threshold
    except MaskStudioError:
        threshold = DEFAULT_THRESHOLD
    return clf, float(threshold)


# ----- class mapping ------------------------------------------------------------------------
def _norm(name: str) -> str:
    return re.sub(r"[^0-9a-z]+", "", name.casefold())


def default_mapping(scene_classes: Iterable[str], model_labels: Sequence[str]) -> dict[str, str | None]:
    """{scene class: model class or None}: the same name, else the same letters and digits
    (`No Mask` = `no_mask`), else a known alias (ALIASES); None when nothing fits. "None"
    (unlabelled) boxes map to nothing."""
    by_norm = {_norm(m): m for m in model_labels}
    out: dict[str, str | None] = {}
    for c in scene_classes:
        if c == NONE:
            out[c] = None
        elif c in model_labels:
            out[c] = c
        elif _norm(c) in by_norm:
            out[c] = by_norm[_norm(c)]
        else:
            out[c] = next((by_norm[_norm(a)] for a in ALIASES.get(_norm(c), ()) if _norm(a) in by_norm), None)
    return out


def check_mapping(
    mapping: Mapping[str, str | None], scene_set: SceneSet, model_labels: Sequence[str]
) -> dict[str, str | None]:
    """The mapping for every scene class (missing ones: None), checked. SceneError when a target
    is not a model class or when no scene class maps to one (the message names them)."""
    classes = list(scene_set.classes)
    out = {c: (mapping.get(c) or None) for c in classes}
    bad = sorted({t for t in out.values() if t is not None and t not in model_labels})
    if bad:
        raise SceneError(
            f"mapped to {', '.join(bad)}, which the model does not have ({', '.join(model_labels)})"
        )
    if not any(out.values()):
        raise SceneError(
            f"the scene classes ({', '.join(classes)}) match none of the model's classes "
            f"({', '.join(model_labels)}); map them first"
        )
    return out


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


# ----- scoring ------------------------------------------------------------------------------
@dataclass
class ClassScore:
    """Outcomes of the labelled faces of one class."""

    faces: int = 0
    right: int = 0
    wrong: int = 0
    uncertain: int = 0
    missed: int = 0

    @property
    def found(self) -> int:
        return self.right + self.wrong + self.uncertain

    @property
    def found_and_right(self) -> float | None:
        return self.right / self.faces if self.faces else None

    def add(self, outcome: str) -> None:
        self.faces += 1
        setattr(self, outcome, getattr(self, outcome) + 1)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "found": self.found, "found_and_right": _r(self.found_and_right)}


@dataclass(frozen=True)
class TruthOutcome:
    label: str  # scene class
    target: str | None  # model class it maps to (None: left out)
    xyxy: tuple[float, float, float, float]
    outcome: str  # right, wrong, uncertain, missed, ignored
    predicted: str | None = None


@dataclass(frozen=True)
class PhotoScore:
    name: str
    path: Path
    truths: tuple[TruthOutcome, ...]
    faces: tuple[Any, ...]  # core.inference.predictor.Face, the model's view of the photo
    false: tuple[int, ...]  # indices into faces that match no labelled face

    @property
    def errors(self) -> int:
        return sum(t.outcome in (WRONG, UNCERTAIN_OUTCOME, MISSED) for t in self.truths) + len(self.false)


@dataclass
class SceneReport:
    """One model on one scene set."""

    per_class: dict[str, ClassScore]  # by model class
    per_scene_class: dict[str, ClassScore]
    false_detections: int
    detections: int
    truths: int  # every labelled face, mapped or not
    found_truths: int
    photos: list[PhotoScore]
    threshold: float
    detector: str

    @property
    def detector_recall(self) -> float | None:
        return self.found_truths / self.truths if self.truths else None

    @property
    def detector_precision(self) -> float | None:
        return (self.detections - self.false_detections) / self.detections if self.detections else None

    @property
    def accuracy_on_found(self) -> float | None:
        """Right / found over mapped faces (uncertain counts as not right)."""
        right = sum(c.right for c in self.per_class.values())
        found = sum(c.found for c in self.per_class.values())
        return right / found if found else None

    @property
    def accuracy_on_decided(self) -> float | None:
        """Right / (right + wrong): the classifier where it answered."""
        right = sum(c.right for c in self.per_class.values())
        decided = right + sum(c.wrong for c in self.per_class.values())
        return right / decided if decided else None

    @property
    def found_and_right(self) -> dict[str, float | None]:
        return {c: s.found_and_right for c, s in self.per_class.items()}

    def worst_photos(self, n: int = 8) -> list[PhotoScore]:
        ranked = sorted((p for p in self.photos if p.errors), key=lambda p: (-p.errors, natural_key(p.name)))
        return ranked[:n]

    def to_dict(self) -> dict[str, Any]:
        return {
            "photos": len(self.photos),
            "faces": self.truths,
            "detector": self.detector,
            "threshold": _r(self.threshold),
            "found_and_right": {c: _r(v) for c, v in self.found_and_right.items()},
            "accuracy_on_found": _r(self.accuracy_on_found),
            "accuracy_on_decided": _r(self.accuracy_on_decided),
            "detector_recall": _r(self.detector_recall),
            "detector_precision": _r(self.detector_precision),
            "false_detections": self.false_detections,
            "detections": self.detections,
            "found_faces": self.found_truths,
            "per_class": {c: s.to_dict() for c, s in self.per_class.items()},
            "per_scene_class": {c: s.to_dict() for c, s in self.per_scene_class.items()},
            "worst_photos": [{"photo": p.name, "errors": p.errors} for p in self.worst_photos(10)],
        }


def _r(v: float | None, n: int = 4) -> float | None:
    return None if v is None else round(float(v), n)


def score_photo(
    scene: Scene, faces: Sequence[Any], mapping: Mapping[str, str | None], min_iou: float = DEFAULT_MIN_IOU
) -> PhotoScore:
    """Match the model's `faces` (objects with .xyxy and .label) to the photo's labelled faces."""
    from core.inference.predictor import UNCERTAIN

    match = match_boxes([f.xyxy for f in faces], [t.xyxy for t in scene.faces], min_iou)
    by_truth = {t: p for p, t, _ in match.pairs}
    outcomes = []
    for ti, truth in enumerate(scene.faces):
        target = mapping.get(truth.label)
        p = by_truth.get(ti)
        predicted = faces[p].label if p is not None else None
        if target is None:
            outcome = IGNORED
        elif p is None:
            outcome = MISSED
        elif predicted == UNCERTAIN:
            outcome = UNCERTAIN_OUTCOME
        else:
            outcome = RIGHT if predicted == target else WRONG
        outcomes.append(TruthOutcome(truth.label, target, truth.xyxy, outcome, predicted))
    return PhotoScore(
        scene.name, scene.path, tuple(outcomes), tuple(faces), tuple(match.unmatched_predictions)
    )


def build_report(
    photos: Sequence[PhotoScore], model_labels: Sequence[str], threshold: float, detector: str
) -> SceneReport:
    per_class = {c: ClassScore() for c in model_labels}
    per_scene: dict[str, ClassScore] = {}
    truths = found = false = detections = 0
    for photo in photos:
        detections += len(photo.faces)
        false += len(photo.false)
        for t in photo.truths:
            truths += 1
            if t.outcome != MISSED and (t.outcome != IGNORED or t.predicted is not None):
                found += 1
            if t.outcome == IGNORED or t.target is None:
                continue
            per_class.setdefault(t.target, ClassScore()).add(t.outcome)
            per_scene.setdefault(t.label, ClassScore()).add(t.outcome)
    per_class = {c: s for c, s in per_class.items() if s.faces}
    return SceneReport(
        per_class, per_scene, false, detections, truths, found, list(photos), threshold, detector
    )


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
