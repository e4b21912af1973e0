"""Commitments read from the agent's words, their due times, and the overdue rule (issue 11, item 3)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from pipeline.risk.commitments import (
    OVERDUE_CODE,
    Commitment,
    apply_overdue,
    chinese_number,
    commitment_features,
    extract_commitments,
    overdue_commitments,
    working_days_after,
)
from pipeline.risk.config import load_risk_config

SH = ZoneInfo("Asia/Shanghai")
FRIDAY = datetime(2026, 11, 27, 14, 10, tzinfo=SH)


def _call(agent: str, customer: str = "好的，谢谢") -> str:
    return f"坐席：您好，国家电网95598，很高兴为您服务\n客户：{customer}\n坐席：{agent}\n客户：好"


@pytest.mark.parametrize(
    ("said", "value"),
    [
        ("两", 2),
        ("四十五", 45),
        ("二十", 20),
        ("十二", 12),
        ("一百零五", 105),
        ("半", 0.5),
        ("个把", 1),
        ("90", 90),
    ],
)
def test_spoken_numbers(said, value):
    assert chinese_number(said) == value


@pytest.mark.parametrize(
    ("agent", "kind", "due", "text"),
    [
        ("抢修人员会在两个小时内到达现场", "crew", FRIDAY + timedelta(hours=2), "承诺2小时内到场"),
        ("已经通知抢修班，四十五分钟左右到", "crew", FRIDAY + timedelta(minutes=45), "承诺45分钟内到场"),
        ("我马上派单，师傅大概一个半小时到", "crew", FRIDAY + timedelta(hours=1.5), "承诺1.5小时内到场"),
        ("师傅半个小时就到", "crew", FRIDAY + timedelta(minutes=30), "承诺30分钟内到场"),
        ("到场时间是90分钟以内", "crew", FRIDAY + timedelta(minutes=90), "承诺1.5小时内到场"),
        ("抢修人员两小时内到达现场并恢复供电", "crew", FRIDAY + timedelta(hours=2), "承诺2小时内到场"),
        ("预计晚上八点前恢复供电", "restore", FRIDAY.replace(hour=20, minute=0), "承诺20:00前恢复供电"),
        ("预计下午六点左右恢复供电", "restore", FRIDAY.replace(hour=18, minute=0), "承诺18:00前恢复供电"),
        ("预计六点半左右恢复供电", "restore", FRIDAY.replace(hour=18, minute=30), "承诺18:30前恢复供电"),
        ("预计18点左右恢复供电", "restore", FRIDAY.replace(hour=18, minute=0), "承诺18:00前恢复供电"),
        ("恢复时间大概是晚上9点", "restore", FRIDAY.replace(hour=21, minute=0), "承诺21:00前恢复供电"),
        (
            "明天上午十点前恢复供电",
            "restore",
            datetime(2026, 11, 28, 10, 0, tzinfo=SH),
            "承诺11月28日10:00前恢复供电",
        ),
        ("预计两个小时内恢复送电", "restore", FRIDAY + timedelta(hours=2), "承诺2小时内恢复供电"),
        # Friday + 3 working days skips the weekend: Wednesday
        (
            "三个工作日内会有人联系您",
            "reply",
            datetime(2026, 12, 2, 14, 10, tzinfo=SH),
            "承诺3个工作日内答复",
        ),
        (
            "会在五个工作日内给您答复",
            "reply",
            datetime(2026, 12, 4, 14, 10, tzinfo=SH),
            "承诺5个工作日内答复",
        ),
        (
            "会安排人员核实，五个工作日内答复您",
            "reply",
            datetime(2026, 12, 4, 14, 10, tzinfo=SH),
            "承诺5个工作日内答复",
        ),
        (
            "三个工作日内安排师傅上门",
            "visit",
            datetime(2026, 12, 2, 14, 10, tzinfo=SH),
            "承诺3个工作日内上门处理",
        ),
        ("7天内给您回复", "reply", FRIDAY + timedelta(days=7), "承诺7天内答复"),
        ("您缴费成功后24小时内恢复供电", "reconnect", FRIDAY + timedelta(hours=24), "承诺缴费后24小时内复电"),
        (
            "交清欠费后二十四小时内会给您复电",
            "reconnect",
            FRIDAY + timedelta(hours=24),
            "承诺缴费后24小时内复电",
        ),
    ],
)
def test_a_promise_is_read_with_its_due_time(agent, kind, due, text):
    found = extract_commitments(_call(agent), FRIDAY, call_id="GD1")
    assert [(c.kind, c.due_at) for c in found] == [(kind, due)]
    assert found[0].describe() == text
    assert found[0].call_id == "GD1" and found[0].promised_at == FRIDAY


@pytest.mark.parametrize(
    "agent",
    [
        "会尽快安排人员过去",
        "我们会督促尽快送电",
        "我们会在规定时限内处理",
        "我这边给您做了记录",
        "一时半会恢复不了",
        "您稍等两分钟到系统里查一下",
        "我十分钟过去看一下您的工单",
    ],
)
def test_vague_words_are_no_dated_promise(agent):
    assert extract_commitments(_call(agent), FRIDAY) == []


def test_only_the_agent_promises_a_customer_quoting_one_is_not_a_new_commitment():
    text = _call("好的，我帮您催一下", customer="你们说好两个小时到，现在都没来")
    assert extract_commitments(text, FRIDAY) == []
    assert extract_commitments("【在线诉求】说好五个工作日内答复，到现在没消息", FRIDAY) == []


def test_half_width_colons_and_other_labels_work_too():
    text = "客服:抢修人员会在四十五分钟内到达现场\n用户:好"
    assert [c.kind for c in extract_commitments(text, FRIDAY)] == ["crew"]


def test_several_promises_in_one_call_keep_their_order():
    found = extract_commitments(_call("师傅四十五分钟左右到，预计晚上八点前恢复供电"), FRIDAY)
    assert [c.kind for c in found] == ["crew", "restore"]


def test_a_clock_time_already_past_today_means_tomorrow_and_an_hour_without_part_means_the_next_one():
    evening = FRIDAY.replace(hour=21)
    [late] = extract_commitments(_call("预计早上七点前恢复供电"), evening)
    assert late.due_at == datetime(2026, 11, 28, 7, 0, tzinfo=SH)
    [soon] = extract_commitments(_call("预计六点前恢复供电"), FRIDAY)
    assert soon.due_at == FRIDAY.replace(hour=18, minute=0)


def test_working_days_skip_weekends():
    saturday = datetime(2026, 11, 28, 9, 0, tzinfo=SH)
    assert working_days_after(saturday, 1) == datetime(2026, 11, 30, 9, 0, tzinfo=SH)
    assert working_days_after(FRIDAY, 5) == datetime(2026, 12, 4, 14, 10, tzinfo=SH)


def _crew(hours: float = 2) -> Commitment:
    return Commitment("crew", FRIDAY, FRIDAY + timedelta(hours=hours), "两个小时内到达现场", "GD1")


def test_an_overdue_commitment_raises_the_level_with_no_new_call_and_says_why():
    config = load_risk_config()
    now = FRIDAY + timedelta(hours=7)
    verdict = apply_overdue("none", [_crew()], now, config)
    assert verdict.raised and verdict.level == "orange"  # 5 h late on a 2 h promise: more than its span
    assert [r.code for r in verdict.reasons] == [OVERDUE_CODE]
    assert verdict.reasons[0].text == "承诺2小时内到场，已超时5小时"


def test_a_little_late_is_yellow_not_yet_due_is_nothing_and_levels_never_drop():
    config = load_risk_config()
    assert apply_overdue("none", [_crew()], FRIDAY + timedelta(hours=3), config).level == "yellow"
    assert apply_overdue("none", [_crew()], FRIDAY + timedelta(hours=1), config).reasons == []
    kept = apply_overdue("red", [_crew()], FRIDAY + timedelta(hours=3), config)
    assert kept.level == "red" and not kept.raised


def test_a_problem_resolved_in_time_is_not_overdue_and_one_resolved_late_no_longer_raises():
    config = load_risk_config()
    now = FRIDAY + timedelta(hours=10)
    assert overdue_commitments([_crew()], now, resolved_at=FRIDAY + timedelta(hours=1)) == []
    [late] = overdue_commitments([_crew()], now, resolved_at=FRIDAY + timedelta(hours=4))
    assert not late.still_open and late.late_by == timedelta(hours=2)
    assert late.reason().text == "承诺2小时内到场，实际超时2小时"
    assert (
        apply_overdue("none", [_crew()], now, config, resolved_at=FRIDAY + timedelta(hours=4)).level == "none"
    )


def test_the_worst_open_commitment_names_the_reason():
    reply = Commitment("reply", FRIDAY, working_days_after(FRIDAY, 3), "三个工作日内答复", "GD2", 3)
    now = datetime(2026, 12, 3, 14, 10, tzinfo=SH)
    verdict = apply_overdue("none", [reply, _crew()], now, load_risk_config())
    assert verdict.reasons[0].text.startswith("承诺2小时内到场，已超时")
    assert len(verdict.overdue) == 2
    assert commitment_features([reply, _crew()], now)["commitments_overdue"] == 2


def test_the_orange_factor_is_configuration():
    strict = load_risk_config({"overdue_orange_factor": 10.0})
    assert apply_overdue("none", [_crew()], FRIDAY + timedelta(hours=7), strict).level == "yellow"
