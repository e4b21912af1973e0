"""Reasons behind a warning: short, concrete Chinese sentences a service center can act on.

A reason carries a code (stable, for counting and merging), a text (what the
reader sees) and a weight (how much it pushed the score; the list is shown
heaviest first).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass
from typing import Any

from pipeline.labels import LABEL_ZH, RISK_LEVEL_ZH
from pipeline.risk.config import RiskConfig


@dataclass(frozen=True)
class Reason:
    """One reason for a warning."""

    code: str
    text: str
    weight: float

    def as_dict(self) -> dict[str, Any]:
        return asdict(self) | {"weight": round(self.weight, 4)}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Reason:
        return cls(code=str(data["code"]), text=str(data["text"]), weight=float(data.get("weight", 0.0)))


def ranked(reasons: Iterable[Reason], limit: int | None = None) -> list[Reason]:
    """Reasons heaviest first, one per code (the heaviest wins)."""
    best: dict[str, Reason] = {}
    for reason in reasons:
        current = best.get(reason.code)
        if current is None or reason.weight > current.weight:
            best[reason.code] = reason
    ordered = sorted(best.values(), key=lambda r: (-r.weight, r.code))
    return ordered[:limit] if limit else ordered


def merge_reason_dicts(
    old: Iterable[dict[str, Any]], new: Iterable[dict[str, Any]], limit: int
) -> list[dict]:
    """Merge stored reasons with a new call's: for the same code the newer text wins, weight is the max."""
    merged: dict[str, Reason] = {}
    for data in old:
        reason = Reason.from_dict(data)
        merged[reason.code] = reason
    for data in new:
        reason = Reason.from_dict(data)
        previous = merged.get(reason.code)
        weight = max(reason.weight, previous.weight) if previous else reason.weight
        merged[reason.code] = Reason(reason.code, reason.text, weight)
    return [r.as_dict() for r in ranked(merged.values(), limit)]


WIDE_PROBLEM_ZH: dict[str, str] = {
    "outage": "停电",
    "voltage": "电压异常",
    "meter_billing": "电费问题",
    "connection": "用电办理问题",
    "other": "同类问题",
}


