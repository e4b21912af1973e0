"""Backtest figures with known answers, and the learned cues beside the keyword patterns."""

from __future__ import annotations

from datetime import datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from models.risk import backtest as bt
from pipeline.records import SHANGHAI

T0 = datetime(2026, 10, 1, 2, 0, tzinfo=SHANGHAI)


def _frame() -> pd.DataFrame:
    """Four problems: A escalates day 3 (rows day 1, 2), B escalates day 2 (row day 1),
    C and D never escalate; one quiet row (rescore) on A."""
    rows = [
        ("A", 0, 0, T0, T0 + timedelta(days=3), 0.2),
        ("A", 1, 1, T0 + timedelta(days=1), T0 + timedelta(days=3), 0.9),
        ("B", 0, 0, T0, T0 + timedelta(days=2), 0.1),
        ("C", 0, 1, T0, None, 0.8),
        ("D", 0, 0, T0, None, 0.05),
    ]
    return pd.DataFrame(
        {
            "problem_id": [r[0] for r in rows],
            "slip_key": [r[0] for r in rows],
            "rescore": [r[1] for r in rows],
            "problem_calls_30d": [r[2] for r in rows],
            "threat_regulator": [0] * len(rows),
            "scored_at": [r[3] for r in rows],
            "escalated_at": pd.to_datetime([r[4] for r in rows]),
            "forced": [False] * len(rows),
            "score": [r[5] for r in rows],
        }
    )


def test_figures_count_recall_lead_and_false_alarms_per_problem():
    frame = _frame()
    outcomes = bt.problem_outcomes(frame, frame["score"].to_numpy() >= 0.5)
    fig = bt.figures(outcomes, calls=4)
    assert fig.recall == pytest.approx(0.5), "A caught on day 1 (the quiet row), B missed"
    assert fig.median_lead_days == pytest.approx(2.0)
    assert fig.false_alarm_share == pytest.approx(0.5) and fig.false_alarms == 1, "C slipped, D not"
    assert fig.never_escalated_slip_share == pytest.approx(0.5)
    assert fig.slips_per_1000 == pytest.approx(500.0)


def test_practice_rules_fire_on_a_second_call_never_on_a_quiet_row():
    frame = _frame()
    assert bt.practice_flags(frame).tolist() == [False, False, False, True, False]


def test_at_recall_finds_the_highest_threshold_that_still_reaches_it():
    frame = _frame()
    scores = frame["score"].to_numpy()
    hits = bt.at_recall(frame, scores, 1.0)
    assert hits.tolist() == [True, True, True, True, False], "threshold 0.1 catches B; D stays out"
    assert bt.at_recall(frame, scores, 0.5).tolist() == [False, True, False, False, False], "0.9: A only"


def test_bootstrap_intervals_hold_the_point_figure():
    frame = _frame()
    outcomes = bt.problem_outcomes(frame, frame["score"].to_numpy() >= 0.5)
    ci = bt.bootstrap(outcomes, calls=4, reps=200)
    lo, hi = ci["recall"]
    assert 0.0 <= lo <= 0.5 <= hi <= 1.0


def test_learned_cues_read_anger_no_keyword_pattern_lists():
    from pipeline.features import text_signals

    fed_up = text_signals("客户：记了也没用，每回都是这句话，你们到底有没有人管嘛，我真是受不了了")
    calm = text_signals("客户：想问一下这个月电费是多少，谢谢你啊")
    assert fed_up.cues["angry"] > calm.cues["angry"] + 0.2
    assert set(fed_up.cues) == {"angry", "missed", "repeat"}
    assert np.isclose(sum(calm.flags[f"said_{c}"] for c in ("angry", "missed", "repeat")), 0)


def test_false_alarm_ratio_compares_the_same_calm_problems():
    frame = _frame()
    model = bt.problem_outcomes(frame, frame["score"].to_numpy() >= 0.5)
    practice = bt.problem_outcomes(frame, np.ones(len(frame), dtype=bool))
    ratio, lo, hi = bt.false_alarm_ratio(model, practice, reps=200)
    assert ratio == pytest.approx(0.5), "the model slips C of the calm C and D; the rules slip both"
    assert 0.0 <= lo <= ratio <= hi <= 1.0
