"""core.review.scores: the ranking arithmetic."""

from __future__ import annotations

import numpy as np
import pytest

from core.review import scores
from core.review.scores import (
    WHY_BORDERLINE,
    WHY_RARE,
    WHY_SURE,
    RankingError,
    borderline,
    collapse_duplicates,
    priorities,
    random_share_accuracy,
    rarity,
    review_order,
    uncertainty,
)


def test_margin_and_entropy_rank_a_coin_flip_above_a_sure_face() -> None:
    p = np.array([[0.99, 0.01], [0.5, 0.5], [0.7, 0.3]])
    for measure in ("margin", "entropy"):
        u = uncertainty(p, measure)
        assert u[1] == pytest.approx(1.0)
        assert u[0] < u[2] < u[1]


def test_uncertainty_refuses_bad_shapes_and_measures() -> None:
    with pytest.raises(RankingError):
        uncertainty(np.array([0.5, 0.5]))
    with pytest.raises(RankingError):
        uncertainty(np.array([[0.5, 0.5]]), "variance")


def test_borderline_peaks_inside_the_band_and_ignores_missing_scores() -> None:
    b = borderline(np.array([0.65, 0.99, 0.2, np.nan]))
    assert b[0] == pytest.approx(1.0)
    assert list(b[1:]) == [0.0, 0.0, 0.0]


def test_rarity_favours_the_rarer_class() -> None:
    r = rarity(["a", "b", "c"], {"a": 10, "b": 2})
    assert r[0] == 0.0 and r[1] == pytest.approx(0.8) and r[2] == 1.0
    assert list(rarity(["a"], {})) == [0.0]


def test_priorities_raise_rare_and_borderline_unsure_faces_with_reasons(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(scores, "BORDER_WEIGHT", 0.3)  # the measured default is 0 (badge only)
    p = np.array([[0.6, 0.4], [0.6, 0.4], [0.6, 0.4]])
    prio, why = priorities(p, np.array([0.95, 0.65, 0.95]), ["a", "a", "b"], {"a": 10, "b": 1})
    assert prio[1] > prio[0] and prio[2] > prio[0]
    assert WHY_BORDERLINE in why[1] and WHY_RARE in why[2]
    _, sure = priorities(np.array([[0.97, 0.03]]), np.array([0.99]), ["a"], {"a": 10, "b": 1})
    assert sure == [[WHY_SURE]], "a fairly sure face is not called uncertain"
    with pytest.raises(RankingError):
        priorities(p, np.array([0.9]), ["a", "a", "a"], {})


def test_near_duplicates_collapse_to_the_most_uncertain() -> None:
    f = np.array([[1.0, 0.0], [0.999, 0.01], [0.0, 1.0]])
    kept = collapse_duplicates(f, np.array([0.2, 0.9, 0.5]))
    assert list(kept) == [1, 2]


def test_review_order_interleaves_a_seeded_random_share() -> None:
    prio = np.linspace(1, 0, 20)
    a = review_order(prio, range(20), share=0.2, seed=3)
    b = review_order(prio, range(20), share=0.2, seed=3)
    assert a == b and sorted(a.indices) == list(range(20))
    assert len(a.random) == 4
    assert review_order(prio, range(20), share=0.0).indices == list(range(20))
    with pytest.raises(RankingError):
        review_order(prio, range(20), share=1.0)


def test_random_share_accuracy_has_an_interval() -> None:
    assert random_share_accuracy([]) is None
    acc, half = random_share_accuracy([True] * 8 + [False] * 2)
    assert acc == pytest.approx(0.8) and 0 < half < 0.3


def test_borderline_gives_its_badge_at_the_default_weight() -> None:
    p = np.array([[0.6, 0.4], [0.6, 0.4]])
    prio, why = priorities(p, np.array([0.95, 0.65]), ["a", "a"], {"a": 10})
    assert prio[0] == pytest.approx(prio[1])  # border weight 0 (benchmarks/active.py)
    assert WHY_BORDERLINE in why[1] and WHY_BORDERLINE not in why[0]