def build_reasons(
    features: Mapping[str, float],
    matches: Mapping[str, list[str]],
    *,
    category: str,
    area: str | None,
    commitment_quote: str | None,
    config: RiskConfig,
) -> list[Reason]:
    """Concrete reasons for a call, heaviest first (at most ``config.max_reasons``)."""
    out: list[Reason] = []
    window = config.repeat_window_days
    nth = int(features["problem_calls_30d"]) + 1
    if features["threat_regulator"]:
        out.append(Reason("threat_regulator", "客户表示将向12398投诉", 0.95))
    if features["unsatisfied_callback"]:
        out.append(Reason("unsatisfied_callback", "此前预警单回访客户不满意", 0.9))
    if features["callback_complaint"] and not features["unsatisfied_callback"]:
        out.append(Reason("unsatisfied_callback", "客户称此前回访不满意、问题未解决", 0.8))
    if nth >= 2:
        days = features["problem_days_since_first"]
        text = f"同一问题{window}天内第{nth}次来电" + (f"（首次来电已过{days:.0f}天）" if days >= 1 else "")
        out.append(Reason("repeat", text, min(1.0, 0.3 + 0.15 * (nth - 1))))
    if features.get("prior_threat_regulator") and not features["threat_regulator"]:
        out.append(Reason("threat_regulator", "客户此前来电曾表示将向12398投诉", 0.85))
    if features.get("prior_callback_complaint") and not (
        features["callback_complaint"] or features["unsatisfied_callback"]
    ):
        out.append(Reason("unsatisfied_callback", "客户此前来电称回访不满意、问题未解决", 0.7))
    if features.get("prior_threat_other") and not features["threat_other"]:
        out.append(Reason("threat_other", "客户此前来电表示将向其他渠道反映", 0.6))
    if features.get("prior_missed_commitment") and not features["missed_commitment"]:
        out.append(Reason("missed_commitment", "客户此前来电反映承诺未兑现", 0.5))
    if features["threat_other"]:
        targets = "/".join(matches.get("threat_other", [])) or "其他渠道"
        out.append(Reason("threat_other", f"客户表示将向{targets}反映", 0.7))
    if features["called_after_closure"]:
        out.append(Reason("reopened", "预警单销号后客户再次来电", 0.65))
    if features["missed_commitment"]:
        quote = f"：“{commitment_quote}”" if commitment_quote else ""
        out.append(Reason("missed_commitment", f"客户反映此前承诺未兑现{quote}", 0.6))
    neighbours = int(features["area_customers_window"])
    if area and neighbours + 1 >= config.wide_incident_customers:
        problem = WIDE_PROBLEM_ZH.get(category, "同类问题")
        weight = min(0.9, 0.4 + 0.05 * neighbours)
        out.append(Reason("wide_incident", f"{area}当晚{neighbours + 1}户来电反映{problem}", weight))
    elif features["wide_text"]:
        said = "/".join(matches.get("wide_text", [])) or "大范围"
        out.append(Reason("wide_incident", f"客户称影响范围大（{said}）", 0.45))
    if features["vulnerable"]:
        who = "、".join(matches.get("vulnerable", []))
        out.append(Reason("vulnerable", f"涉及{who}等特殊群体", 0.5))
    if features["loss"]:
        what = "、".join(matches.get("loss", []))
        out.append(Reason("loss", f"客户反映存在财产损失风险（{what}）", 0.5))
    if features["prior_slip_open"]:
        out.append(Reason("prior_slip_open", "该问题已有未办结的预警单", 0.4))
    if features["earlier_mention"] and nth < 2:
        out.append(Reason("earlier_mention", "客户提到此前已反映过该问题", 0.35))
    if features.get("said_missed") and not features["missed_commitment"]:
        out.append(Reason("missed_commitment", "客户反映此前的承诺或处理没有落实", 0.55))
    if features.get("said_repeat") and not features["earlier_mention"] and nth < 2:
        out.append(Reason("earlier_mention", "客户表示此前已反映过该问题", 0.35))
    if features["anger"]:
        out.append(Reason("anger", "客户情绪激动", 0.3))
    elif features.get("said_angry"):
        out.append(Reason("anger", "客户言语中不满情绪明显", 0.3))
    elif features.get("prior_anger") or features.get("prior_said_angry"):
        out.append(Reason("anger", "客户此前来电情绪激动", 0.25))
    if features.get("rescore") and features.get("days_since_last_contact", 0) >= 1:
        days = features["days_since_last_contact"]
        out.append(Reason("no_contact", f"今晚无新来电，距客户上次来电{days:.0f}天，问题未见办结", 0.2))
    if features["customer_calls_30d"] >= 3 and nth < 3:
        out.append(
            Reason("frequent_caller", f"客户30天内已来电{int(features['customer_calls_30d'])}次", 0.25)
        )
    if features["urgency"]:
        out.append(Reason("urgency", "客户诉求紧急", 0.2))
    return ranked(out, config.max_reasons)


MODEL_REASON_WEIGHT = 0.1


def model_reason(
    features: Mapping[str, float], probability: float, level: str, *, category: str, config: RiskConfig
) -> Reason:
    """Why the model alone lifted a call to ``level``: its score against the threshold and the facts
    it weighs most that no keyword reason names (earlier calls, the matter, a long call, neighbours)."""
    facts: list[str] = []
    calls = int(features.get("customer_calls_30d", 0))
    if calls:
        facts.append(f"客户30天内已来电{calls}次")
    facts.append(f"{LABEL_ZH.get(category, '其他')}类诉求")
    neighbours = int(features.get("area_customers_window", 0))
    if neighbours:
        facts.append(f"同一地区当晚另有{neighbours}户来电")
    duration = features.get("duration_s", -1.0)
    if duration >= 300:
        facts.append(f"通话{int(duration // 60)}分钟")
    if features.get("free_text"):
        facts.append("书面渠道提交")
    threshold = config.thresholds.get(level, 0.0)
    head = f"模型评估升级风险{probability:.0%}（{RISK_LEVEL_ZH.get(level, level)}阈值{threshold:.0%}）"
    return Reason("model_score", head + "：" + "、".join(facts[:4]), MODEL_REASON_WEIGHT)
