"""Review-queue benchmark: does labelling the faces the queue picks help more than labelling
random ones? The loop simulated on the 100 shared VOC scenes.

    python -m benchmarks.active [--folds 5] [--seeds 3] [--quick] [--budget 100] [--workspace DIR]

Prints one JSON object. The scenes are shuffled (seed 0) into 5 folds, as benchmarks/scenes.py.
Per seed s, a start model: MobileNetV2 with Launch's defaults on face_mask_binary_real only
(no warm start: the shipped starter saw every scene), written as the starter so that retrains
warm-start from it. Predict's default detector runs once per photo. Per fold k and seed s:

1. The ranking setting (uncertainty measure, borderline and rarity weights of
   core.review.scores) is chosen on the training folds' faces only: the one whose queue has the
   highest lift for the start model. Its lift on the held-out fold's faces is reported too.
2. The queue over the training folds' detected faces (priority, near-duplicates collapsed, the
   seeded random share, as the app orders it) gives its first `budget` faces; separately
   `budget` faces are drawn at random (seeded). A simulated reviewer labels each with its VOC
   class ("not a face" where the detection matches no labelled face: a review spent, no crop).
3. Each set is added to face_mask_binary_real (the product's VOC import, the reviewed box), and
   a run with Launch's defaults is trained on it, warm-started from the start model.
4. Start, queue and random models are scored on the held-out fold's scenes at the app's
   defaults (core.inference.scenes: detector, each run's own suggested threshold, an uncertain
   face is not right; leak check on).

Reported: found-and-right per class and the uncertain share, mean and spread over folds x seeds;
the lift of every setting (training folds) and of the chosen one (held-out); the time to rank
1,000 faces (one MobileNetV2 base pass, the run's head on its features, priority, duplicate
collapse, order).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

import numpy as np

from benchmarks.active_sim import (
    VOC,
    CachedDetector,
    Setting,
    base_features,
    build_reviewed,
    detect_pool,
    lift,
    misses,
    predict,
    queue_order,
    reviewed_voc,
    spread,
)
from benchmarks.common import emit, seed_env

#: The ranking settings tried (the measure the issue asks to choose, and the weights beside it).
SETTINGS = tuple(Setting(m, b, r) for m in ("margin", "entropy") for b in (0.0, 0.3) for r in (0.0, 0.3, 1.0))
TARGETS = {"lift": 2.0, "queue_beats_random": True, "rank_1000_s": 30.0}
ARMS = ("start", "queue", "random")


def log(msg: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def folds(k: int, limit: int | None) -> list[list[str]]:
    """benchmarks/scenes.py's folds (the same shuffle), as image file names."""
    from core.annotation.formats.voc import voc_folder_files

    _, images = voc_folder_files(VOC)
    by_stem = {Path(p).stem: Path(p).name for p in images.values()}
    names = sorted(p.stem for p in (VOC / "annotations").glob("*.xml"))
    rng = np.random.default_rng(0)
    names = [names[i] for i in rng.permutation(len(names))][: limit or None]
    return [[by_stem[n] for n in names[i::k]] for i in range(k)]


def start_model(seed: int, root: Path, tmp: Path, epochs: int | None) -> dict[str, Any]:
    """The seed's start run (face_mask_binary_real, Launch's defaults, no warm start), its
    classifier and threshold, written as a starter (MASK_STUDIO_STARTER_DIR points to it)."""
    from core.inference.scenes import load_classifier, model_entry
    from core.runs.store import load_run
    from core.training.starter_build import build_dataset, write_starter
    from core.training.train import run_here

    version = _versions.get("binary") or build_dataset("binary", root, scenes=[], tmp=tmp)
    _versions["binary"] = version
    cfg = {"model": "mobilenet_v2", "dataset_version": version, "seed": seed, "warm_start": "none"}
    run = run_here({**cfg, **({"epochs": epochs} if epochs else {})}, root)
    record = load_run(run, root)
    if record.state != "done":
        raise RuntimeError(f"start run seed {seed}: {record.status.get('error')}")
    starter = tmp / f"starter_seed{seed}"
    write_starter(run, starter, root, None, 0.0)
    os.environ["MASK_STUDIO_STARTER_DIR"] = str(starter)
    clf, threshold = load_classifier(model_entry(run, root), root)
    return {"run": run, "clf": clf, "threshold": threshold, "config": record.config}


