"""Rules that force at least a yellow slip whatever the model says.

Service practice treats these as warnings on their own: a customer who says
they will go to 12398, an unsatisfied callback on an earlier slip, and the
same problem called about N times within the window (N configurable).
"""

from __future__ import annotations

from collections.abc import Mapping

from pipeline.risk.config import RiskConfig

FORCING_RULES: tuple[str, ...] = ("threat_regulator", "unsatisfied_callback", "repeat")


def forcing_rules(features: Mapping[str, float], config: RiskConfig) -> list[str]:
    """Codes of the forcing rules that fire for these features (empty when none)."""
    fired = []
    if features["threat_regulator"] >= 1:
        fired.append("threat_regulator")
    if features["unsatisfied_callback"] >= 1:
        fired.append("unsatisfied_callback")
    if features["problem_calls_30d"] + 1 >= config.repeat_calls:
        fired.append("repeat")
    return fired
