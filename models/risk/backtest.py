"""Backtests a manager would believe: the risk model beside the practice rules and the keyword list.

Three systems read the same replayed rows (:mod:`models.risk.replay`, the production feature
path, calls grouped by an imperfect classifier and quiet problems re-scored nightly):

- ``model``: the calibrated hazard, a slip where the score passes the threshold or a forcing rule fires;
- ``keyword``: the keyword baseline's score (:class:`pipeline.risk.baseline.KeywordBaseline`);
- ``practice``: the service center's rules alone, a 12398 threat or a second call on the problem.

Per problem: caught (a slip before the complaint reached 12398, of the escalations a nightly
run could catch), lead time, and for problems that never escalate whether a slip was spent on
them. Intervals are percentile bootstraps over problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from models.risk.metrics import threshold_for_budget
from pipeline.risk.baseline import KeywordBaseline

SYSTEMS: tuple[str, ...] = ("model", "keyword", "practice")
SYSTEM_ZH: dict[str, str] = {"model": "风险模型", "keyword": "关键词基线", "practice": "实践规则"}


def practice_flags(frame: pd.DataFrame) -> np.ndarray:
    """The practice rules: the customer names 12398 (or the regulator), or calls again on the problem."""
    calls = frame["rescore"].to_numpy() == 0
    return calls & ((frame["threat_regulator"].to_numpy() > 0) | (frame["problem_calls_30d"].to_numpy() >= 1))


def problem_outcomes(frame: pd.DataFrame, hits: np.ndarray) -> pd.DataFrame:
    """One row per true problem: escalated, caught before escalation, lead hours, slipped."""
    issued = frame["scored_at"].where(hits)
    table = pd.DataFrame(
        {
            "problem_id": frame["problem_id"].to_numpy(),
            "issued": issued,
            "escalated_at": frame["escalated_at"],
        }
    )
    grouped = table.groupby("problem_id").agg(
        first_slip=("issued", "min"), escalated_at=("escalated_at", "min")
    )
    grouped["escalated"] = grouped["escalated_at"].notna()
    grouped["slipped"] = grouped["first_slip"].notna()
    caught = grouped["slipped"] & grouped["escalated"] & (grouped["first_slip"] < grouped["escalated_at"])
    grouped["caught"] = caught
    lead = (grouped["escalated_at"] - grouped["first_slip"]).dt.total_seconds() / 3600
    grouped["lead_hours"] = lead.where(caught)
    return grouped.reset_index()


@dataclass
class Figures:
    """The backtest figures of one system (point values; intervals beside them)."""

    recall: float
    median_lead_days: float | None
    false_alarm_share: float
    never_escalated_slip_share: float
    slips_per_1000: float
    false_alarms: int
    escalated: int


def figures(outcomes: pd.DataFrame, calls: int) -> Figures:
    esc = outcomes[outcomes["escalated"]]
    calm = outcomes[~outcomes["escalated"]]
    slips = int(outcomes["slipped"].sum())
    false_alarms = int(calm["slipped"].sum())
    leads = esc["lead_hours"].dropna()
    return Figures(
        recall=float(esc["caught"].mean()) if len(esc) else 0.0,
        median_lead_days=float(leads.median() / 24) if len(leads) else None,
        false_alarm_share=float(calm["slipped"].mean()) if len(calm) else 0.0,
        never_escalated_slip_share=false_alarms / slips if slips else 0.0,
        slips_per_1000=1000 * slips / calls if calls else 0.0,
        false_alarms=false_alarms,
        escalated=len(esc),
    )


def bootstrap(
    outcomes: pd.DataFrame, calls: int, reps: int = 500, seed: int = 0
) -> dict[str, tuple[float, float]]:
    """90% percentile intervals of each figure, resampling problems with replacement."""
    rng = np.random.default_rng(seed)
    values: dict[str, list[float]] = {}
    n = len(outcomes)
    for _ in range(reps):
        sample = outcomes.iloc[rng.integers(0, n, n)]
        fig = figures(sample, calls)
        for name, value in vars(fig).items():
            if value is not None and not isinstance(value, int):
                values.setdefault(name, []).append(float(value))
    return {k: (float(np.percentile(v, 5)), float(np.percentile(v, 95))) for k, v in values.items()}


def system_hits(frame: pd.DataFrame, model_scores: np.ndarray, model_yellow: float) -> dict[str, np.ndarray]:
    """Slip-raising rows of each system; the model and keyword list at their given thresholds."""
    forced = frame["forced"].to_numpy(dtype=bool)
    keyword = KeywordBaseline()
    return {
        "model": (np.asarray(model_scores) >= model_yellow) | forced,
        "keyword": keyword.predict_proba(frame) >= keyword.thresholds["yellow"],
        "practice": practice_flags(frame),
    }


def at_practice_budget(frame: pd.DataFrame, model_scores: np.ndarray) -> dict[str, np.ndarray]:
    """Every system at the practice rules' slips per 1,000 calls (thresholds chosen on ``frame``)."""
    practice = practice_flags(frame)
    calls = max(1, int((frame["rescore"] == 0).sum()))
    budget = 1000 * frame.loc[practice, "slip_key"].nunique() / calls
    keyword_scores = KeywordBaseline().predict_proba(frame)
    nothing = frame.assign(forced=False)
    return {
        "model": (model_scores >= threshold_for_budget(frame, model_scores, budget))
        | frame["forced"].to_numpy(dtype=bool),
        "keyword": keyword_scores >= threshold_for_budget(nothing, keyword_scores, budget),
        "practice": practice,
    }


