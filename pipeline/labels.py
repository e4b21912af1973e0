"""The label taxonomy of ../shared/taxonomy.md, in one place so every module agrees on it."""

from __future__ import annotations

LABELS: tuple[str, ...] = ("meter_billing", "outage", "voltage", "connection", "other")

LABEL_ZH: dict[str, str] = {
    "meter_billing": "抄表收费",
    "outage": "停电故障",
    "voltage": "电压质量",
    "connection": "用电办理",
    "other": "其他",
}

RISK_LEVELS: tuple[str, ...] = ("red", "orange", "yellow", "none")

RISK_LEVEL_ZH: dict[str, str] = {"red": "红色", "orange": "橙色", "yellow": "黄色", "none": "无"}


def is_label(value: str) -> bool:
    """True when value is one of the five taxonomy labels."""
    return value in LABELS
