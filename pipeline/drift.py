"""Language drift: does tonight's traffic still look like the data the champion classifier was trained on?

A classifier degrades quietly when customers start talking about something new
(a tariff change, a new app, a storm season) long before anyone relabels calls.
Four measures catch that without labels: the predicted category mix and the
confidence histogram (population stability index, PSI), the share of calls sent
to review and the unknown-word rate against the training vocabulary (absolute
change). The champion carries its own :class:`TrainingProfile`, built from its
validation split at training time, so a night is always compared with the data
of the model that scored it.

Words are cut the way the classifier reads text (``model_input`` then
``tokenize``); masked personal data (``138****5678``, ``[手机号]``) and bare
digits are not words, so a night with many phone numbers read aloud is not
"new language". No Prefect and no MLflow here: ``flows/drift_trigger.py`` asks
for a retrain, ``models/drift_profile.py`` stores the profile with the model.
"""

from __future__ import annotations

import json
import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline import text as ptext
from pipeline.config import section
from pipeline.labels import LABEL_ZH, LABELS
from pipeline.storage import Call
from pipeline.text.mask import PLACEHOLDERS

CONFIDENCE_EDGES: tuple[float, ...] = tuple(round(i / 10, 1) for i in range(11))
EPSILON = 1e-4
MIN_WORD_COUNT = 2
MAX_TEXTS = 5000
DEFAULT_MAX_CHARS = 256
PROFILE_VERSION = 1

_MASKED = re.compile(r"[0-9A-Za-z]*\*+[0-9A-Za-z*]*")
_PLACEHOLDER = re.compile("|".join(re.escape(p) for p in PLACEHOLDERS.values()))
_WORDLIKE = re.compile(r"[\u3400-\u9fffA-Za-z]")

NO_PROFILE = "冠军模型无训练数据画像，跳过漂移检查"

STATUS_ZH = {
    "drifted": "已漂移",
    "ok": "未漂移",
    "too_few_calls": "来电不足，不作判断",
    "no_profile": "无训练数据画像",
    "error": "检查出错",
}


class PredictionLike(Protocol):
    category: str
    confidence: float
    needs_review: bool


@dataclass(frozen=True)
class DriftSettings:
    """The ``[drift]`` table with its defaults: thresholds, the sample size a verdict needs, the retrain."""

    category_psi: float = 0.25
    confidence_psi: float = 0.25
    review_share_delta: float = 0.10
    unknown_word_delta: float = 0.05
    min_calls: int = 200
    cooldown_days: int = 7
    trigger_retrain: bool = True
    retrain_deployment: str = "retrain/weekly"

    @classmethod
    def from_config(cls) -> DriftSettings:
        """Values of ``[drift]`` in complaints.toml (validated by ``pipeline.config``) over the defaults."""
        given = {k: v for k, v in section("drift").items() if v is not None}
        return cls(**given)


def words(transcript: str, max_chars: int = DEFAULT_MAX_CHARS) -> list[str]:
    """The words the classifier reads in a call, without masked personal data or bare numbers."""
    prepared = ptext.model_input(transcript or "", max_chars=max_chars)
    prepared = _PLACEHOLDER.sub("，", _MASKED.sub("，", prepared))
    return [w for w in ptext.tokenize(prepared, clean=False) if _WORDLIKE.search(w)]


def _spread(items: Sequence[str], limit: int = MAX_TEXTS) -> list[str]:
    """At most ``limit`` items spread evenly over the input (deterministic, so reruns agree)."""
    if len(items) <= limit:
        return list(items)
    step = len(items) / limit
    return [items[int(i * step)] for i in range(limit)]


def unknown_word_rate(texts: Sequence[str], vocabulary: set[str] | frozenset[str], max_chars: int) -> float:
    """Share of word occurrences in ``texts`` that the vocabulary lacks (0 when there are no words)."""
    total = unknown = 0
    for text in _spread(texts):
        for word in words(text, max_chars):
            total += 1
            unknown += word not in vocabulary
    return unknown / total if total else 0.0


def confidence_histogram(
    confidences: Iterable[float], edges: Sequence[float] = CONFIDENCE_EDGES
) -> list[float]:
    """Shares of calls per confidence bin; the last bin includes 1.0."""
    counts = [0] * (len(edges) - 1)
    n = 0
    for value in confidences:
        n += 1
        counts[min(max(bisect_right(edges, value) - 1, 0), len(counts) - 1)] += 1
    return [c / n for c in counts] if n else [0.0] * len(counts)


def category_shares(categories: Iterable[str]) -> dict[str, float]:
    """Share of calls per predicted category, every taxonomy label present."""
    counts = Counter(categories)
    n = sum(counts.values())
    keys = [*LABELS, *sorted(k for k in counts if k not in LABELS)]
    return {k: (counts.get(k, 0) / n if n else 0.0) for k in keys}


