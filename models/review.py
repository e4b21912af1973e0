"""Where to send calls to a person: the needs_review threshold chosen on dev for a stated target.

Reviewers have a fixed budget (at most a tenth of the night's calls) and their
time is well spent only on calls the model gets wrong. The threshold is the
confidence below which a call is flagged; it is chosen on dev as the highest
one whose flagged share stays within the budget, and the share of errors it
catches is reported beside it so a reader sees whether the 60% target is met.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

MAX_REVIEW_SHARE = 0.10
MIN_ERROR_CAPTURE = 0.60


@dataclass(frozen=True)
class ReviewChoice:
    """A threshold and what it does on the set it was chosen on."""

    threshold: float
    review_share: float
    error_capture: float
    n: int
    errors: int

    @property
    def meets_target(self) -> bool:
        return self.review_share <= MAX_REVIEW_SHARE + 1e-9 and self.error_capture >= MIN_ERROR_CAPTURE

    def summary(self) -> str:
        verdict = "达标" if self.meets_target else "未达标"
        return (
            f"复核阈值 {self.threshold:.3f}：送复核 {self.review_share:.1%}（上限 {MAX_REVIEW_SHARE:.0%}），"
            f"覆盖错误 {self.error_capture:.1%}（目标 ≥{MIN_ERROR_CAPTURE:.0%}，共 {self.errors} 个错误）{verdict}"
        )


def review_effect(
    confidence: Sequence[float], correct: Sequence[bool], threshold: float
) -> tuple[float, float]:
    """(share of calls flagged, share of errors among the flagged) at ``threshold``."""
    conf = np.asarray(confidence, dtype=float)
    wrong = ~np.asarray(correct, dtype=bool)
    flagged = conf < threshold
    share = float(flagged.mean()) if len(conf) else 0.0
    capture = float((flagged & wrong).sum() / wrong.sum()) if wrong.any() else 1.0
    return share, capture


def choose_threshold(
    confidence: Sequence[float], correct: Sequence[bool], max_share: float = MAX_REVIEW_SHARE
) -> ReviewChoice:
    """The highest threshold that flags at most ``max_share`` of the calls (flagged: confidence < threshold)."""
    conf = np.sort(np.asarray(confidence, dtype=float))
    n = len(conf)
    errors = int((~np.asarray(correct, dtype=bool)).sum())
    if n == 0:
        return ReviewChoice(0.0, 0.0, 1.0, 0, 0)
    allowed = int(np.floor(max_share * n + 1e-9))
    # flag the `allowed` least confident calls: the threshold is the next confidence up (ties stay out)
    threshold = float(conf[allowed]) if allowed < n else float(conf[-1]) + 1e-6
    share, capture = review_effect(confidence, correct, threshold)
    return ReviewChoice(round(threshold, 6), share, capture, n, errors)
