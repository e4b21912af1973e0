"""From features and a calibrated probability to a level and reasons: the model proposes, rules insist.

The call's score stays the model's calibrated probability, so it can be read
as "chance of a 12398 complaint within 30 days"; forcing rules lift only the
level (to at least yellow), never the probability itself. A level always comes
with at least one reason: when no rule or keyword fired, the model's own score
and the facts it weighed are named (no slip without a reason).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from pipeline.features import TextSignals
from pipeline.risk.config import RiskConfig
from pipeline.risk.levels import higher, level_for
from pipeline.risk.reasons import Reason, build_reasons, model_reason
from pipeline.risk.rules import forcing_rules


@dataclass
class Assessment:
    """The risk verdict on one call."""

    score: float
    level: str
    reasons: list[Reason]
    forced_by: list[str] = field(default_factory=list)

    def reason_dicts(self) -> list[dict]:
        return [r.as_dict() for r in self.reasons]


def assess(
    features: Mapping[str, float],
    signals: TextSignals,
    probability: float,
    *,
    category: str,
    area: str | None,
    config: RiskConfig,
) -> Assessment:
    """Level from the probability thresholds, lifted to yellow when a forcing rule fires."""
    level = level_for(probability, config)
    forced = forcing_rules(features, config)
    if forced or features["called_after_closure"]:
        level = higher(level, "yellow")
    reasons = build_reasons(
        features,
        signals.matches,
        category=category,
        area=area,
        commitment_quote=signals.commitment_quote,
        config=config,
    )
    if level != "none" and not reasons:
        reasons = [model_reason(features, probability, level, category=category, config=config)]
    return Assessment(score=float(probability), level=level, reasons=reasons, forced_by=forced)
