"""How far could any early-warning model beat the practice rules in the simulated world?

The simulator draws each escalation from a logit of drivers a call can reveal (repeat calls,
a missed commitment, an unsatisfied callback, a threat, temper, a wide or vulnerable case, the
kind of request) plus a per-problem latent term no call reveals (``latent_sd``). This script
reads the world's truth, not the text: an *oracle* scores every call with the exact logit of the
revealed drivers, the *practice rules* fire on a true threat or a true second call. Both are
compared per problem as the backtest does (a call's slip counts from 02:00 after it): the
oracle's false alarms at the practice rules' recall, over theirs, with a 90% interval. No model
that reads text can do better than the oracle, so this ratio bounds what ``benchmarks/
risk_backtest.py`` can show for issue 11's target (at most 0.5).

    .venv/bin/python benchmarks/risk_oracle.py [--nights 60] [--seeds 101 202 303] [--scale 0.3]
"""

from __future__ import annotations

import argparse
import random
import sys
from datetime import datetime, timedelta
from pathlib import Path

import pandas as pd

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))


def _rows(seed: int, nights: int, scale: float) -> pd.DataFrame:
    """One row per simulated call: problem, scoring time, escalation time, practice flag, oracle logit."""
    from pipeline.records import SHANGHAI
    from pipeline.simulator.escalation import LABEL_BIAS, EscalationWeights
    from pipeline.simulator.events import EventGenerator, EventRates
    from pipeline.simulator.run import DEFAULT_START, WARMUP_DAYS
    from pipeline.simulator.world import build_world

    w = EscalationWeights()
    world = build_world(random.Random(f"{seed}:world"), scale)
    generator = EventGenerator(world, random.Random(f"{seed}:events"), scale, w, EventRates())
    first = datetime.combine(DEFAULT_START, datetime.min.time(), SHANGHAI)
    end = first + timedelta(days=nights)
    rows = []
    for offset in range(-WARMUP_DAYS, nights):
        for p in generator.day(DEFAULT_START + timedelta(days=offset)):
            fixed = (
                w.wide * p.wide
                + w.vulnerable * p.vulnerable
                + w.temper * p.customer.temper
                + (w.no_commitment if p.intent.commitment == "none" else 0.0)
                + LABEL_BIAS[p.intent.label]
            )
            for plan in p.calls:
                if not first <= plan.time < end:
                    continue
                logit = (
                    w.base
                    + fixed
                    + w.repeat * min(plan.index, 3)
                    + w.missed * plan.missed
                    + w.callback * plan.callback_unsat
                    + w.threat * plan.threat
                )
                scored = datetime.combine(plan.time.date() + timedelta(days=1), datetime.min.time(), SHANGHAI)
                rows.append(
                    {
                        "problem_id": f"{seed}:{p.problem_id}",
                        "scored_at": pd.Timestamp(scored.replace(hour=2)),
                        "escalated_at": pd.Timestamp(p.escalated_at) if p.escalated_at else pd.NaT,
                        "practice": plan.threat or plan.index >= 1,
                        "oracle": logit,
                    }
                )
    frame = pd.DataFrame(rows)
    frame["escalated_at"] = pd.to_datetime(frame["escalated_at"])
    return frame


def main() -> None:
    from models.risk import backtest as bt
    from pipeline.simulator.escalation import EscalationWeights

    parser = argparse.ArgumentParser()
    parser.add_argument("--nights", type=int, default=60)
    parser.add_argument("--seeds", type=int, nargs="+", default=[101, 202, 303])
    parser.add_argument("--scale", type=float, default=0.3)
    parser.add_argument("--reps", type=int, default=500)
    args = parser.parse_args()

    frame = pd.concat([_rows(s, args.nights, args.scale) for s in args.seeds], ignore_index=True)
    frame["forced"] = False
    practice = bt.problem_outcomes(frame, frame["practice"].to_numpy())
    p_fig = bt.figures(practice, len(frame))
    oracle_hits = bt.at_recall(frame, frame["oracle"].to_numpy(), p_fig.recall)
    oracle = bt.problem_outcomes(frame, oracle_hits)
    o_fig = bt.figures(oracle, len(frame))
    ratio = bt.false_alarm_ratio(oracle, practice, reps=args.reps)
    print(
        f"{len(args.seeds)} 个种子 × {args.nights} 夜，来电 {len(frame)}，问题 {len(practice)}，升级 {p_fig.escalated}"
    )
    print("| 规则 | 升级前预警 | 从未升级却发单的问题 | 每千通预警 |")
    print("|---|---|---|---|")
    for name, fig in (("实践规则（真实威胁或再次来电）", p_fig), ("先知（已知全部可观察驱动因素）", o_fig)):
        print(
            f"| {name} | {fig.recall:.0%} | {fig.false_alarms}（{fig.false_alarm_share:.1%}） | {fig.slips_per_1000:.0f} |"
        )
    print(
        f"先知在实践规则召回率下的误报 / 实践规则误报 = {ratio[0]:.2f} [{ratio[1]:.2f}, {ratio[2]:.2f}]"
        "（目标 ≤ 0.5；任何读文本的模型都不会比先知更好）"
    )
    print(f"每个问题的不可观察项（潜在因素）标准差 latent_sd = {EscalationWeights().latent_sd}")


if __name__ == "__main__":
    main()
