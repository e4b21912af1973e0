"""How well warnings come before 12398 complaints, measured the way a service center feels it.

Per escalated problem: did a slip exist before the complaint reached 12398
(recall), and how long before (lead time)? Per slip: was it spent on a problem
that never escalated? Per 1,000 calls: how many slips (the alert budget a
center can work). A slip is issued by the nightly batch after the night of
the call that triggered it, so lead time counts from that batch, not from the
call. Call-level ranking figures (AUC, average precision, Brier) sit beside them.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, time, timedelta

import numpy as np
import pandas as pd
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score

from pipeline.records import SHANGHAI
from pipeline.risk.config import RiskConfig
from pipeline.risk.levels import level_for

BATCH_HOUR = 2
BUDGETS_PER_1000: tuple[float, ...] = (5, 10, 20, 30, 40, 60, 80, 120)
RED_SHARE = 0.2
ORANGE_SHARE = 0.5


@dataclass
class AlertMetrics:
    """The figures reported for one scorer at one set of thresholds."""

    recall: float
    median_lead_hours: float | None
    slips_per_1000: float
    never_escalated_share: float
    slips: int
    escalated_problems: int
    calls: int

    def as_dict(self, prefix: str = "") -> dict[str, float]:
        return {f"{prefix}{k}": (float("nan") if v is None else float(v)) for k, v in asdict(self).items()}


def batch_time(call_time: datetime) -> datetime:
    """When the nightly batch that sees this call runs: 02:00 the next morning, Shanghai time."""
    local = call_time.astimezone(SHANGHAI)
    return datetime.combine(local.date() + timedelta(days=1), time(BATCH_HOUR), SHANGHAI)


def flagged(scores: np.ndarray, forced: np.ndarray, yellow: float) -> np.ndarray:
    """Calls that would open or join a slip: score over the yellow threshold or a forcing rule."""
    return (np.asarray(scores) >= yellow) | np.asarray(forced, dtype=bool)


def _issued_at(frame: pd.DataFrame) -> pd.Series:
    """When the batch that scores each row runs (``scored_at``, else 02:00 after the call)."""
    if "scored_at" in frame.columns:
        return frame["scored_at"]
    return frame["call_time"].map(batch_time)


def _calls(frame: pd.DataFrame) -> int:
    """Calls in the frame (re-score rows of quiet problems are not calls)."""
    return int((frame["rescore"] == 0).sum()) if "rescore" in frame.columns else len(frame)


def alert_metrics(frame: pd.DataFrame, scores: np.ndarray, yellow: float) -> AlertMetrics:
    """Metrics when every row over ``yellow`` (or forced) triggers a slip on its problem.

    ``frame`` needs ``slip_key`` (the problem production keys slips by: one slip per key),
    ``problem_id`` (the true problem, for escalations), ``call_time`` or ``scored_at``,
    ``escalated_at`` and ``forced``; ``rescore`` rows (quiet problems) are not counted as calls.
    """
    hits = flagged(scores, frame["forced"].to_numpy(), yellow)
    calls = _calls(frame)
    issued = _issued_at(frame)
    slipped = frame.loc[hits]
    slip_keys = slipped["slip_key"].unique()
    first_slip = issued.loc[hits].groupby(slipped["problem_id"]).min()
    escalated = frame.dropna(subset=["escalated_at"]).groupby("problem_id")["escalated_at"].min()
    leads = []
    for problem, escalated_at in escalated.items():
        at = first_slip.get(problem)
        if at is not None and at < escalated_at:
            leads.append((escalated_at - at).total_seconds() / 3600)
    escalated_keys = set(frame.loc[frame["escalated_at"].notna(), "slip_key"])
    never = sum(1 for key in slip_keys if key not in escalated_keys)
    return AlertMetrics(
        recall=len(leads) / len(escalated) if len(escalated) else 0.0,
        median_lead_hours=float(np.median(leads)) if leads else None,
        slips_per_1000=1000 * len(slip_keys) / calls if calls else 0.0,
        never_escalated_share=never / len(slip_keys) if len(slip_keys) else 0.0,
        slips=len(slip_keys),
        escalated_problems=len(escalated),
        calls=calls,
    )


def _slips_per_1000(frame: pd.DataFrame, hits: np.ndarray) -> float:
    return 1000 * frame.loc[hits, "slip_key"].nunique() / max(1, _calls(frame))


def threshold_for_budget(frame: pd.DataFrame, scores: np.ndarray, budget_per_1000: float) -> float:
    """The lowest score threshold whose slips per 1,000 calls stay within the budget (forced slips count too)."""
    scores = np.asarray(scores, dtype=float)
    forced = frame["forced"].to_numpy(dtype=bool)
    candidates = np.unique(np.quantile(scores, np.linspace(0.5, 1.0, 201)))
    for threshold in candidates:
        if _slips_per_1000(frame, flagged(scores, forced, threshold)) <= budget_per_1000:
            return float(threshold)
    return float(min(1.0, scores.max() + 1e-6))


def choose_thresholds(
    frame: pd.DataFrame,
    scores: np.ndarray,
    budget_per_1000: float,
    red_share: float = RED_SHARE,
    orange_share: float = ORANGE_SHARE,
) -> dict[str, float]:
    """Yellow meets the whole budget; orange-or-red takes ``orange_share`` of it, red ``red_share``."""
    nothing_forced = frame.assign(forced=False)
    yellow = threshold_for_budget(frame, scores, budget_per_1000)
    orange = max(yellow, threshold_for_budget(nothing_forced, scores, budget_per_1000 * orange_share))
    red = max(orange, threshold_for_budget(nothing_forced, scores, budget_per_1000 * red_share))
    return {"red": round(red, 6), "orange": round(orange, 6), "yellow": round(yellow, 6)}


def recall_curve(frame: pd.DataFrame, scores: np.ndarray, budgets=BUDGETS_PER_1000) -> pd.DataFrame:
    """Recall and lead time at each alert budget (thresholds chosen on this frame for each budget)."""
    rows = []
    for budget in budgets:
        yellow = threshold_for_budget(frame, scores, budget)
        metrics = alert_metrics(frame, scores, yellow)
        rows.append({"budget_per_1000": budget, "threshold": yellow, **metrics.as_dict()})
    return pd.DataFrame(rows)


def level_table(frame: pd.DataFrame, scores: np.ndarray, config: RiskConfig) -> pd.DataFrame:
    """Per level: calls, and the share of those calls whose problem later escalated (how levels read)."""
    levels = [level_for(float(s), config) for s in scores]
    forced = frame["forced"].to_numpy(dtype=bool)
    levels = ["yellow" if f and lv == "none" else lv for lv, f in zip(levels, forced, strict=True)]
    table = pd.DataFrame({"level": levels, "escalated": frame["escalated_at"].notna().to_numpy()})
    summary = table.groupby("level")["escalated"].agg(calls="size", escalated_share="mean")
    return summary.reindex(["red", "orange", "yellow", "none"]).dropna(how="all")


def summary_lines(name: str, metrics: AlertMetrics) -> list[str]:
    """Chinese lines for the terminal."""
    lead = f"{metrics.median_lead_hours:.1f} 小时" if metrics.median_lead_hours is not None else "无"
    return [
        f"[{name}] 升级问题 {metrics.escalated_problems} 个，升级前已有预警单 {metrics.recall:.1%}，"
        f"中位提前量 {lead}",
        f"[{name}] 每千通来电预警单 {metrics.slips_per_1000:.1f} 张，其中从未升级问题占 "
        f"{metrics.never_escalated_share:.1%}（共 {metrics.slips} 张，{metrics.calls} 通来电）",
    ]


def call_metrics(frame: pd.DataFrame, scores: np.ndarray) -> dict[str, float]:
    """Call-level ranking and calibration figures (empty when the frame has one class only)."""
    y = frame["y"].to_numpy()
    if y.min() == y.max():
        return {}
    return {
        "average_precision": float(average_precision_score(y, scores)),
        "roc_auc": float(roc_auc_score(y, scores)),
        "brier": float(brier_score_loss(y, np.clip(scores, 0, 1))),
    }
