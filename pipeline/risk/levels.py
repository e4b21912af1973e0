"""Warning levels: from a calibrated probability, and the order used to raise them."""

from __future__ import annotations

from pipeline.ledger import LEVELS, Level
from pipeline.risk.config import RiskConfig

LEVEL_RANK: dict[str, int] = {"none": 0} | {level.value: level.rank for level in reversed(LEVELS)}


def level_for(probability: float, config: RiskConfig) -> str:
    """The level a probability earns under the configured thresholds."""
    for level in LEVELS:
        if probability >= config.thresholds[level.value]:
            return level.value
    return "none"


def higher(a: str, b: str) -> str:
    """The more severe of two levels."""
    return a if LEVEL_RANK[a] >= LEVEL_RANK[b] else b


def raise_level(level: str) -> str:
    """One step up (yellow -> orange -> red); red stays red, none becomes yellow."""
    rank = min(LEVEL_RANK[level] + 1, Level.RED.rank)
    return next(name for name, value in LEVEL_RANK.items() if value == rank)


def floor_score(level: str, score: float, config: RiskConfig) -> float:
    """A score at least as high as the threshold of ``level``, so score and level never disagree."""
    if level == "none":
        return score
    return max(score, config.thresholds[level])