def choose_setting(pool: Any, train_idx: np.ndarray, test_idx: np.ndarray, start: dict, seed: int) -> dict:
    """Every setting's lift on the training folds' faces; the best (ties: the earlier, margin
    first) and its lift on the held-out fold's faces, never used to choose."""
    labels = start["clf"].labels
    miss = misses(pool, start["probs"], labels, start["threshold"])
    tried = {}
    for s in SETTINGS:
        order, _ = queue_order(pool, train_idx, start["probs"], labels, s, seed)
        tried[s.name()] = lift(order, miss, train_idx)
    best = max(SETTINGS, key=lambda s: tried[s.name()]["lift"] or 0.0)
    held_order, _ = queue_order(pool, test_idx, start["probs"], labels, best, seed)
    return {
        "chosen": best,
        "training_folds": tried,
        "held_out": lift(held_order, miss, test_idx),
        "held_out_uncertainty_only": {
            m: lift(
                queue_order(pool, test_idx, start["probs"], labels, Setting(m, 0, 0), seed, 0.0)[0],
                miss,
                test_idx,
            )
            for m in ("margin", "entropy")
        },
    }


def retrain(
    name: str, pool: Any, picked: list[int], seed: int, root: Path, tmp: Path, epochs: int | None
) -> tuple[str, dict]:
    from core.runs.store import load_run
    from core.training.train import run_here

    voc, counts = reviewed_voc(pool, picked, tmp / name)
    version = build_reviewed(name, root, voc, tmp)
    cfg = {"model": "mobilenet_v2", "dataset_version": version, "seed": seed}
    run = run_here({**cfg, **({"epochs": epochs} if epochs else {})}, root)
    record = load_run(run, root)
    if record.state != "done":
        raise RuntimeError(f"{name}: {record.status.get('error')}")
    m = record.metrics or {}
    return run, {
        "reviewed": counts,
        "warm_start": m.get("warm_start"),
        "class_weight": record.config.get("class_weight"),
    }


def score(runs: dict[str, str], scene_set: Any, detector: Any, root: Path) -> dict[str, dict[str, Any]]:
    from core.inference.scenes import evaluate_models

    out = {}
    for arm, s in zip(
        runs, evaluate_models(list(runs.values()), scene_set, detector=detector, root=root), strict=True
    ):
        if s.error or s.report is None:
            raise RuntimeError(f"{arm}: {s.error}")
        r = s.report
        found = sum(c.found for c in r.per_class.values())
        out[arm] = {
            "run": runs[arm],
            "threshold": round(r.threshold, 3),
            "found_and_right": {c: round(v, 4) for c, v in r.found_and_right.items() if v is not None},
            "uncertain_share": round(sum(c.uncertain for c in r.per_class.values()) / found, 4)
            if found
            else None,
            "accuracy_on_found": round(r.accuracy_on_found or 0.0, 4),
            "leaked_photos": len(s.leaks),
        }
    return out


def rank_timing(pool: Any, start: dict, n: int = 1000) -> dict[str, Any]:
    """Rank n faces from their crops as the queue can: one MobileNetV2 base pass per face (the
    features the duplicate collapse needs), the run's head on those features for the class
    probabilities, then priority, collapse and order. (The pool's crops, topped up with mirrored
    copies to n.)"""
    from core.review import scores
    from models.mobilenet_v2 import head_model

    crops = pool.crops
    while len(crops) < n:
        crops = np.concatenate([crops, crops[:, :, ::-1]])
    crops = crops[:n]
    dets = np.resize(pool.det_score, n)
    head = head_model(start["keras"])
    cpu0 = time.process_time()
    t0 = time.perf_counter()
    feats = base_features(start["keras"], crops)
    t1 = time.perf_counter()
    probs = head.predict(feats, batch_size=256, verbose=0)
    t2 = time.perf_counter()
    guesses = [start["clf"].labels[int(j)] for j in probs.argmax(1)]
    prio, _ = scores.priorities(probs, dets, guesses, Counter(guesses))
    kept = scores.collapse_duplicates(feats, prio)
    scores.review_order(prio, kept)
    t3 = time.perf_counter()
    check = predict(start["clf"].predict, crops[:64])  # the run's own classifier, untimed
    return {
        "faces": n,
        "features_s": round(t1 - t0, 2),
        "head_s": round(t2 - t1, 2),
        "priority_collapse_order_s": round(t3 - t2, 3),
        "total_s": round(t3 - t0, 2),
        "total_cpu_s": round(time.process_time() - cpu0, 2),
        "kept_after_collapse": int(len(kept)),
        "head_agrees_with_classifier": round(float((check.argmax(1) == probs[:64].argmax(1)).mean()), 3),
        "load_avg": [round(v, 2) for v in os.getloadavg()],
    }


