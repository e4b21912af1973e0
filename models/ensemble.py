"""The fine-tuned transformer blended with the character n-gram model, the blend chosen on dev.

The two fail differently: the transformer reads context (who asks for what first,
a cause behind a symptom), the n-gram model holds on to misspelt power words and
the domain lexicon. Their log-probabilities are mixed with one weight, chosen on
dev from 0.1 to 1 (the transformer alone), so the champion is always the
fine-tuned model, alone or blended, whichever wins on dev. A temperature
fitted on dev afterwards calibrates the result.

Where the n-gram model is sure, the blend almost never disagrees with it, and the
transformer costs ten times as much per call. A cascade threshold chosen on dev
(``choose_skip``: the lowest n-gram confidence above which the blend's category is
the n-gram's on at least 99.9% of dev) lets those calls skip the transformer.
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
CASCADE_GRID: tuple[float, ...] = (0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99)
CASCADE_MIN_AGREEMENT = 0.999
CASCADE_MAX_F1_LOSS = 0.001


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


def _macro_f1(truth: Sequence[str], codes: np.ndarray, labels: Sequence[str]) -> float:
    present = sorted(set(truth))
    pred = [labels[i] for i in codes]
    return float(f1_score(list(truth), pred, labels=present, average="macro", zero_division=0))


def choose_weight(
    transformer: np.ndarray, ngram: np.ndarray, truth: Sequence[str], labels: Sequence[str]
) -> BlendChoice:
    """The transformer weight with the best dev macro-F1; ties go to the larger weight (the fine-tuned model)."""
    scores = {w: _macro_f1(truth, blend(transformer, ngram, w).argmax(axis=1), labels) for w in WEIGHTS}
    best = max(WEIGHTS, key=lambda w: (round(scores[w], 6), w))
    return BlendChoice(best, scores[best], scores)


@dataclass(frozen=True)
class CascadeChoice:
    """The n-gram confidence above which calls skip the transformer (None: every call gets both)."""

    threshold: float | None
    skip_share: float
    agreement: float

    def summary(self) -> str:
        if self.threshold is None:
            return "级联：开发集上没有可跳过 Transformer 的置信度阈值，每通来电两个模型都评分"
        return (
            f"级联：n-gram 置信度 ≥ {self.threshold:.2f} 的来电跳过 Transformer（开发集 {self.skip_share:.0%}，"
            f"与完整融合结果一致 {self.agreement:.1%}）"
        )


def choose_skip(
    transformer: np.ndarray, ngram: np.ndarray, weight: float, truth: Sequence[str], labels: Sequence[str]
) -> CascadeChoice:
    """The lowest threshold of ``CASCADE_GRID`` at which the cascade keeps the blend's categories on
    dev (agreement ≥ ``CASCADE_MIN_AGREEMENT``, macro-F1 not lower by more than ``CASCADE_MAX_F1_LOSS``)."""
    if weight >= 1.0:
        return CascadeChoice(None, 0.0, 1.0)
    full = blend(transformer, ngram, weight).argmax(axis=1)
    full_f1 = _macro_f1(truth, full, labels)
    confidence = ngram.max(axis=1)
    for threshold in CASCADE_GRID:
        skip = confidence >= threshold
        cascade = np.where(skip, ngram.argmax(axis=1), full)
        agreement = float(np.mean(cascade == full))
        if (
            agreement >= CASCADE_MIN_AGREEMENT
            and _macro_f1(truth, cascade, labels) >= full_f1 - CASCADE_MAX_F1_LOSS
        ):
            return CascadeChoice(threshold, float(skip.mean()), agreement)
    return CascadeChoice(None, 0.0, 1.0)


class EnsembleClassifier:
    """Same interface as the other classifiers; the transformer scores the calls the n-gram model is
    not sure of (all of them without a cascade threshold)."""

    kind = "ensemble"
    temperature: float = 1.0

    def __init__(
        self,
        transformer,
        ngram,
        weight: float,
        review_threshold: float,
        version: str = "ensemble/unregistered",
        skip_above: float | None = None,
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
        self.skip_above = skip_above

    def predict_proba(self, transcripts: Sequence[str]) -> np.ndarray:
        if self.weight >= 1.0:
            return self.transformer.predict_proba(transcripts)
        shared = getattr(self.ngram, "predict_proba_also_prepared", None)
        prepared: list[str] | None = None
        if callable(shared) and hasattr(self.transformer, "proba_prepared"):
            # each call cleaned once, in the n-gram member's workers, for both members' lengths
            ngram, prepared = shared(transcripts, self.transformer.text_prep.max_chars)
        else:
            ngram = self.ngram.predict_proba(transcripts)
        ngram = aligned(np.asarray(ngram, dtype=float), self.ngram.labels, self.labels)
        run = np.ones(len(ngram), dtype=bool)
        if self.skip_above is not None and len(ngram):
            run = ngram.max(axis=1) < self.skip_above
        out = ngram.copy()
        if run.any():
            picked = np.flatnonzero(run)
            if prepared is not None:
                transformer = self.transformer.proba_prepared([prepared[i] for i in picked])
            else:
                transformer = self.transformer.predict_proba([transcripts[i] for i in picked])
            out[run] = blend(transformer, ngram[run], self.weight)
        return out

    def warm_up(self, wait: bool = True) -> None:
        hook = getattr(self.ngram, "warm_up", None)
        if callable(hook) and self.weight < 1.0:
            hook(wait=wait)

    def predict(self, transcripts: Sequence[str]) -> list[Prediction]:
        return predictions_from_proba(
            self.predict_proba(transcripts), self.labels, self.review_threshold, self.temperature
        )