@dataclass
class TrainingProfile:
    """What the champion's training data looked like, as the four drift measures see it.

    Built on the validation split (predictions of the trained model itself), with
    the vocabulary from the training split: words seen at least twice.
    """

    n_calls: int
    categories: dict[str, float]
    confidence_edges: list[float]
    confidence_hist: list[float]
    review_share: float
    unknown_word_rate: float
    vocabulary: list[str]
    max_chars: int = DEFAULT_MAX_CHARS
    version: int = PROFILE_VERSION

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False)

    @classmethod
    def from_json(cls, text: str) -> TrainingProfile:
        return cls(**json.loads(text))


def vocabulary_of(train_texts: Sequence[str], max_chars: int, min_count: int = MIN_WORD_COUNT) -> list[str]:
    """Words seen at least ``min_count`` times in the (evenly sampled) training texts, sorted."""
    counts: Counter[str] = Counter()
    for text in _spread(train_texts, 4 * MAX_TEXTS):
        counts.update(words(text, max_chars))
    return sorted(w for w, c in counts.items() if c >= min_count)


def profile_of(
    texts: Sequence[str],
    predictions: Sequence[PredictionLike],
    train_texts: Sequence[str],
    max_chars: int = DEFAULT_MAX_CHARS,
) -> TrainingProfile:
    """The profile of held-out ``texts`` as the model predicted them, with a vocabulary of ``train_texts``."""
    if len(texts) != len(predictions):
        raise ValueError("texts and predictions differ in length")
    vocabulary = vocabulary_of(train_texts, max_chars)
    n = len(predictions)
    return TrainingProfile(
        n_calls=n,
        categories=category_shares(p.category for p in predictions),
        confidence_edges=list(CONFIDENCE_EDGES),
        confidence_hist=confidence_histogram((p.confidence for p in predictions), CONFIDENCE_EDGES),
        review_share=sum(bool(p.needs_review) for p in predictions) / n if n else 0.0,
        unknown_word_rate=unknown_word_rate(texts, frozenset(vocabulary), max_chars),
        vocabulary=vocabulary,
        max_chars=max_chars,
    )


@dataclass
class NightStats:
    """The same four measures for one night's stored calls."""

    n_calls: int
    categories: dict[str, float]
    confidence_hist: list[float]
    review_share: float
    unknown_word_rate: float


def night_stats(
    categories: Sequence[str],
    confidences: Sequence[float],
    needs_review: Sequence[bool],
    transcripts: Sequence[str],
    profile: TrainingProfile,
) -> NightStats:
    """Measures of a night, binned and tokenized exactly as ``profile`` was."""
    n = len(categories)
    return NightStats(
        n_calls=n,
        categories=category_shares(categories),
        confidence_hist=confidence_histogram(confidences, profile.confidence_edges),
        review_share=sum(bool(r) for r in needs_review) / n if n else 0.0,
        unknown_word_rate=unknown_word_rate(transcripts, frozenset(profile.vocabulary), profile.max_chars),
    )


def stored_night_stats(session: Session, night: str, profile: TrainingProfile) -> NightStats:
    """:func:`night_stats` of every call stored for ``night`` (masked transcripts, as stored)."""
    rows = session.execute(
        select(Call.category, Call.confidence, Call.needs_review, Call.transcript).where(
            Call.night == date.fromisoformat(night)
        )
    ).all()
    return night_stats(
        [r[0] for r in rows],
        [float(r[1]) for r in rows],
        [bool(r[2]) for r in rows],
        [r[3] for r in rows],
        profile,
    )


def psi(expected: Sequence[float], actual: Sequence[float], epsilon: float = EPSILON) -> float:
    """Population stability index of two share vectors; empty bins count as ``epsilon``."""
    total = 0.0
    for e, a in zip(expected, actual, strict=True):
        e, a = max(e, epsilon), max(a, epsilon)
        total += (a - e) * math.log(a / e)
    return total


@dataclass
class Measure:
    """One row of the drift table: tonight's value, the training baseline (None for PSI), the threshold."""

    key: str
    label: str
    value: float
    baseline: float | None
    threshold: float
    drifted: bool
    detail: str


