"""Risk settings from the ``[risk]`` table of complaints.toml, with defaults that work out of the box.

``repeat_window_days`` and ``reopen_days`` default to the product's one
``horizon_days`` (pipeline/config.py). Thresholds and counts are service policy, not code: each supply company sets its
own alert budget and deadlines, so every number here can be overridden, e.g.::

    [risk]
    repeat_calls = 3
    alert_budget_per_1000 = 80   # model-raised slips per 1,000 calls, per unit and night
    thresholds = { red = 0.6, orange = 0.35, yellow = 0.15 }
    due_hours = { red = 24, orange = 48, yellow = 72 }
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pipeline.config import horizon_days, section

DEFAULT_THRESHOLDS = {"red": 0.6, "orange": 0.35, "yellow": 0.15}
DEFAULT_DUE_HOURS = {"red": 24, "orange": 48, "yellow": 72}


@dataclass(frozen=True)
class RiskConfig:
    """Every tunable number of risk scoring and slips."""

    repeat_calls: int = 3
    repeat_window_days: int = 30
    thresholds: dict[str, float] = field(default_factory=lambda: dict(DEFAULT_THRESHOLDS))
    due_hours: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_DUE_HOURS))
    alert_budget_per_1000: float = 80.0
    wide_incident_hours: int = 6
    wide_incident_customers: int = 3
    reopen_days: int = 30
    max_reasons: int = 5
    overdue_orange_factor: float = 1.0
    rescore_days: int = 7
    """A problem with no call for this many days (and no open slip) is no longer re-scored nightly."""
    hazard_days: int = 7
    """The risk model's horizon: the chance the problem reaches 12398 within this many days."""
    unit_budget_floor: int = 1
    """Slips the model may raise per unit per night even where the unit's calls give a smaller budget."""

    def with_thresholds(self, thresholds: dict[str, float]) -> RiskConfig:
        """A copy with new level thresholds (used when thresholds are chosen on validation data)."""
        values = {**self.__dict__, "thresholds": dict(thresholds)}
        return RiskConfig(**values)


def load_risk_config(overrides: dict[str, Any] | None = None) -> RiskConfig:
    """The configured risk settings; ``overrides`` (tests, training) win over the file."""
    horizon = horizon_days()
    values: dict[str, Any] = {
        "repeat_window_days": horizon,
        "reopen_days": horizon,
        **section("risk"),
        **(overrides or {}),
    }
    known = {name for name in RiskConfig.__dataclass_fields__}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"[risk] 配置中有未知项: {', '.join(sorted(unknown))}")
    if "thresholds" in values:
        values["thresholds"] = {**DEFAULT_THRESHOLDS, **values["thresholds"]}
    if "due_hours" in values:
        values["due_hours"] = {**DEFAULT_DUE_HOURS, **values["due_hours"]}
    config = RiskConfig(**values)
    t = config.thresholds
    if not 0 < t["yellow"] <= t["orange"] <= t["red"] <= 1:
        raise ValueError("[risk] thresholds 须满足 0 < yellow <= orange <= red <= 1")
    return config


def risk_config_for(model: object, overrides: dict[str, Any] | None = None) -> RiskConfig:
    """Settings for scoring with ``model``: thresholds from complaints.toml when set there,
    else the ones chosen for the model on validation data, else the defaults."""
    config = load_risk_config(overrides)
    chosen = getattr(model, "thresholds", None)
    explicit = "thresholds" in section("risk") or "thresholds" in (overrides or {})
    if chosen and not explicit:
        return config.with_thresholds({**config.thresholds, **chosen})
    return config
