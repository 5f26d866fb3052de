"""Scene benchmark: recipes judged on whole photos, by 5-fold cross-validation over the VOC scenes.

    python -m benchmarks.scenes [--quick] [--variants a,b] [--five-class] [--workspace DIR]

Prints one JSON object. The 100 scenes of face_mask_detection_voc are shuffled (seed 0) into 5
folds. For each fold and recipe variant a dataset is built with the product's own code
(core.training.starter_build.build_dataset: face_mask_binary_real plus the crops of the other folds'
scenes, `mask_weared_incorrect` -> `with_mask`, split 70/15/15), a MobileNetV2 run is trained,
and the run is scored on its fold's 20 scenes through the full Predict pipeline (default
detector, the run's suggested threshold; core.inference.scenes, leak check on). Figures are pooled over
the 5 folds (every scene is scored once, by a model that never saw it), with the lowest fold.
Crop accuracy is the run's accuracy on the test files that came from face_mask_binary_real.

Variants: `binary` (no scene crops: the old default), `scenes` (+ scene crops), `balanced`
(+ class weights), `degrade` (+ one degraded copy), `recipe` (balanced + degrade), `source`
(weights balancing every (source, class) cell), `source_degrade` (source + degrade), and `det_*`
/ `both_*` (scene crops cut from the detector's box where it finds the face, instead of or
besides the labelled box). Each fold is also scored by top label (no threshold), from the same
predictions. `--five-class`: MobileNetV2 head vs head + fine-tuning on face_mask_types_5class.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.common import SHARED, emit, seed_env
from benchmarks.scene_scoring import calibration, crop_accuracy, pool, top_label_report

VOC = SHARED / "face_mask_detection_voc"
#: Every recipe key explicit: a variant is what it says, not the per-dataset default.
BASE = {
    "model": "mobilenet_v2",
    "seed": 0,
    "warm_start": "none",
    "class_weight": "none",
    "degrade": "",
    "degrade_copies": 0,
    "fine_tune_blocks": 0,
    "fine_tune_epochs": 0,
}
VARIANTS: dict[str, tuple[bool | str, dict[str, Any]]] = {
    "binary": (False, {}),
    "scenes": (True, {}),
    "balanced": (True, {"class_weight": "balanced"}),
    "degrade": (True, {"degrade": "lowres+blur+jpeg", "degrade_copies": 1}),
    "recipe": (True, {"class_weight": "balanced", "degrade": "lowres+blur+jpeg", "degrade_copies": 1}),
    "source": (True, {"class_weight": "source_balanced"}),
    "source_degrade": (
        True,
        {"class_weight": "source_balanced", "degrade": "lowres+blur+jpeg", "degrade_copies": 1},
    ),
    # scene crops cut from the detector's boxes where it finds the face (as Predict crops it)
    "det_source": ("detector", {"class_weight": "source_balanced"}),
    "det_source_degrade": (
        "detector",
        {"class_weight": "source_balanced", "degrade": "lowres+blur+jpeg", "degrade_copies": 1},
    ),
    "both_source_degrade": (
        "both",
        {"class_weight": "source_balanced", "degrade": "lowres+blur+jpeg", "degrade_copies": 1},
    ),
}
TARGETS = {"with_mask": 0.85, "without_mask": 0.80, "accuracy_on_found": 0.93, "crop_accuracy": 0.98}


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def folds(k: int, limit: int | None) -> list[list[str]]:
    names = sorted(p.stem for p in (VOC / "annotations").glob("*.xml"))
    rng = np.random.default_rng(0)
    names = [names[i] for i in rng.permutation(len(names))][: limit or None]
    return [names[i::k] for i in range(k)]


#: --user-variants: settings over Launch's defaults for the user run (each scored on every fold).
USER_VARIANTS: dict[str, dict[str, Any]] = {
    "defaults": {},
    "no_warm_start": {"warm_start": "none"},
    "degrade1": {"degrade": "lowres+blur+jpeg", "degrade_copies": 1},
    "lr1e-4": {"learning_rate": 1e-4},
    "lr1e-4_degrade1": {"learning_rate": 1e-4, "degrade": "lowres+blur+jpeg", "degrade_copies": 1},
    "e5": {"epochs": 5},
}


def user_run(
    run_id: str, k: int, root: Path, tmp: Path, scene_set: Any, extra: dict[str, Any] | None = None
) -> tuple[dict[str, Any], Any]:
    """A user's own run on the fold: Launch's defaults on face_mask_binary_real alone, warm-started
    from this fold's starter (the recipe run `run_id`, written as a starter model and pointed to by
    MASK_STUDIO_STARTER_DIR), scored on the fold's scenes. (fold row, scene report)"""
    from core.inference.scenes import evaluate_models
    from core.runs.store import load_run
    from core.training.starter_build import build_dataset, write_starter
    from core.training.train import run_here

    starter = tmp / f"starter_fold{k}"
    if not (starter / "model.keras").is_file():
        write_starter(run_id, starter, root, None, 0.0)
    os.environ["MASK_STUDIO_STARTER_DIR"] = str(starter)
    version = _versions.get("binary") or build_dataset("binary", root, scenes=[], tmp=tmp)
    _versions["binary"] = version
    mine = run_here({"model": "mobilenet_v2", "dataset_version": version, **(extra or {})}, root)
    record = load_run(mine, root)
    if record.state != "done":
        raise RuntimeError(f"user run fold {k}: {record.status.get('error')}")
    score = evaluate_models([mine], scene_set, root=root)[0]
    if score.error:
        raise RuntimeError(f"user run fold {k}: {score.error}")
    rep = score.report.to_dict()
    m = record.metrics or {}
    row = {
        "fold": k,
        "run": mine,
        "config": {
            key: record.config.get(key) for key in ("warm_start", "class_weight", "degrade_copies", "epochs")
        },
        "warm_start": m.get("warm_start"),
        "base_weights": m.get("base_weights"),
        "found_and_right": rep["found_and_right"],
        "threshold": rep["threshold"],
    }
    log(f"user run fold {k}: {rep['found_and_right']} threshold={rep['threshold']} ({m.get('warm_start')})")
    return row, score.report