def rank_only(scenes: Any, detector: Any, root: Path) -> dict[str, Any]:
    """rank_timing with the shipped starter model (the same network as any MobileNetV2 run)."""
    from core.runs.starter import starter_classifier, starter_dir
    from core.vision.model_files import load_model_file

    clf = starter_classifier(root=root)
    start = {"clf": clf, "keras": load_model_file(starter_dir() / "model.keras")}
    return {"model": "starter", **rank_timing(detect_pool(scenes, detector, clf.image_size), start)}


def summarise(rows: list[dict[str, Any]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for arm in ARMS:
        classes = sorted({c for r in rows for c in r["scores"][arm]["found_and_right"]})
        out[arm] = {
            "found_and_right": {
                c: spread([r["scores"][arm]["found_and_right"].get(c) for r in rows]) for c in classes
            },
            "uncertain_share": spread([r["scores"][arm]["uncertain_share"] for r in rows]),
            "accuracy_on_found": spread([r["scores"][arm]["accuracy_on_found"] for r in rows]),
        }
    diffs = {}
    for c in out["queue"]["found_and_right"]:
        d = [
            r["scores"]["queue"]["found_and_right"].get(c, 0)
            - r["scores"]["random"]["found_and_right"].get(c, 0)
            for r in rows
        ]
        diffs[c] = {
            **spread(d),
            "queue_wins": int(sum(x > 0 for x in d)),
            "ties": int(sum(x == 0 for x in d)),
        }
    out["queue_minus_random"] = diffs
    return out


_versions: dict[str, str] = {}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--folds", type=int, default=5, help="folds to run (of 5)")
    parser.add_argument("--seeds", type=int, default=3)
    parser.add_argument("--budget", type=int, default=100, help="faces labelled per arm")
    parser.add_argument("--quick", action="store_true", help="1 fold, 1 seed, 3 epochs")
    parser.add_argument("--workspace", type=Path, default=None)
    parser.add_argument(
        "--rank-only", action="store_true", help="only time ranking 1,000 faces (starter model)"
    )
    args = parser.parse_args()
    n_folds, n_seeds = (1, 1) if args.quick else (args.folds, args.seeds)
    epochs = 3 if args.quick else None
    started = time.perf_counter()
    with tempfile.TemporaryDirectory(prefix="bench-active-") as tmp_name:
        tmp = Path(tmp_name)
        root = seed_env(tmp, args.workspace)
        import tensorflow as tf

        tf.config.threading.set_intra_op_parallelism_threads(2)
        tf.config.threading.set_inter_op_parallelism_threads(1)
        from core.inference.scene_sets import load_scene_set
        from core.runs.models import run_model_path
        from core.runs.store import load_run
        from core.vision.detectors import DEFAULT_PREDICT_DETECTOR, get_detector
        from core.vision.model_files import load_model_file

        result: dict[str, Any] = {
            "benchmark": "active",
            "data": "face_mask_detection_voc (100 scenes) for the loop; face_mask_binary_real for every model",
            "machine": {"cpus": os.cpu_count(), "load_avg_start": [round(v, 2) for v in os.getloadavg()]},
            "budget": args.budget,
            "targets": TARGETS,
        }
        fold_sets = folds(5, None)[:n_folds]
        scenes = load_scene_set(VOC, root)
        detector = CachedDetector(get_detector(DEFAULT_PREDICT_DETECTOR), DEFAULT_PREDICT_DETECTOR)
        if args.rank_only:
            return emit({**result, "rank_1000_faces": rank_only(scenes, detector, root)}, started)
        rows, choices = [], []
        pool = None
        for seed in range(n_seeds):
            t0 = time.perf_counter()
            start = start_model(seed, root, tmp, epochs)
            start["keras"] = load_model_file(run_model_path(load_run(start["run"], root).path))
            if pool is None:
                pool = detect_pool(scenes, detector, start["clf"].image_size)
                pool.features = base_features(start["keras"], pool.crops)
                result["pool"] = {
                    "detections": len(pool.truth),
                    "matched": sum(t is not None for t in pool.truth),
                    "per_class": dict(Counter(t or "not_a_face" for t in pool.truth)),
                    "detect_s_per_photo": round(pool.detect_s / len(pool.sizes), 3),
                }
                result["rank_1000_faces"] = rank_timing(pool, start)
                log(f"pool {result['pool']} rank {result['rank_1000_faces']}")
            start["probs"] = predict(start["clf"].predict, pool.crops)
            log(
                f"seed {seed}: start run {start['run']} threshold {start['threshold']} ({time.perf_counter() - t0:.0f} s)"
            )
            for k, test_names in enumerate(fold_sets):
                t1 = time.perf_counter()
                train_names = [s.name for s in scenes.scenes if s.name not in set(test_names)]
                train_idx, test_idx = pool.where(train_names), pool.where(test_names)
                choice = choose_setting(pool, train_idx, test_idx, start, seed)
                order, randoms = queue_order(
                    pool, train_idx, start["probs"], start["clf"].labels, choice["chosen"], seed
                )
                picks = {
                    "queue": order[: args.budget],
                    "random": [
                        int(i)
                        for i in np.random.default_rng(1000 + 10 * seed + k).permutation(train_idx)[
                            : args.budget
                        ]
                    ],
                }
                runs, info = {"start": start["run"]}, {}
                for arm, picked in picks.items():
                    runs[arm], info[arm] = retrain(
                        f"{arm}_s{seed}_f{k}", pool, picked, seed, root, tmp, epochs
                    )
                info["queue"]["random_share_in_budget"] = sum(i in randoms for i in picks["queue"])
                row = {
                    "fold": k,
                    "seed": seed,
                    "setting": choice["chosen"].name(),
                    "lift_training_folds": choice["training_folds"][choice["chosen"].name()],
                    "lift_held_out": choice["held_out"],
                    "lift_held_out_uncertainty_only": choice["held_out_uncertainty_only"],
                    "reviews": info,
                    "scores": score(runs, scenes.subset(test_names), detector, root),
                    "wall_s": round(time.perf_counter() - t1, 1),
                }
                rows.append(row)
                choices.append(choice)
                log("row " + json.dumps({**row, "choice": {**choice, "chosen": choice["chosen"].name()}}))
                log(
                    f"fold {k} seed {seed}: "
                    + str({a: row["scores"][a]["found_and_right"] for a in ARMS})
                    + f" {row['setting']} lift {row['lift_held_out']['lift']}"
                )
        result["runs"] = rows
        result["summary"] = summarise(rows)
        result["lift"] = lift_summary(choices)
        q, r = result["summary"]["queue"]["found_and_right"], result["summary"]["random"]["found_and_right"]
        result["targets_met"] = {
            "lift_training_folds": (result["lift"]["chosen_training_folds"]["mean"] or 0) >= TARGETS["lift"],
            "lift_held_out": (result["lift"]["chosen_held_out"]["mean"] or 0) >= TARGETS["lift"],
            "queue_beats_random": {c: (q[c]["mean"] or 0) > (r[c]["mean"] or 0) for c in q},
            "rank_1000_s": result["rank_1000_faces"]["total_s"] <= TARGETS["rank_1000_s"],
        }
    return emit(result, started)


def lift_summary(choices: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean lift of every setting on the training folds, the chosen ones and how often each was
    chosen, and the chosen setting's lift on the held-out folds."""
    per = {s.name(): spread([c["training_folds"][s.name()]["lift"] for c in choices]) for s in SETTINGS}
    measures = {
        m: spread(
            [c["training_folds"][s.name()]["lift"] for c in choices for s in SETTINGS if s.measure == m]
        )
        for m in ("margin", "entropy")
    }
    return {
        "head_share": 0.2,
        "settings_training_folds": per,
        "measure_training_folds": measures,
        "chosen": dict(Counter(c["chosen"].name() for c in choices)),
        "chosen_training_folds": spread([c["training_folds"][c["chosen"].name()]["lift"] for c in choices]),
        "chosen_held_out": spread([c["held_out"]["lift"] for c in choices]),
        "uncertainty_only_held_out": {
            m: spread([c["held_out_uncertainty_only"][m]["lift"] for c in choices])
            for m in ("margin", "entropy")
        },
    }


if __name__ == "__main__":
    sys.exit(main())
