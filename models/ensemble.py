"""The fine-tuned transformer blended with the character n-gram model, the blend chosen on dev.

The two fail differently: the transformer reads context (who asks for what first,
a cause behind a symptom), the n-gram model holds on to misspelt power words and
the domain lexicon. Their log-probabilities are mixed with one weight, chosen on
dev from 0.1 to 1 (the transformer alone), so the champion is always the
fine-tuned model, alone or blended, whichever wins on dev. A temperature
fitted on dev afterwards calibrates the result.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from sklearn.metrics import f1_score

from models.types import Prediction, predictions_from_proba

# the fine-tuned model always takes part: from a 10% share up to the transformer alone
WEIGHTS = tuple(round(w, 2) for w in np.linspace(0.1, 1.0, 10))
_EPS = 1e-9


def aligned(proba: np.ndarray, have: Sequence[str], want: Sequence[str]) -> np.ndarray:
    """Columns of ``proba`` (in the order ``have``) rearranged to the order ``want``."""
    if list(have) == list(want):
        return proba
    if set(have) != set(want):
        raise ValueError("融合的两个模型类别不一致")
    return proba[:, [list(have).index(label) for label in want]]


def blend(transformer: np.ndarray, ngram: np.ndarray, weight: float) -> np.ndarray:
    """Normalised geometric mixture: ``weight`` on the transformer, the rest on the n-gram model."""
    logp = weight * np.log(np.clip(transformer, _EPS, 1)) + (1 - weight) * np.log(np.clip(ngram, _EPS, 1))
    logp -= logp.max(axis=1, keepdims=True)
    p = np.exp(logp)
    return p / p.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class BlendChoice:
    weight: float
    dev_macro_f1: float
    scores: dict[float, float]

    def summary(self) -> str:
        what = "仅 Transformer" if self.weight == 1 else "与 n-gram 模型加权融合"
        return f"融合权重 {self.weight:.1f}（{what}），开发集宏F1 {self.dev_macro_f1:.3f}"


def choose_weight(
    transformer: np.ndarray, ngram: np.ndarray, truth: Sequence[str], labels: Sequence[str]
) -> BlendChoice:
    """The transformer weight with the best dev macro-F1; ties go to the larger weight (the fine-tuned model)."""
    present = sorted(set(truth))
    scores: dict[float, float] = {}
    for w in WEIGHTS:
        pred = [labels[i] for i in blend(transformer, ngram, w).argmax(axis=1)]
        scores[w] = float(f1_score(list(truth), pred, labels=present, average="macro", zero_division=0))
    best = max(WEIGHTS, key=lambda w: (round(scores[w], 6), w))
    return BlendChoice(best, scores[best], scores)


class EnsembleClassifier:
    """Same interface as the other classifiers; both members score every call."""

    kind = "ensemble"
    temperature: float = 1.0

    def __init__(
        self,
        transformer,
        ngram,
        weight: float,
        review_threshold: float,
        version: str = "ensemble/unregistered",
    ):
        if set(transformer.labels) != set(ngram.labels):
            raise ValueError("融合的两个模型类别不一致")
        self.transformer = transformer
        self.ngram = ngram
        self.weight = weight
        self.labels = list(transformer.labels)
        self.review_threshold = review_threshold
        self.version = version
        self.text_prep = transformer.text_prep

    def predict_proba(self, transcripts: Sequence[str]) -> np.ndarray:
        if self.weight >= 1.0:
            return self.transformer.predict_proba(transcripts)
        shared = getattr(self.ngram, "predict_proba_also_prepared", None)
        if callable(shared) and hasattr(self.transformer, "proba_prepared"):
            # each call cleaned once, in the n-gram member's workers, for both members' lengths
            ngram, prepared = shared(transcripts, self.transformer.text_prep.max_chars)
            transformer = self.transformer.proba_prepared(prepared)
        else:
            ngram = self.ngram.predict_proba(transcripts)
            transformer = self.transformer.predict_proba(transcripts)
        return blend(transformer, aligned(ngram, self.ngram.labels, self.labels), self.weight)

    def warm_up(self, wait: bool = True) -> None:
        hook = getattr(self.ngram, "warm_up", None)
        if callable(hook) and self.weight < 1.0:
            hook(wait=wait)

    def predict(self, transcripts: Sequence[str]) -> list[Prediction]:
        return predictions_from_proba(
            self.predict_proba(transcripts), self.labels, self.review_threshold, self.temperature
        )