def run_variant(
    name: str,
    fold_sets: list[list[str]],
    root: Path,
    tmp: Path,
    quick: bool,
    user_variants: tuple[str, ...] = (),
) -> dict[str, Any]:
    from core.data.manifest import list_versions
    from core.inference.scene_sets import load_scene_set
    from core.inference.scenes import evaluate_models
    from core.training.starter_build import build_dataset, link_scenes, train

    with_scenes, extra = VARIANTS[name]
    out: dict[str, Any] = {"config": {**BASE, **extra}, "with_scene_crops": with_scenes, "folds": []}
    reports, tops, crops, calibrated = [], [], [], []
    user_reports: dict[str, list[dict[str, Any]]] = {}
    user_tops: dict[str, list[dict[str, Any]]] = {}
    all_names = [n for f in fold_sets for n in f]
    for k, test_names in enumerate(fold_sets):
        t0 = time.perf_counter()
        train_names = [n for n in all_names if n not in set(test_names)]
        crop_mode = with_scenes if isinstance(with_scenes, str) else "truth"
        ds_name = (
            (f"fold{k}" + ("" if crop_mode == "truth" else f"_{crop_mode}")) if with_scenes else "binary"
        )
        version = _versions.get(ds_name) or dict(list_versions(root)).get(ds_name)
        if version is None:
            version = build_dataset(
                ds_name, root, scenes=train_names if with_scenes else [], tmp=tmp, voc_crops=crop_mode
            )
            _versions[ds_name] = version
        recipe = {**BASE, **extra}
        if quick:
            recipe["epochs"] = 5
        run_id = train(version, root, recipe)
        scene_dir = link_scenes(VOC, test_names, tmp / f"{name}_fold{k}_scenes")
        scene_set = load_scene_set(scene_dir, root)
        scores = evaluate_models([run_id], scene_set, root=root)
        score = scores[0]
        if score.error:
            raise RuntimeError(f"{name} fold {k}: {score.error}")
        rep = score.report.to_dict()
        top = top_label_report(score.report)
        ca = crop_accuracy(run_id, root)
        calibrated.append(calibration(run_id, root, score.report))
        reports.append(rep)
        tops.append(top)
        crops.append(ca["binary_test_accuracy"])
        out["folds"].append(
            {
                "fold": k,
                "run": run_id,
                "dataset_version": version,
                "scenes": len(test_names),
                "leaked_photos": len(score.leaks),
                "found_and_right": rep["found_and_right"],
                "accuracy_on_found": rep["accuracy_on_found"],
                "threshold": rep["threshold"],
                **ca,
                "wall_s": round(time.perf_counter() - t0, 1),
            }
        )
        log(f"{name} fold {k}: {rep['found_and_right']} acc_found={rep['accuracy_on_found']} crop={ca}")
        for uv in user_variants:
            row, report = user_run(run_id, k, root, tmp, scene_set, USER_VARIANTS[uv])
            out.setdefault("user_runs", {}).setdefault(uv, {"settings": USER_VARIANTS[uv], "folds": []})
            out["user_runs"][uv]["folds"].append(row)
            user_reports.setdefault(uv, []).append(report.to_dict())
            user_tops.setdefault(uv, []).append(top_label_report(report))
    out["pooled"] = pool(reports)
    out["calibration"] = {
        "folds": calibrated,
        "pooled_scenes": pool([{**c["scenes"], **_det(r)} for c, r in zip(calibrated, reports, strict=True)]),
    }
    for uv in user_variants:
        out["user_runs"][uv]["pooled"] = pool(user_reports[uv])
        out["user_runs"][uv]["pooled_top_label"] = pool(user_tops[uv])
    out["pooled_top_label"] = pool(tops)
    out["crop_accuracy_binary_test"] = {"mean": round(float(np.mean(crops)), 4), "lowest": min(crops)}
    return out


