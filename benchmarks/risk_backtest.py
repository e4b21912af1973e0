"""Early-warning backtest: risk model vs practice rules vs keyword list, with 90% bootstrap intervals.

1. Train the hazard on 60 simulated nights (seed 11) through the production replay.
2. Backtest on 3 other seeds x 60 held-out-phrasing nights: each system at its own setting, then
   every system at the practice rules' slip budget, and the model at the practice rules' recall
   (the target: at most half their false alarms there, median lead >= 1 day).
3. The same on the hand-written storylines (dev decides the model's threshold; test is reported).
4. Single hand-written calls (dev calls.csv): AUC of the model and of the keyword list.
A recall-versus-budget plot is written beside the figures.

    .venv/bin/python benchmarks/risk_backtest.py [--nights 60] [--seeds 101 202 303] [--scale 0.3]
        [--workdir /tmp/risk-backtest] [--out docs/img]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import joblib
import numpy as np
import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _moment(value: object) -> pd.Timestamp:
    """An export time (with or without offset) as an aware timestamp, Asia/Shanghai when bare."""
    from datetime import datetime

    from pipeline.records import SHANGHAI

    if not isinstance(value, str) or not value:
        return pd.NaT
    moment = datetime.fromisoformat(value)
    return pd.Timestamp(moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI))


def main() -> None:
    from sklearn.metrics import roc_auc_score

    from models.risk import backtest as bt
    from models.risk.metrics import recall_curve
    from models.risk.plots import plot_recall_curves
    from models.risk.replay import load_replay, replay
    from models.risk.storylines import load_storylines
    from pipeline.config import DATA_DIR
    from pipeline.risk.baseline import KeywordBaseline
    from pipeline.risk.config import load_risk_config
    from pipeline.simulator import simulate

    parser = argparse.ArgumentParser()
    parser.add_argument("--nights", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 202, 303])
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--workdir", type=Path, default=Path("/tmp/risk-backtest"))
    parser.add_argument("--out", type=Path, default=REPO / "docs" / "img")
    parser.add_argument("--reps", type=int, default=500)
    args = parser.parse_args()
    args.workdir.mkdir(parents=True, exist_ok=True)
    config = load_risk_config()

    cached = args.workdir / f"model-{args.nights}.joblib"
    if cached.exists():
        predict = joblib.load(cached)
    else:
        predict = bt.train_quick(args.nights, 11, args.scale, args.workdir, progress=True)
        joblib.dump(predict, cached)
    yellow = predict.thresholds["yellow"]
    print(f"模型：{args.nights} 夜模拟数据训练（种子 11），黄色阈值 {yellow:.4f}")

    frames = []
    for seed in args.seeds:
        cache = args.workdir / f"replay-{seed}-{args.nights}.pkl"
        if cache.exists():
            frames.append(pd.read_pickle(cache))
            continue
        out = args.workdir / f"sim-{seed}"
        if not out.exists():
            simulate(out, days=args.nights, seed=seed, scale=args.scale, holdout=True, progress=True)
        frame = load_replay(out, config, progress=True)
        frame.to_pickle(cache)
        frames.append(frame)
    pooled = bt.combine(frames)
    scores = predict(pooled)
    print(
        f"\n## 模拟回测：{len(args.seeds)} 个种子 × {args.nights} 夜，来电 {(pooled.rescore == 0).sum()} 通"
    )
    print("\n### 各系统按自身设置")
    print(
        "\n".join(
            bt.table_lines(bt.evaluate_frame(pooled, bt.system_hits(pooled, scores, yellow), args.reps))
        )
    )
    print("\n### 同一预警单预算（实践规则的每千通来电预警单数）")
    print(
        "\n".join(bt.table_lines(bt.evaluate_frame(pooled, bt.at_practice_budget(pooled, scores), args.reps)))
    )
    practice_outcomes = bt.problem_outcomes(pooled, bt.practice_flags(pooled))
    practice = bt.figures(practice_outcomes, 1)
    matched = bt.problem_outcomes(pooled, bt.at_recall(pooled, scores, practice.recall))
    model_at = bt.figures(matched, 1)
    ratio, lo, hi = bt.false_alarm_ratio(matched, practice_outcomes, args.reps)
    lead_lo, lead_hi = bt.bootstrap(matched, 1, args.reps).get("median_lead_days", (float("nan"),) * 2)
    print(
        f"\n在实践规则的召回率 {practice.recall:.0%} 下：模型误报（未升级问题发单）{model_at.false_alarms} 个，"
        f"实践规则 {practice.false_alarms} 个，比值 {ratio:.2f} [{lo:.2f}, {hi:.2f}]（目标 ≤ 0.5）；"
        f"模型中位提前 {model_at.median_lead_days or 0:.1f} 天 [{lead_lo:.1f}, {lead_hi:.1f}]（目标 ≥ 1）"
    )
    budgets = (40, 60, 80, 120, 160, 210, 260, 320)
    practice_point = bt.figures(
        bt.problem_outcomes(pooled, bt.practice_flags(pooled)), int((pooled.rescore == 0).sum())
    )
    curves = {
        "风险模型": recall_curve(pooled, scores, budgets),
        "关键词基线": recall_curve(
            pooled.assign(forced=False), KeywordBaseline().predict_proba(pooled), budgets
        ),
        "实践规则": pd.DataFrame(
            [{"slips_per_1000": practice_point.slips_per_1000, "recall": practice_point.recall}]
        ),
    }
    args.out.mkdir(parents=True, exist_ok=True)
    plot = plot_recall_curves(curves, args.out / "risk_recall_vs_budget.png")
    print(f"召回率-预算曲线：{plot}")

    for split in ("dev", "test"):
        stories = load_storylines(split)
        frame = replay(stories.records, config, stories.problem_of)
        frame = frame.loc[~(frame["escalated_at"].notna() & (frame["scored_at"] >= frame["escalated_at"]))]
        frame = frame.reset_index(drop=True)
        s = predict(frame)
        print(f"\n## 手写故事线 {split}：{len(stories.escalated_at)} 条，来电 {len(stories.records)} 通")
        print(
            "\n".join(bt.table_lines(bt.evaluate_frame(frame, bt.system_hits(frame, s, yellow), args.reps)))
        )

    calls = pd.read_csv(DATA_DIR / "eval" / "independent" / "dev" / "calls.csv", dtype=str)
    from models.risk.replay import records_from_labeled

    for column in ("call_time", "escalated_at"):
        calls[column] = calls[column].map(_moment)
    calls["duration_s"] = pd.to_numeric(calls["duration_s"], errors="coerce")
    calls["escalated_12398"] = calls["escalated_12398"].str.lower().isin(["true", "1", "是"])
    single = []
    for record in records_from_labeled(calls):
        row = replay([record], config).iloc[[0]]
        single.append(row.assign(label=int(bool(record.escalated_12398))))
    table = pd.concat(single, ignore_index=True)
    y = table["label"].to_numpy()
    print(
        f"\n## 单通手写来电（dev，{len(y)} 通，升级 {y.sum()}）：AUC 模型 {roc_auc_score(y, predict(table)):.3f}，"
        f"关键词 {roc_auc_score(y, KeywordBaseline().predict_proba(table)):.3f}（目标：模型 ≥ 0.90 且不低于关键词）"
    )
    np.random.seed(0)


if __name__ == "__main__":
    main()