def at_recall(frame: pd.DataFrame, scores: np.ndarray, recall: float) -> np.ndarray:
    """The model's slip rows at the highest threshold that still reaches ``recall`` (recall only
    falls as the threshold rises, so a bisection over the sorted scores finds it)."""
    forced = frame["forced"].to_numpy(dtype=bool)
    ordered = np.unique(np.asarray(scores, dtype=float))
    lo, hi = 0, len(ordered) - 1
    while lo < hi:
        mid = (lo + hi + 1) // 2
        hits = (scores >= ordered[mid]) | forced
        if figures(problem_outcomes(frame, hits), 1).recall >= recall:
            lo = mid
        else:
            hi = mid - 1
    return (scores >= ordered[lo]) | forced


def train_quick(nights: int, seed: int, scale: float, workdir: Path, progress: bool = False) -> Hazard:
    """Fit the hazard on ``nights`` simulated nights (no registry), thresholds for the alert budget."""
    from models.risk.features import RISK_COLUMNS, feature_matrix
    from models.risk.metrics import choose_thresholds
    from models.risk.replay import load_replay
    from models.risk.train import fit_estimator, split_by_night
    from pipeline.risk.config import load_risk_config
    from pipeline.simulator import simulate

    config = load_risk_config()
    out = workdir / f"train-{seed}"
    if not out.exists():
        simulate(out, days=nights, seed=seed, scale=scale, progress=progress)
    frame = load_replay(out, config, progress)
    train, val = split_by_night(frame)
    estimator = fit_estimator(train, seed)
    val_scores = estimator.predict_proba(feature_matrix(val, RISK_COLUMNS))[:, 1]
    thresholds = choose_thresholds(val, val_scores, config.alert_budget_per_1000)

    return Hazard(estimator, thresholds)


@dataclass
class Hazard:
    """A fitted hazard estimator and its thresholds, callable on replay rows (picklable)."""

    estimator: object
    thresholds: dict[str, float]

    def __call__(self, rows: pd.DataFrame) -> np.ndarray:
        from models.risk.features import RISK_COLUMNS, feature_matrix

        return self.estimator.predict_proba(feature_matrix(rows, RISK_COLUMNS))[:, 1]  # type: ignore[attr-defined]


def table_lines(results: dict[str, tuple[Figures, dict[str, tuple[float, float]]]]) -> list[str]:
    """Markdown rows: system | recall | median lead | false alarms | slips per 1,000."""

    def iv(name: str, value: float | None, ci: dict[str, tuple[float, float]], pct: bool = True) -> str:
        if value is None:
            return "—"
        lo, hi = ci.get(name, (value, value))
        if pct:
            return f"{value:.0%} [{lo:.0%}, {hi:.0%}]"
        return f"{value:.1f} [{lo:.1f}, {hi:.1f}]"

    lines = [
        "| 系统 | 升级前已预警 | 中位提前天数 | 未升级问题中发单比例 | 预警单中从未升级占比 | 每千通来电预警单 |",
        "|---|---|---|---|---|---|",
    ]
    for name, (fig, ci) in results.items():
        lines.append(
            f"| {SYSTEM_ZH.get(name, name)} | {iv('recall', fig.recall, ci)} | "
            f"{iv('median_lead_days', fig.median_lead_days, ci, pct=False)} | "
            f"{iv('false_alarm_share', fig.false_alarm_share, ci)} | "
            f"{iv('never_escalated_slip_share', fig.never_escalated_slip_share, ci)} | "
            f"{iv('slips_per_1000', fig.slips_per_1000, ci, pct=False)} |"
        )
    return lines


def evaluate_frame(
    frame: pd.DataFrame, hits: dict[str, np.ndarray], reps: int = 500
) -> dict[str, tuple[Figures, dict[str, tuple[float, float]]]]:
    calls = int((frame["rescore"] == 0).sum())
    out = {}
    for name in SYSTEMS:
        outcomes = problem_outcomes(frame, hits[name])
        out[name] = (figures(outcomes, calls), bootstrap(outcomes, calls, reps))
    return out


def combine(frames: Sequence[pd.DataFrame]) -> pd.DataFrame:
    """Frames of several seeds as one (problem and slip keys prefixed by their seed)."""
    parts = []
    for i, frame in enumerate(frames):
        parts.append(
            frame.assign(
                problem_id=f"{i}:" + frame["problem_id"].astype(str),
                slip_key=f"{i}:" + frame["slip_key"].astype(str),
            )
        )
    return pd.concat(parts, ignore_index=True)


def false_alarm_ratio(
    model: pd.DataFrame, practice: pd.DataFrame, reps: int = 500, seed: int = 0
) -> tuple[float, float, float]:
    """Model false alarms over the practice rules' (both per problem, same problems), with a 90%
    interval from resampling problems jointly: the target is at most 0.5 at the rules' recall."""
    joined = model.set_index("problem_id")[["escalated", "slipped"]].join(
        practice.set_index("problem_id")[["slipped"]], rsuffix="_practice"
    )
    calm = joined[~joined["escalated"]]
    ours = calm["slipped"].to_numpy(dtype=float)
    theirs = calm["slipped_practice"].to_numpy(dtype=float)
    point = ours.sum() / theirs.sum() if theirs.sum() else float("nan")
    rng = np.random.default_rng(seed)
    ratios = []
    for _ in range(reps):
        pick = rng.integers(0, len(calm), len(calm))
        if theirs[pick].sum():
            ratios.append(ours[pick].sum() / theirs[pick].sum())
    lo, hi = np.percentile(ratios, [5, 95]) if ratios else (float("nan"), float("nan"))
    return float(point), float(lo), float(hi)
