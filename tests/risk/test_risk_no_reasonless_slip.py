"""No slip without a reason (issue 11): a call the model alone lifts to a level still says why, in Chinese."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from pipeline.features import CallView, History, text_signals
from pipeline.risk.assess import assess
from pipeline.risk.config import load_risk_config

SH = ZoneInfo("Asia/Shanghai")
T0 = datetime(2026, 11, 27, 20, 0, tzinfo=SH)
CONFIG = load_risk_config({"thresholds": {"red": 0.1, "orange": 0.08, "yellow": 0.05}})


def _view(call_id: str, when: datetime, text: str = "客户：家里没电了", customer: str = "k1") -> CallView:
    return CallView(call_id, when, customer, "大理供电局", "河尾村", "outage", text, 420)


def test_a_quiet_call_scored_red_by_the_model_names_the_facts_behind_it():
    history = History(CONFIG)
    history.add_call(_view("old", T0 - timedelta(days=3), customer="k1"))
    call = _view("now", T0, customer="k1")
    history.add_call(call)
    signals = text_signals(call.transcript)
    features = {**history.features(call, signals), "category_outage": 1.0}
    features["problem_calls_30d"] = 0.0  # another matter earlier: no repeat reason, no forcing rule
    verdict = assess(features, signals, 0.12, category="outage", area="河尾村", config=CONFIG)
    assert verdict.level == "red"
    assert verdict.reasons, "a red slip with no reason"
    text = verdict.reasons[0].text
    assert text.startswith("模型评估升级风险12%")
    assert "客户30天内已来电1次" in text and "停电故障类诉求" in text and "通话7分钟" in text


def test_no_level_without_a_reason_over_many_random_calls():
    rng = random.Random(3)
    texts = ["客户：家里没电了", "客户：问一下电费", "客户：电压不稳", "客户：报装进度怎么样了", "客户：你好"]
    history = History(CONFIG)
    for i in range(300):
        call = _view(f"c{i}", T0 + timedelta(minutes=i), rng.choice(texts), customer=f"k{rng.randrange(40)}")
        history.add_call(call)
        signals = text_signals(call.transcript)
        verdict = assess(
            history.features(call, signals),
            signals,
            rng.random() * 0.2,
            category="outage",
            area=None,
            config=CONFIG,
        )
        assert verdict.level == "none" or verdict.reasons, (call, verdict)