_versions: dict[str, str] = {}


def _det(report: dict[str, Any]) -> dict[str, Any]:
    """A scene report's detector counts (pool needs them; rescoring does not change them)."""
    return {k: report[k] for k in ("faces", "found_faces", "false_detections", "detections")}


def five_class(root: Path, quick: bool) -> dict[str, Any]:
    """MobileNetV2 on face_mask_types_5class: the default head against head + fine-tuning."""
    from benchmarks.common import prepare_dataset
    from core.runs.store import load_run
    from core.training.train import run_here

    version = prepare_dataset(root, "types5")
    out = {}
    ft = {"fine_tune_epochs": 2 if quick else 8, "fine_tune_learning_rate": 1e-4}
    for label, extra in {
        "head": {},
        "fine_tune_2_blocks_lr1e-5": {"fine_tune_blocks": 2, "fine_tune_epochs": 2 if quick else 4},
        "fine_tune_3_blocks_lr1e-4": {"fine_tune_blocks": 3, **ft},
        "fine_tune_6_blocks_lr1e-4": {"fine_tune_blocks": 6, **ft},
    }.items():
        t0 = time.perf_counter()
        run_id = run_here({"model": "mobilenet_v2", "dataset_version": version, "seed": 0, **extra}, root)
        m = load_run(run_id, root).metrics or {}
        out[label] = {
            "config": extra,
            "best_epoch": m.get("best_epoch"),
            "best_val_accuracy": m.get("best_val_accuracy"),
            "test_accuracy": m.get("accuracy"),
            "test_macro_f1": m.get("macro_f1"),
            "wall_s": round(time.perf_counter() - t0, 1),
        }
        log(f"five-class {label}: {out[label]}")
    return out


