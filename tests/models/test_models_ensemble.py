"""The blend of the fine-tuned transformer and the n-gram model, its weight chosen on dev."""

from __future__ import annotations

import numpy as np

from models.ensemble import WEIGHTS, EnsembleClassifier, blend, choose_weight
from pipeline.labels import LABELS


def _onehot(idx: list[int], sure: float = 0.9) -> np.ndarray:
    p = np.full((len(idx), 5), (1 - sure) / 4)
    p[np.arange(len(idx)), idx] = sure
    return p


def test_blend_at_one_is_the_transformer_and_rows_sum_to_one() -> None:
    a, b = _onehot([0, 1, 2]), _onehot([3, 3, 3])
    assert np.allclose(blend(a, b, 1.0), a)
    assert np.allclose(blend(a, b, 0.5).sum(axis=1), 1.0)


def test_weight_choice_follows_the_better_model_on_dev() -> None:
    truth_idx = [i % 5 for i in range(100)]
    truth = [LABELS[i] for i in truth_idx]
    good = _onehot(truth_idx)
    bad = _onehot([(i + 1) % 5 for i in truth_idx], sure=0.6)
    assert choose_weight(good, bad, truth, LABELS).weight == 1.0
    # the transformer is never left out, even when the n-gram model is the better one
    choice = choose_weight(bad, good, truth, LABELS)
    assert min(WEIGHTS) <= choice.weight < 1.0 and choice.dev_macro_f1 == 1.0
    assert choice.scores[1.0] == 0.0


def test_blend_fixes_what_each_model_gets_wrong_alone() -> None:
    # each model is right and sure on half the items, unsure and wrong on the other half
    truth_idx = [i % 5 for i in range(100)]
    truth = [LABELS[i] for i in truth_idx]
    a, b = _onehot(truth_idx, 0.95), _onehot(truth_idx, 0.95)
    a[50:] = _onehot([(i + 1) % 5 for i in truth_idx[50:]], 0.4)
    b[:50] = _onehot([(i + 2) % 5 for i in truth_idx[:50]], 0.4)
    choice = choose_weight(a, b, truth, LABELS)
    assert 0 < choice.weight < 1 and choice.dev_macro_f1 == 1.0


class _Fixed:
    def __init__(self, proba: np.ndarray) -> None:
        self.proba, self.labels, self.text_prep = proba, list(LABELS), None

    def predict_proba(self, transcripts):
        return self.proba[: len(transcripts)]


def test_ensemble_classifier_predicts_the_blend() -> None:
    a, b = _onehot([0, 1]), _onehot([1, 1])
    clf = EnsembleClassifier(_Fixed(a), _Fixed(b), 0.5, review_threshold=0.9)
    preds = clf.predict(["x", "y"])
    assert [p.category for p in preds] == [LABELS[0], LABELS[1]] or preds[0].needs_review
    assert np.allclose(clf.predict_proba(["x", "y"]), blend(a, b, 0.5))


def test_members_with_different_label_orders_are_aligned() -> None:
    a = _onehot([0, 1])
    ngram = _Fixed(a[:, ::-1].copy())
    ngram.labels = list(LABELS)[::-1]
    clf = EnsembleClassifier(_Fixed(a), ngram, 0.5, review_threshold=0.0)
    assert [p.category for p in clf.predict(["x", "y"])] == [LABELS[0], LABELS[1]]
    assert np.allclose(clf.predict_proba(["x", "y"]), a, atol=1e-6)


class _Counting(_Fixed):
    """A member that records which texts it was asked to score (the transformer of a cascade)."""

    def __init__(self, proba: np.ndarray, texts: list[str]) -> None:
        super().__init__(proba)
        self.by_text = dict(zip(texts, proba, strict=True))
        self.asked: list[str] = []

    def predict_proba(self, transcripts):
        self.asked.extend(transcripts)
        return np.array([self.by_text[t] for t in transcripts])


def test_cascade_skips_the_transformer_where_the_ngram_model_is_sure() -> None:
    texts = ["sure-0", "sure-1", "unsure-0", "unsure-1"]
    ngram = np.vstack([_onehot([0, 1], 0.97), _onehot([2, 3], 0.5)])
    transformer = _Counting(_onehot([0, 1, 4, 4], 0.9), texts)
    clf = EnsembleClassifier(transformer, _Fixed(ngram), 0.5, review_threshold=0.0, skip_above=0.95)
    proba = clf.predict_proba(texts)
    assert transformer.asked == ["unsure-0", "unsure-1"]
    assert np.allclose(proba[:2], ngram[:2])
    assert np.allclose(proba[2:], blend(_onehot([4, 4], 0.9), ngram[2:], 0.5))
    assert np.allclose(proba.sum(axis=1), 1.0)


def test_skip_threshold_is_the_lowest_that_keeps_the_blends_categories_on_dev() -> None:
    from models.ensemble import CASCADE_GRID, choose_skip

    truth_idx = [i % 5 for i in range(1000)]
    truth = [LABELS[i] for i in truth_idx]
    transformer = _onehot(truth_idx, 0.95)
    # the n-gram model is right where it is sure (0.96) and wrong where it is only fairly sure (0.86)
    ngram = _onehot(truth_idx, 0.96)
    ngram[500:] = _onehot([(i + 1) % 5 for i in truth_idx[500:]], 0.86)
    choice = choose_skip(transformer, ngram, 0.7, truth, LABELS)
    assert choice.threshold == min(t for t in CASCADE_GRID if t > 0.86)
    assert choice.skip_share == 0.5 and choice.agreement == 1.0
    # the transformer alone (weight 1) has nothing to skip
    assert choose_skip(transformer, ngram, 1.0, truth, LABELS).threshold is None
    # a sure but wrong n-gram model leaves no threshold that keeps the blend's answers
    wrong = _onehot([(i + 1) % 5 for i in truth_idx], 0.995)
    assert choose_skip(transformer, wrong, 0.9, truth, LABELS).threshold is None
