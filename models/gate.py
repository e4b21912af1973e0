"""The promotion gate: a challenger replaces the champion only when dev says it is not worse.

Dev sets are a few hundred items, so one macro-F1 figure moves by several points
between resamples. The comparison is therefore paired (both models on the same
resampled items) and bootstrapped: the challenger passes when the lower end of the
90% interval of its macro-F1 minus the champion's stays above ``-margin``. Every
class must also reach a floor on dev and the confidences must be calibrated, or a
model that is good on average and blind to one class would reach the nightly run.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import numpy as np
from sklearn.metrics import f1_score

from pipeline.labels import LABEL_ZH, LABELS

N_BOOT = 1000
LEVEL = 0.90


@dataclass(frozen=True)
class GateConfig:
    """Thresholds of the gate; read from ``[classifier]`` (see models.settings)."""

    margin: float = 0.02
    min_class_f1: float = 0.75
    max_ece: float = 0.08
    n_boot: int = N_BOOT
    seed: int = 7


@dataclass
class Interval:
    """A point estimate with its bootstrap interval."""

    value: float
    low: float
    high: float

    def __str__(self) -> str:
        return f"{self.value:.3f} [{self.low:.3f}, {self.high:.3f}]"


@dataclass
class GateDecision:
    """Whether the challenger may become champion, and why (Chinese, for the run log and the CLI)."""

    promoted: bool
    candidate: Interval
    champion: Interval | None
    difference: Interval | None
    failures: list[str] = field(default_factory=list)
    reason: str = ""
    recent_difference: Interval | None = None


@dataclass(frozen=True)
class RecentLabels:
    """The site's newest labels, held out by time, with both models' categories on them."""

    truth: Sequence[str]
    candidate: Sequence[str]
    champion: Sequence[str] | None


def _codes(values: Sequence[str], labels: Sequence[str]) -> np.ndarray:
    index = {label: i for i, label in enumerate(labels)}
    return np.asarray([index.get(v, -1) for v in values], dtype=int)


def _macro_f1_from_codes(t: np.ndarray, p: np.ndarray, k: int) -> float:
    """Macro-F1 over the classes present in ``t`` (the same convention as models.evaluation)."""
    present = np.unique(t[t >= 0])
    if len(present) == 0:
        return 0.0
    scores = []
    for c in present:
        tp = np.sum((t == c) & (p == c))
        fp = np.sum((t != c) & (p == c))
        fn = np.sum((t == c) & (p != c))
        denom = 2 * tp + fp + fn
        scores.append(0.0 if denom == 0 else 2 * tp / denom)
    return float(np.mean(scores))


def _draws(n: int, n_boot: int, seed: int) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, n, size=(n_boot, n))


def _interval(point: float, samples: np.ndarray, level: float = LEVEL) -> Interval:
    tail = (1 - level) / 2 * 100
    low, high = np.percentile(samples, [tail, 100 - tail])
    return Interval(point, float(low), float(high))


def macro_f1_interval(
    truth: Sequence[str],
    predicted: Sequence[str],
    labels: Sequence[str] = LABELS,
    n_boot: int = N_BOOT,
    seed: int = 7,
) -> Interval:
    """Macro-F1 with a 90% bootstrap interval (items resampled with replacement)."""
    t, p = _codes(truth, labels), _codes(predicted, labels)
    if len(t) == 0:
        return Interval(0.0, 0.0, 0.0)
    draws = _draws(len(t), n_boot, seed)
    samples = np.array([_macro_f1_from_codes(t[d], p[d], len(labels)) for d in draws])
    return _interval(_macro_f1_from_codes(t, p, len(labels)), samples)


def paired_difference(
    truth: Sequence[str],
    candidate: Sequence[str],
    champion: Sequence[str],
    labels: Sequence[str] = LABELS,
    n_boot: int = N_BOOT,
    seed: int = 7,
) -> tuple[Interval, Interval, Interval]:
    """Candidate macro-F1, champion macro-F1 and their difference, all on the same resampled items."""
    t, a, b = _codes(truth, labels), _codes(candidate, labels), _codes(champion, labels)
    k = len(labels)
    draws = _draws(len(t), n_boot, seed)
    fa = np.array([_macro_f1_from_codes(t[d], a[d], k) for d in draws])
    fb = np.array([_macro_f1_from_codes(t[d], b[d], k) for d in draws])
    point_a, point_b = _macro_f1_from_codes(t, a, k), _macro_f1_from_codes(t, b, k)
    return _interval(point_a, fa), _interval(point_b, fb), _interval(point_a - point_b, fa - fb)


def class_f1(
    truth: Sequence[str], predicted: Sequence[str], labels: Sequence[str] = LABELS
) -> dict[str, float]:
    """F1 of every label present in ``truth``."""
    present = [label for label in labels if label in set(truth)]
    scores = f1_score(list(truth), list(predicted), labels=present, average=None, zero_division=0)
    return {label: float(s) for label, s in zip(present, scores, strict=True)}


def decide(
    truth: Sequence[str],
    candidate: Sequence[str],
    candidate_ece: float,
    champion: Sequence[str] | None,
    config: GateConfig = GateConfig(),
    recent: RecentLabels | None = None,
) -> GateDecision:
    """Apply the gate on dev: absolute floors for the candidate, then the paired comparison.

    Without a champion there is nothing to compare with and nothing to fall back
    on, so the candidate is promoted; the floors it misses are still reported.
    With ``recent`` (the site's newest labels), the challenger must not be worse
    there either, by the same paired test: dev is written by people, but the
    recent labels are what the site says now.
    """
    failures: list[str] = []
    for label, f1 in class_f1(truth, candidate).items():
        if f1 < config.min_class_f1:
            failures.append(f"{LABEL_ZH.get(label, label)} F1 {f1:.3f} 低于 {config.min_class_f1:.2f}")
    if candidate_ece > config.max_ece:
        failures.append(f"校准误差 ECE {candidate_ece:.3f} 高于 {config.max_ece:.2f}")
    if champion is None:
        cand = macro_f1_interval(truth, candidate, n_boot=config.n_boot, seed=config.seed)
        note = "；未达标项：" + "，".join(failures) if failures else ""
        return GateDecision(True, cand, None, None, failures, f"尚无冠军模型，首个模型直接成为冠军{note}")
    cand, champ, diff = paired_difference(truth, candidate, champion, n_boot=config.n_boot, seed=config.seed)
    if diff.low < -config.margin:
        failures.append(
            f"开发集宏F1差值 {diff.value:+.3f}（90%区间 {diff.low:+.3f}～{diff.high:+.3f}）下限低于 -{config.margin:.3f}"
        )
    recent_note, recent_diff = "", None
    if recent is not None and recent.champion is not None and len(recent.truth):
        r_cand, r_champ, recent_diff = paired_difference(
            recent.truth, recent.candidate, recent.champion, n_boot=config.n_boot, seed=config.seed
        )
        recent_note = f"；现场最近 {len(recent.truth)} 条标注宏F1 候选 {r_cand} 对 冠军 {r_champ}"
        if recent_diff.low < -config.margin:
            failures.append(
                f"现场最近标注宏F1差值 {recent_diff.value:+.3f}（90%区间 {recent_diff.low:+.3f}～"
                f"{recent_diff.high:+.3f}）下限低于 -{config.margin:.3f}"
            )
    promoted = not failures
    verdict = "晋升为冠军" if promoted else "保留为挑战者：" + "；".join(failures)
    reason = f"开发集宏F1 候选 {cand} 对 冠军 {champ}{recent_note}，{verdict}"
    return GateDecision(promoted, cand, champ, diff, failures, reason, recent_diff)


def scalar_decision(candidate: float, champion: float | None, margin: float = 0.0) -> GateDecision:
    """The gate for a single score without items to resample (the risk model's recall at budget)."""
    cand = Interval(candidate, candidate, candidate)
    if champion is None:
        return GateDecision(True, cand, None, None, [], "尚无冠军模型，首个模型直接成为冠军")
    champ = Interval(champion, champion, champion)
    diff = Interval(candidate - champion, candidate - champion, candidate - champion)
    if candidate >= champion - margin:
        reason = f"候选得分 {candidate:.4f} 不低于冠军 {champion:.4f} - 容差 {margin:.4f}，晋升为冠军"
        return GateDecision(True, cand, champ, diff, [], reason)
    reason = f"候选得分 {candidate:.4f} 低于冠军 {champion:.4f} - 容差 {margin:.4f}，保留为挑战者"
    return GateDecision(False, cand, champ, diff, [reason], reason)
