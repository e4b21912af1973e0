"""The promotion gate's paired bootstrap and floors, and the review threshold, on known answers."""

from __future__ import annotations

import random

import pytest

from models.gate import GateConfig, decide, macro_f1_interval, paired_difference
from models.review import choose_threshold, review_effect
from pipeline.labels import LABELS


def _truth(n_per_class: int = 80) -> list[str]:
    return [label for label in LABELS for _ in range(n_per_class)]


def _corrupt(truth: list[str], share: float, seed: int) -> list[str]:
    """Predictions that are right except for ``share`` of the items, chosen at random."""
    rng = random.Random(seed)
    out = list(truth)
    for i in rng.sample(range(len(out)), int(share * len(out))):
        out[i] = next(label for label in LABELS if label != out[i])
    return out


def test_perfect_predictions_have_a_point_interval() -> None:
    truth = _truth(10)
    ci = macro_f1_interval(truth, truth)
    assert (ci.value, ci.low, ci.high) == (1.0, 1.0, 1.0)


def test_interval_brackets_the_point_and_narrows_with_more_items() -> None:
    small_truth, big_truth = _truth(10), _truth(200)
    small = macro_f1_interval(small_truth, _corrupt(small_truth, 0.2, 1))
    big = macro_f1_interval(big_truth, _corrupt(big_truth, 0.2, 1))
    assert small.low <= small.value <= small.high and big.low <= big.value <= big.high
    assert big.high - big.low < small.high - small.low


def test_paired_difference_of_a_model_with_itself_is_zero() -> None:
    truth = _truth()
    pred = _corrupt(truth, 0.15, 2)
    _, _, diff = paired_difference(truth, pred, pred)
    assert (diff.value, diff.low, diff.high) == (0.0, 0.0, 0.0)


def test_gate_promotes_an_equal_challenger_and_refuses_a_clearly_worse_one() -> None:
    truth = _truth()
    champion = _corrupt(truth, 0.10, 3)
    same = decide(truth, champion, 0.03, champion, GateConfig(min_class_f1=0.0))
    assert same.promoted and same.difference is not None and same.difference.value == 0.0
    worse = decide(truth, _corrupt(truth, 0.30, 4), 0.03, champion, GateConfig(min_class_f1=0.0))
    assert not worse.promoted
    assert worse.difference is not None and worse.difference.high < 0
    assert "保留为挑战者" in worse.reason and "下限低于" in worse.reason


def test_a_small_drop_inside_the_interval_passes_and_the_margin_decides_borderline_cases() -> None:
    truth = _truth()
    champion = _corrupt(truth, 0.10, 5)
    slightly = list(champion)
    wrong_now = next(i for i, (t, p) in enumerate(zip(truth, champion, strict=True)) if t == p)
    slightly[wrong_now] = next(label for label in LABELS if label != truth[wrong_now])
    assert decide(truth, slightly, 0.03, champion, GateConfig(margin=0.02, min_class_f1=0.0)).promoted
    # the same tiny drop is refused when no drop at all is allowed and the interval must stay above 0
    strict = decide(truth, slightly, 0.03, champion, GateConfig(margin=-0.01, min_class_f1=0.0))
    assert not strict.promoted


def test_gate_refuses_a_model_blind_to_one_class() -> None:
    truth = _truth()
    blind = ["outage" if t == "other" else t for t in truth]
    decision = decide(truth, blind, 0.02, _corrupt(truth, 0.3, 6))
    assert not decision.promoted
    assert any("其他 F1" in f for f in decision.failures)


def test_gate_refuses_an_uncalibrated_model() -> None:
    truth = _truth()
    decision = decide(truth, truth, 0.15, _corrupt(truth, 0.2, 7))
    assert not decision.promoted and any("ECE" in f for f in decision.failures)


def test_first_model_is_promoted_but_its_misses_are_reported() -> None:
    truth = _truth()
    blind = ["outage" if t == "other" else t for t in truth]
    decision = decide(truth, blind, 0.2, None)
    assert decision.promoted and decision.champion is None
    assert "未达标项" in decision.reason and "ECE" in decision.reason


def test_review_threshold_flags_the_least_confident_within_budget() -> None:
    confidence = [0.2, 0.3, 0.55, 0.6, 0.7, 0.8, 0.85, 0.9, 0.95, 0.99] * 2
    correct = [False, False, True, True, True, True, True, False, True, True] * 2
    choice = choose_threshold(confidence, correct, max_share=0.2)
    assert choice.threshold == pytest.approx(0.55)
    assert choice.review_share == pytest.approx(0.2)
    assert choice.error_capture == pytest.approx(4 / 6)
    assert choice.meets_target is False  # 20% flagged is over the 10% budget the target names


def test_review_threshold_meets_the_target_when_errors_are_least_confident() -> None:
    confidence = [i / 100 for i in range(1, 101)]
    correct = [i > 6 for i in range(1, 101)]
    choice = choose_threshold(confidence, correct)
    assert choice.review_share == pytest.approx(0.10) and choice.error_capture == 1.0
    assert choice.meets_target and "达标" in choice.summary()
    assert review_effect(confidence, correct, choice.threshold) == (choice.review_share, choice.error_capture)


def test_ties_at_the_threshold_are_not_flagged_beyond_the_budget() -> None:
    confidence = [0.5] * 10
    choice = choose_threshold(confidence, [False] * 10)
    assert choice.review_share == 0.0


def test_temperature_fitted_on_overconfident_predictions_softens_them() -> None:
    import numpy as np

    from models.calibration import apply_temperature, fit_temperature

    rng = np.random.default_rng(0)
    truth_idx = rng.integers(0, 5, size=400)
    proba = np.full((400, 5), 0.01)
    predicted = np.where(rng.random(400) < 0.7, truth_idx, (truth_idx + 1) % 5)  # 70% right ...
    proba[np.arange(400), predicted] = 0.96  # ... but 96% sure
    truth = [LABELS[i] for i in truth_idx]
    t = fit_temperature(proba, truth, LABELS)
    assert t > 1.5
    softened = apply_temperature(proba, t)
    assert abs(softened.max(axis=1).mean() - 0.7) < 0.05
    assert (softened.argmax(axis=1) == proba.argmax(axis=1)).all()
    assert np.allclose(apply_temperature(proba, 1.0), proba)