@dataclass
class DriftCheck:
    """The comparison of one night with the champion's profile; ``status`` is drifted, ok or too_few_calls."""

    n_calls: int
    n_profile: int
    min_calls: int
    measures: list[Measure]

    @property
    def enough_calls(self) -> bool:
        return self.n_calls >= self.min_calls

    @property
    def drifted(self) -> bool:
        return self.enough_calls and any(m.drifted for m in self.measures)

    @property
    def status(self) -> str:
        if not self.enough_calls:
            return "too_few_calls"
        return "drifted" if self.drifted else "ok"

    def summary(self) -> str:
        """One Chinese line saying what the check concluded."""
        if not self.enough_calls:
            return f"今晚仅 {self.n_calls} 条来电，少于 min_calls {self.min_calls}，不作漂移判断"
        drifted = [m.label for m in self.measures if m.drifted]
        if drifted:
            return f"今晚来电与冠军模型训练数据相比已漂移：{'、'.join(drifted)}超过阈值"
        return "今晚来电与冠军模型训练数据相比未超过漂移阈值"

    def markdown_table(self) -> str:
        """指标 / 今晚 / 训练数据 / 阈值 / 结论, one row per measure."""
        lines = ["| 指标 | 今晚 | 训练数据 | 阈值 | 结论 |", "|---|---|---|---|---|"]
        for m in self.measures:
            if m.baseline is None:
                tonight, baseline, threshold = f"PSI {m.value:.3f}", "基准分布", f"{m.threshold:.2f}"
            else:
                tonight, baseline = f"{m.value:.1%}", f"{m.baseline:.1%}"
                threshold = f"±{m.threshold * 100:.1f} 个百分点"
            verdict = "—（来电不足）" if not self.enough_calls else ("漂移" if m.drifted else "正常")
            lines.append(f"| {m.label} | {tonight} | {baseline} | {threshold} | {verdict} |")
        return "\n".join(lines)


def _largest_shift(profile: TrainingProfile, stats: NightStats) -> str:
    keys = list(dict.fromkeys([*profile.categories, *stats.categories]))
    if not keys:
        return ""
    key = max(keys, key=lambda k: abs(stats.categories.get(k, 0.0) - profile.categories.get(k, 0.0)))
    before, after = profile.categories.get(key, 0.0), stats.categories.get(key, 0.0)
    return f"变化最大的是{LABEL_ZH.get(key, key)}，训练 {before:.0%} → 今晚 {after:.0%}"


def compare(profile: TrainingProfile, stats: NightStats, settings: DriftSettings | None = None) -> DriftCheck:
    """Each measure against its threshold; a measure drifts when it exceeds the threshold (strictly)."""
    settings = settings or DriftSettings.from_config()
    keys = list(dict.fromkeys([*profile.categories, *stats.categories]))
    category = psi(
        [profile.categories.get(k, 0.0) for k in keys], [stats.categories.get(k, 0.0) for k in keys]
    )
    confidence = psi(profile.confidence_hist, stats.confidence_hist)
    review = stats.review_share - profile.review_share
    unknown = stats.unknown_word_rate - profile.unknown_word_rate
    measures = [
        Measure(
            "category_psi",
            "类别分布",
            category,
            None,
            settings.category_psi,
            category > settings.category_psi,
            _largest_shift(profile, stats),
        ),
        Measure(
            "confidence_psi",
            "置信度分布",
            confidence,
            None,
            settings.confidence_psi,
            confidence > settings.confidence_psi,
            "",
        ),
        Measure(
            "review_share_delta",
            "人工复核占比",
            stats.review_share,
            profile.review_share,
            settings.review_share_delta,
            abs(review) > settings.review_share_delta,
            f"差 {review * 100:+.1f} 个百分点",
        ),
        Measure(
            "unknown_word_delta",
            "未登录词率",
            stats.unknown_word_rate,
            profile.unknown_word_rate,
            settings.unknown_word_delta,
            abs(unknown) > settings.unknown_word_delta,
            f"差 {unknown * 100:+.1f} 个百分点",
        ),
    ]
    return DriftCheck(stats.n_calls, profile.n_calls, settings.min_calls, measures)


@dataclass
class DriftOutcome:
    """What the nightly report shows: the check (None without a profile), its status and what was done."""

    status: str
    check: DriftCheck | None = None
    notes: list[str] = field(default_factory=list)
    retrain_triggered: bool = False
    retrain_run: str | None = None

    @classmethod
    def no_profile(cls) -> DriftOutcome:
        return cls("no_profile", None, [NO_PROFILE])

    def markdown(self) -> str:
        """The report's 语言漂移检查 section body (without its heading)."""
        parts: list[str] = []
        if self.check is not None:
            parts += [
                f"今晚 {self.check.n_calls} 条来电与冠军模型训练数据（验证集 {self.check.n_profile} 条）比较。",
                "",
                self.check.markdown_table(),
                "",
                f"- {self.check.summary()}",
            ]
            parts += [f"- {m.label}：{m.detail}" for m in self.check.measures if m.drifted and m.detail]
        parts += [f"- {note}" for note in self.notes]
        return "\n".join(parts)

    def line(self) -> str:
        """One Chinese line for the command line: the verdict and what was done about it."""
        parts = [self.check.summary()] if self.check is not None else []
        return "语言漂移检查: " + "；".join(
            [*parts, *self.notes] or [STATUS_ZH.get(self.status, self.status)]
        )

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)
