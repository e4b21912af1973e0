"""Alert metrics on a hand-built frame whose answers are known, and threshold choice under a budget."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest

from models.risk.metrics import alert_metrics, batch_time, choose_thresholds, threshold_for_budget

SH = ZoneInfo("Asia/Shanghai")


def _frame() -> pd.DataFrame:
    day = lambda d, h: datetime(2026, 6, d, h, tzinfo=SH)  # noqa: E731
    rows = [
        # problem A escalates on day 3 at 12:00; its first call (day 1) is flagged -> slip at day 2 02:00
        ("A", "kA", day(1, 9), day(3, 12), False),
        ("A", "kA", day(2, 9), day(3, 12), False),
        # problem B escalates on day 1 at 20:00, before any batch could see its call
        ("B", "kB", day(1, 10), day(1, 20), False),
        # problem C never escalates but is forced (e.g. said 12398)
        ("C", "kC", day(1, 11), None, True),
        # ten quiet calls
        *[(f"Q{i}", f"kQ{i}", day(1, 12), None, False) for i in range(6)],
    ]
    return pd.DataFrame(rows, columns=["problem_id", "slip_key", "call_time", "escalated_at", "forced"])


SCORES = np.array([0.9, 0.2, 0.8, 0.1, 0.3, 0.05, 0.05, 0.05, 0.05, 0.05])


def test_batch_time_is_next_morning():
    assert batch_time(datetime(2026, 6, 1, 23, 59, tzinfo=SH)) == datetime(2026, 6, 2, 2, 0, tzinfo=SH)


def test_alert_metrics_count_recall_lead_budget_and_waste():
    m = alert_metrics(_frame(), SCORES, yellow=0.5)
    assert m.escalated_problems == 2
    assert m.recall == pytest.approx(0.5)
    assert m.median_lead_hours == pytest.approx(34.0)
    assert m.slips == 3 and m.slips_per_1000 == pytest.approx(300.0)
    assert m.never_escalated_share == pytest.approx(1 / 3)


def test_thresholds_respect_the_budget_and_are_ordered():
    frame = _frame()
    yellow = threshold_for_budget(frame, SCORES, 300)
    assert alert_metrics(frame, SCORES, yellow).slips_per_1000 <= 300
    assert threshold_for_budget(frame, SCORES, 250) > yellow
    t = choose_thresholds(frame, SCORES, 400)
    assert t["yellow"] <= t["orange"] <= t["red"]
    assert alert_metrics(frame, SCORES, t["red"]).slips <= alert_metrics(frame, SCORES, t["yellow"]).slips
