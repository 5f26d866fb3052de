"""Pure ranking arithmetic for the review queue (no models, no files).

A face's priority is its classifier uncertainty (margin or entropy, see `UNCERTAINTY`), raised
for a borderline detector score and for a guess of one of the project's rarer classes.
Near-duplicates (cosine similarity of MobileNetV2 base features at or above `DUP_COSINE`) are
collapsed to their most uncertain member. A seeded random share of the queue is drawn uniformly
from every face, marked "random": its error rate is an unbiased estimate of the model's accuracy.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from core.errors import MaskStudioError

#: "margin" (1 - (p1 - p2)) or "entropy" (normalised Shannon entropy). Chosen with the weights
#: below by benchmarks/active.py, by cross-validation on training folds only (5 folds of the 100
#: shared VOC scenes; each fold's setting chosen on the other 80 scenes, never on the fold it is
#: scored on): the queue's lift (the start model's miss rate, wrong or uncertain, in the first 20%
#: of the queue over its overall miss rate) of 12 settings, margin/entropy x border weight 0/0.3 x
#: rarity weight 0/0.3/1. entropy, border 0, rarity 1 was best in 4 of 5 folds and 0.015 short of
#: the best (border 0.3) in the fifth: training-fold lift 2.67 (2.44-2.81), held-out 2.81
#: (1.69-3.19); margin with the same weights 2.10 (1.93-2.36). With two classes both measures
#: order faces alike (each is a function of the top probability: held-out lift 2.08 for either
#: alone); they differ once the rarity term is added. Figures: docs/scenes.md.
UNCERTAINTY = "entropy"
UNCERTAINTIES = ("margin", "entropy")
#: detector scores in [BORDER_LOW, BORDER_HIGH] are "borderline": perhaps not a face at all. The
#: band still gives the "borderline detection" badge; its weight in the priority is 0 (measured as
#: above: 2.51 at 0.3 against 2.67 at 0; a "not a face" review teaches the classifier nothing).
BORDER_LOW, BORDER_HIGH = 0.5, 0.8
BORDER_WEIGHT = 0.0
#: The rarity of the guessed class (1 - its count / the commonest's) can double a face's priority.
#: DUP_COSINE and RANDOM_SHARE were not tuned (the issue's 15% share).
RARITY_WEIGHT = 1.0
DUP_COSINE = 0.97
RANDOM_SHARE = 0.15
_BLOCK = 512  # collapse_duplicates: faces whose similarities are computed in one product

#: the reasons a face is queued, as shown on its badge; WHY_SURE: none of the others, the model is
#: fairly sure (such faces come after the unsure ones, to be checked all the same).
WHY_UNCERTAIN, WHY_BORDERLINE, WHY_RARE, WHY_RANDOM = (
    "uncertain",
    "borderline detection",
    "rare class",
    "random",
)
WHY_SURE = "model fairly sure"


class RankingError(MaskStudioError):
    """Bad input to the ranking (shapes that do not match, an unknown measure, a bad share)."""


def uncertainty(probs: np.ndarray, measure: str = UNCERTAINTY) -> np.ndarray:
    """Per-row uncertainty in [0, 1] of class probabilities (n, k): higher is less sure."""
    p = np.asarray(probs, dtype=np.float64)
    if p.ndim != 2 or p.shape[1] < 2:
        raise RankingError(f"probabilities must be (faces, classes ≥ 2), got {p.shape}")
    if measure == "margin":
        top2 = -np.sort(-p, axis=1)[:, :2]
        return np.clip(1.0 - (top2[:, 0] - top2[:, 1]), 0.0, 1.0)
    if measure == "entropy":
        q = np.clip(p, 1e-12, 1.0)
        q = q / q.sum(axis=1, keepdims=True)
        return np.clip(-(q * np.log(q)).sum(axis=1) / math.log(p.shape[1]), 0.0, 1.0)
    raise RankingError(f"unknown uncertainty measure {measure!r}: use one of {', '.join(UNCERTAINTIES)}")


def borderline(det_scores: np.ndarray) -> np.ndarray:
    """1 at the middle of the borderline band, falling to 0 at its edges and outside it; NaN
    (no detector score: a box drawn by a person) is 0."""
    s = np.asarray(det_scores, dtype=np.float64)
    mid, half = (BORDER_LOW + BORDER_HIGH) / 2, (BORDER_HIGH - BORDER_LOW) / 2
    out = 1.0 - np.abs(s - mid) / half
    return np.where(np.isfinite(out), np.clip(out, 0.0, 1.0), 0.0)


def rarity(guesses: Sequence[str], class_counts: Mapping[str, int]) -> np.ndarray:
    """Per face, how rare its guessed class is in the project, in [0, 1]: 1 - count / max count
    (a class the project has never seen is rarest). All zero when the project has no labels."""
    if not class_counts or max(class_counts.values(), default=0) <= 0:
        return np.zeros(len(guesses))
    top = max(class_counts.values())
    return np.array([1.0 - class_counts.get(g, 0) / top for g in guesses], dtype=np.float64)


def priorities(
    probs: np.ndarray,
    det_scores: np.ndarray,
    guesses: Sequence[str],
    class_counts: Mapping[str, int],
    measure: str = UNCERTAINTY,
) -> tuple[np.ndarray, list[list[str]]]:
    """(priority per face, reasons per face). Priority = uncertainty x (1 + borderline weight +
    rarity weight): a sure face stays low however rare, an unsure one rises."""
    u = uncertainty(probs, measure)
    n = len(u)
    b = borderline(det_scores)
    r = rarity(guesses, class_counts)
    if len(b) != n or len(r) != n:
        raise RankingError("probabilities, detector scores and guesses must have one row per face")
    prio = u * (1.0 + BORDER_WEIGHT * b + RARITY_WEIGHT * r)
    why: list[list[str]] = []
    for i in range(n):
        reasons = [WHY_UNCERTAIN] if u[i] >= 0.5 else []
        if b[i] > 0:
            reasons.append(WHY_BORDERLINE)
        if r[i] >= 0.5:
            reasons.append(WHY_RARE)
        why.append(reasons or [WHY_SURE])
    return prio, why


def collapse_duplicates(features: np.ndarray, priority: np.ndarray, cosine: float = DUP_COSINE) -> np.ndarray:
    """Indices of the faces kept: greedily, in priority order, a face is dropped when its cosine
    similarity to a face already kept is at least `cosine`. Returns kept indices in priority order."""
    f = np.asarray(features, dtype=np.float32)
    if len(f) != len(priority):
        raise RankingError("one feature row per face is needed")
    if len(f) == 0:
        return np.zeros(0, dtype=np.int64)
    f = f.reshape(len(f), -1)
    f = f / np.maximum(np.linalg.norm(f, axis=1, keepdims=True), 1e-12)
    order = np.argsort(-np.asarray(priority), kind="stable")
    kept: list[int] = []
    is_kept = np.zeros(len(f), dtype=bool)
    for start in range(0, len(order), _BLOCK):  # similarities by BLAS, a block of faces at a time
        block = order[start : start + _BLOCK]
        sims = f[block] @ f.T
        for j, i in enumerate(block):
            if kept and float(sims[j, is_kept].max()) >= cosine:
                continue
            is_kept[i] = True
            kept.append(int(i))
    return np.asarray(kept, dtype=np.int64)


@dataclass(frozen=True)
class Order:
    """The review order: face indices, and which of them were drawn at random."""

    indices: list[int]
    random: set[int] = field(default_factory=set)


def review_order(
    priority: np.ndarray, candidates: Sequence[int], share: float = RANDOM_SHARE, seed: int = 0
) -> Order:
    """Interleave a seeded random share into the priority order of `candidates` (the faces left
    after duplicates are collapsed). Every `round(1/share)`-th place is a face drawn uniformly
    from the candidates not yet placed; `share` 0 gives the plain priority order."""
    if not 0.0 <= share < 1.0:
        raise RankingError(f"the random share must be in [0, 1), got {share}")
    cands = [int(i) for i in candidates]
    by_prio = sorted(cands, key=lambda i: (-float(priority[i]), i))
    if share == 0 or not cands:
        return Order(by_prio)
    rng = np.random.default_rng(seed)
    drawn = [cands[j] for j in rng.permutation(len(cands))]
    every = max(1, round(1.0 / share))
    placed: set[int] = set()
    out: list[int] = []
    randoms: set[int] = set()
    pi = di = 0
    while len(out) < len(cands):
        if (len(out) + 1) % every == 0:
            while drawn[di] in placed:
                di += 1
            pick = drawn[di]
            randoms.add(pick)
        else:
            while by_prio[pi] in placed:
                pi += 1
            pick = by_prio[pi]
        placed.add(pick)
        out.append(pick)
    return Order(out, randoms)


def random_share_accuracy(outcomes: Sequence[bool]) -> tuple[float, float] | None:
    """(accuracy, 95% Wilson half-width) from the reviewed random faces (True: the model's guess
    was right); None before any is reviewed."""
    n = len(outcomes)
    if n == 0:
        return None
    p = sum(bool(o) for o in outcomes) / n
    z = 1.96
    denom = 1 + z * z / n
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return p, half
