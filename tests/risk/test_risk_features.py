"""Risk features from text and history, forcing rules, levels and concrete reasons."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pandas as pd
import pytest

from pipeline.features import FEATURE_COLUMNS, CallView, History, SlipState, text_signals
from pipeline.risk.assess import assess
from pipeline.risk.baseline import KeywordBaseline
from pipeline.risk.config import load_risk_config
from pipeline.risk.levels import level_for, raise_level
from pipeline.risk.rules import forcing_rules

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 20, 10, 0, tzinfo=SH)
CONFIG = load_risk_config()


def _view(call_id, when, customer="c1", category="outage", area="上关镇河尾村", text="客户：停电了"):
    return CallView(call_id, when, customer, "大理供电局", area, category, text, 60)


def test_text_signals_find_threats_losses_and_missed_commitments():
    s = text_signals(
        "坐席：您好95598。\n客户：又停电了！说好昨天来修，到现在都没来。家里有老人，冰箱里的肉都坏掉了，"
        "再不修我就打12398，还要找电视台。"
    )
    assert s.flags["threat_regulator"] == 1 and s.matches["threat_regulator"] == ["12398"]
    assert s.matches["threat_other"] == ["媒体"]
    assert s.flags["vulnerable"] and s.matches["vulnerable"] == ["老人"]
    assert "冰箱/冷库" in s.matches["loss"]
    assert s.flags["missed_commitment"] and s.commitment_quote.startswith("说好")
    assert s.flags["earlier_mention"] == 1
    assert not s.free_text


def test_agent_words_do_not_count_as_customer_signals():
    s = text_signals("坐席：您好，已为您登记工单，如有不满可拨打12398。\n客户：好的谢谢。")
    assert s.flags["threat_regulator"] == 0
    assert s.flags["earlier_mention"] == 0


def test_quiet_call_has_no_signals():
    s = text_signals("我家电费这个月比上个月高一点，想问一下阶梯电价怎么算")
    assert sum(s.flags.values()) == 0
    assert s.free_text


def test_history_counts_only_earlier_calls_in_their_windows():
    history = History(CONFIG)
    calls = [
        _view("a", T0 - timedelta(days=40)),
        _view("b", T0 - timedelta(days=20)),
        _view("c", T0 - timedelta(days=3), category="voltage"),
        _view("d", T0 - timedelta(days=2)),
        _view("now", T0),
        _view("later", T0 + timedelta(days=1)),
    ]
    for call in calls:
        history.add_call(call)
    history.add_call(calls[1])
    f = history.features(calls[4])
    assert list(f) == list(FEATURE_COLUMNS)
    assert f["customer_calls_7d"] == 2
    assert f["customer_calls_30d"] == 3
    assert f["problem_calls_30d"] == 2
    assert f["problem_days_since_first"] == pytest.approx(20)
    assert f["problem_hours_since_last"] == pytest.approx(48)
    assert f["category_outage"] == 1 and f["category_voltage"] == 0


def test_wide_incident_counts_other_customers_in_same_area_and_category_within_hours():
    history = History(CONFIG)
    target = _view("x0", T0, customer="c0")
    history.add_call(target)
    for i in range(1, 7):
        history.add_call(_view(f"x{i}", T0 + timedelta(minutes=20 * i), customer=f"c{i}"))
    history.add_call(_view("y1", T0, customer="c1"))
    history.add_call(_view("far", T0 + timedelta(hours=30), customer="c9"))
    history.add_call(_view("other-area", T0, customer="c8", area="别的村"))
    history.add_call(_view("other-cat", T0, customer="c7", category="voltage"))
    assert history.features(target)["area_customers_window"] == 6


def test_slip_state_features():
    history = History(CONFIG)
    call = _view("n", T0)
    problem = history.add_call(_view("earlier", T0 - timedelta(days=3)))
    history.set_slip(problem, SlipState("closed", T0 - timedelta(days=2), unsatisfied=True, reopen_count=1))
    f = history.features(call)
    assert (f["prior_slip"], f["prior_slip_open"], f["called_after_closure"], f["unsatisfied_callback"]) == (
        1,
        0,
        1,
        1,
    )


@pytest.mark.parametrize(("repeat_calls", "earlier", "fires"), [(3, 2, True), (3, 1, False), (2, 1, True)])
def test_repeat_rule_uses_configured_n(repeat_calls, earlier, fires):
    config = load_risk_config({"repeat_calls": repeat_calls})
    history = History(config)
    for i in range(earlier):
        history.add_call(_view(f"p{i}", T0 - timedelta(days=i + 1)))
    f = history.features(_view("now", T0))
    assert ("repeat" in forcing_rules(f, config)) is fires


def test_forcing_rules_lift_a_low_probability_to_yellow_with_concrete_reasons():
    history = History(CONFIG)
    for i in range(2):
        history.add_call(_view(f"p{i}", T0 - timedelta(days=5 - i)))
    for i in range(6):
        history.add_call(_view(f"n{i}", T0 + timedelta(minutes=i), customer=f"n{i}"))
    text = "客户：第三次打了还是没电，再不来我就打12398投诉你们"
    call = _view("now", T0, text=text)
    signals = text_signals(text)
    verdict = assess(
        history.features(call, signals), signals, 0.02, category="outage", area="河尾村", config=CONFIG
    )
    assert verdict.level == "yellow"
    assert verdict.score == pytest.approx(0.02)
    assert set(verdict.forced_by) == {"threat_regulator", "repeat"}
    texts = [r.text for r in verdict.reasons]
    assert texts[0] == "客户表示将向12398投诉"
    assert "同一问题30天内第3次来电（首次来电已过5天）" in texts
    assert "河尾村当晚7户来电反映停电" in texts
    weights = [r.weight for r in verdict.reasons]
    assert weights == sorted(weights, reverse=True)


def test_no_forcing_and_low_probability_means_no_level():
    history = History(CONFIG)
    call = _view("q", T0, text="客户：问一下电费怎么交")
    signals = text_signals(call.transcript)
    verdict = assess(
        history.features(call, signals), signals, 0.01, category="meter_billing", area=None, config=CONFIG
    )
    assert verdict.level == "none" and verdict.forced_by == []


def test_levels_follow_configured_thresholds():
    config = load_risk_config({"thresholds": {"red": 0.5, "orange": 0.3, "yellow": 0.1}})
    assert [level_for(p, config) for p in (0.05, 0.1, 0.35, 0.9)] == ["none", "yellow", "orange", "red"]
    assert raise_level("yellow") == "orange" and raise_level("red") == "red"
    with pytest.raises(ValueError, match="thresholds"):
        load_risk_config({"thresholds": {"red": 0.1, "orange": 0.3, "yellow": 0.2}})
    with pytest.raises(ValueError, match="未知项"):
        load_risk_config({"repeat": 3})


def test_keyword_baseline_scores_signals_in_order():
    rows = []
    for text, repeats in (("客户：问个电费", 0), ("客户：又停电了", 1), ("客户：再不修我就打12398", 2)):
        history = History(CONFIG)
        for i in range(repeats):
            history.add_call(_view(f"r{i}", T0 - timedelta(days=i + 1)))
        rows.append(history.features(_view("now", T0, text=text)))
    scores = KeywordBaseline().predict_proba(pd.DataFrame(rows))
    assert scores[0] == 0 and 0 < scores[1] < scores[2] < 1