def latency(root: Path, quick: bool) -> dict[str, Any]:
    """Predict p50 on 640x480 frames (default detector, fast backend): the starter model against
    a MobileNetV2 run with the old default settings, taking turns frame by frame (same load)."""
    from benchmarks.frames import crop_frames, load_scenes, speed_report
    from core.inference.predictor import Predictor
    from core.runs.models import classifier_for_run
    from core.runs.starter import starter_classifier, starter_threshold
    from core.runs.store import list_runs
    from core.vision.detectors import DEFAULT_PREDICT_DETECTOR, get_detector

    runs = [r for r in list_runs(root) if r.state == "done" and r.config.get("model") == "mobilenet_v2"]
    plain = [
        r for r in runs if not r.config.get("degrade") and r.config.get("class_weight") in (None, "none")
    ]
    if not (plain or runs):
        return {"error": "no finished MobileNetV2 run in the workspace to compare with"}
    run = (plain or runs)[0]
    det = get_detector(DEFAULT_PREDICT_DETECTOR)
    predictors = {
        "starter": Predictor(det, starter_classifier(root=root), starter_threshold()),
        f"run {run.run_id}": Predictor(det, classifier_for_run(run.run_id, root), 0.6),
    }
    frames = crop_frames(load_scenes(None), 10 if quick else 40)
    out = speed_report(predictors, {"frames_640x480": frames}, 1 if quick else 3)["frames_640x480"]
    out["backends"] = {k: p.model.backend for k, p in predictors.items()}
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--quick", action="store_true", help="2 folds of 10 scenes, 5 epochs")
    parser.add_argument("--variants", default="binary,scenes,source_degrade,both_source_degrade")
    parser.add_argument("--five-class", action="store_true")
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument("--latency", action="store_true", help="Predict p50: starter vs a default run")
    parser.add_argument(
        "--user-run",
        action="store_true",
        help="per fold, also a run with Launch's defaults on face_mask_binary_real alone, warm-started "
        "from that fold's starter (both_source_degrade), with an empty Keras cache",
    )
    parser.add_argument(
        "--user-variants", default="defaults", help=f"with --user-run: {', '.join(USER_VARIANTS)}"
    )
    args = parser.parse_args()
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-scenes-") as tmp:
        root = seed_env(Path(tmp), args.workspace, keras_cache=not args.user_run)
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        fold_sets = folds(2 if args.quick else 5, 20 if args.quick else None)
        result: dict[str, Any] = {
            "benchmark": "scenes",
            "machine": {"cpus": os.cpu_count(), "load_avg_start": [round(v, 2) for v in os.getloadavg()]},
            "folds": len(fold_sets),
            "scenes": sum(len(f) for f in fold_sets),
            "targets": TARGETS,
            "variants": {},
        }
        for name in [v for v in args.variants.split(",") if v]:
            log(f"variant {name}")
            user = (
                tuple(args.user_variants.split(","))
                if name == "both_source_degrade" and args.user_run
                else ()
            )
            result["variants"][name] = run_variant(name, fold_sets, root, Path(tmp), args.quick, user)
        if "both_source_degrade" in result["variants"]:  # core.training.starter_build.RECIPE and VOC_CROPS
            r = result["variants"]["both_source_degrade"]
            result["recipe_cv"] = r["pooled"]
            far = r["pooled"]["found_and_right"]
            result["targets_met"] = {
                "with_mask": (far.get("with_mask") or 0) >= TARGETS["with_mask"],
                "without_mask": (far.get("without_mask") or 0) >= TARGETS["without_mask"],
                "accuracy_on_found": (r["pooled"]["accuracy_on_found"] or 0) >= TARGETS["accuracy_on_found"],
                "crop_accuracy": r["crop_accuracy_binary_test"]["lowest"] >= TARGETS["crop_accuracy"],
            }
        if args.five_class:
            result["five_class"] = five_class(root, args.quick)
        if args.latency:
            result["predict_latency_ms"] = latency(root, args.quick)
    return emit(result, started)


if __name__ == "__main__":
    sys.exit(main())
