"""Slip lifecycle: dedup per problem, reopening, the status machine and its audit trail."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from pipeline.ledger import FilterError, export_row, list_slips
from pipeline.risk.config import load_risk_config
from pipeline.slips import (
    SlipActionError,
    SlipNotFoundError,
    allowed_actions,
    apply_action,
    get_slip,
    record_call,
)
from pipeline.storage import SlipEvent

SH = ZoneInfo("Asia/Shanghai")
NIGHT = date(2026, 11, 27)
CONFIG = load_risk_config({"reopen_days": 30})


def _issue(session, new_call, call_id="C1", **kw):
    call = new_call(call_id, **kw)
    session.add(call)
    slip = record_call(session, call, NIGHT, config=CONFIG, now=datetime(2026, 11, 28, 2, 0, tzinfo=UTC))
    session.commit()
    return slip


def _work_to_closure(session, slip_no):
    apply_action(session, slip_no, "acknowledge", "unit1", "已签收")
    apply_action(session, slip_no, "handle", "unit1", "已派抢修班组恢复供电")
    apply_action(session, slip_no, "callback", "center1", "客户认可", callback_result="满意")
    return apply_action(session, slip_no, "close", "unit1", "销号")


def test_first_call_issues_a_numbered_slip_with_actions(factory, new_call):
    with factory() as session:
        slip = _issue(session, new_call)
        assert slip.slip_no == "YJ20261127-0001"
        assert (slip.status, slip.level, slip.call_count) == ("issued", "yellow", 1)
        assert "电话回访" in slip.recommended_actions
        assert slip.due_at == datetime(2026, 11, 28, 2, 0, tzinfo=UTC) + timedelta(hours=72)
        second = _issue(session, new_call, "C2", customer="5300000002")
        assert second.slip_no == "YJ20261127-0002"


def test_no_slip_for_a_call_without_risk(factory, new_call):
    with factory() as session:
        assert _issue(session, new_call, level="none", score=0.01, reasons=[]) is None


def test_new_call_on_open_problem_updates_the_same_slip(factory, new_call):
    with factory() as session:
        slip = _issue(session, new_call)
        threat = [{"code": "threat_regulator", "text": "客户表示将向12398投诉", "weight": 0.9}]
        later = datetime(2026, 11, 27, 18, 0, tzinfo=SH)
        again = _issue(session, new_call, "C2", level="red", score=0.7, when=later, reasons=threat)
        assert again.id == slip.id
        assert (again.call_count, again.level) == (2, "red")
        assert [r["code"] for r in again.reasons] == ["threat_regulator", "repeat"]
        assert {sc.call.call_id for sc in again.calls} == {"C1", "C2"}
        assert again.score >= CONFIG.thresholds["red"]
        other_problem = _issue(session, new_call, "C3", category="voltage")
        assert other_problem.id != slip.id
        actions = [e.action for e in session.scalars(select(SlipEvent).where(SlipEvent.slip_id == slip.id))]
        assert actions == ["create", "new_call"]


def test_quiet_call_on_open_problem_still_joins_the_slip(factory, new_call):
    with factory() as session:
        slip = _issue(session, new_call)
        joined = _issue(session, new_call, "C2", level="none", score=0.01, reasons=[])
        assert joined.id == slip.id and joined.level == "yellow" and joined.call_count == 2


def test_call_after_closure_reopens_the_slip(factory, new_call):
    with factory() as session:
        slip = _issue(session, new_call)
        _work_to_closure(session, slip.slip_no)
        session.commit()
        closed_at = slip.closed_at
        reopened = _issue(
            session, new_call, "C2", level="none", reasons=[], when=closed_at + timedelta(days=3)
        )
        assert reopened.id == slip.id
        assert (reopened.status, reopened.reopen_count, reopened.closed_at) == ("issued", 1, None)
        assert reopened.callback_result is None
        assert reopened.level == "yellow"
        assert session.scalars(select(SlipEvent.action).order_by(SlipEvent.id)).all()[-1] == "reopen"


def test_call_long_after_closure_opens_a_new_slip(factory, new_call):
    with factory() as session:
        slip = _issue(session, new_call)
        _work_to_closure(session, slip.slip_no)
        session.commit()
        fresh = _issue(session, new_call, "C2", when=slip.closed_at + timedelta(days=90))
        assert fresh.id != slip.id and fresh.status == "issued"
        assert get_slip(session, slip.slip_no).status == "closed"


def test_full_status_machine_leaves_a_complete_audit_trail(factory, new_call):
    with factory() as session:
        slip = _issue(session, new_call)
        assert allowed_actions(slip) == ["acknowledge", "escalate", "assign", "false_alarm"]
        closed = _work_to_closure(session, slip.slip_no)
        session.commit()
        assert closed.status == "closed" and closed.closed_at is not None
        events = session.scalars(select(SlipEvent).where(SlipEvent.slip_id == slip.id).order_by(SlipEvent.id))
        trail = [(e.action, e.by, e.from_status, e.to_status) for e in events]
        assert trail == [
            ("create", "system", None, "issued"),
            ("acknowledge", "unit1", "issued", "acknowledged"),
            ("handle", "unit1", "acknowledged", "in_progress"),
            ("callback", "center1", "in_progress", "callback"),
            ("close", "unit1", "callback", "closed"),
        ]


@pytest.mark.parametrize(
    ("steps", "action", "kwargs", "message"),
    [
        ([], "handle", {"note": "处理"}, "请先签收"),
        ([], "close", {}, "不能销号"),
        ([("acknowledge", {})], "callback", {"callback_result": "满意"}, "不能回访"),
        ([("acknowledge", {})], "handle", {"note": "  "}, "必须填写处理说明"),
        (
            [("acknowledge", {}), ("handle", {"note": "修好"})],
            "callback",
            {"callback_result": "还行"},
            "回访结果须为",
        ),
        ([], "archive", {}, "未知操作"),
    ],
)
def test_illegal_transitions_are_refused_in_chinese(factory, new_call, steps, action, kwargs, message):
    with factory() as session:
        slip = _issue(session, new_call)
        for step, extra in steps:
            apply_action(session, slip.slip_no, step, "u", extra.get("note"), extra.get("callback_result"))
        session.commit()
        before = slip.status
        with pytest.raises(SlipActionError, match=message):
            apply_action(
                session, slip.slip_no, action, "u", kwargs.get("note"), kwargs.get("callback_result")
            )
        session.rollback()
        assert get_slip(session, slip.slip_no).status == before


def test_unsatisfied_callback_keeps_slip_open_and_raises_it(factory, new_call):
    with factory() as session:
        slip = _issue(session, new_call)
        apply_action(session, slip.slip_no, "acknowledge", "u", None)
        apply_action(session, slip.slip_no, "handle", "u", "已更换保险")
        after = apply_action(session, slip.slip_no, "callback", "c", "客户说还是停", callback_result="不满意")
        assert (after.status, after.level) == ("in_progress", "orange")
        assert after.score >= CONFIG.thresholds["orange"]
        assert after.reasons[0]["code"] == "unsatisfied_callback"
        with pytest.raises(SlipActionError, match="满意或基本满意"):
            apply_action(session, slip.slip_no, "close", "u", None)


def test_escalate_marks_supervised_and_raises_level_once(factory, new_call):
    with factory() as session:
        slip = _issue(session, new_call, level="orange", score=0.4)
        escalated = apply_action(session, slip.slip_no, "escalate", "province1", "多次来电，提级督办")
        assert (escalated.supervised, escalated.level, escalated.status) == (True, "red", "issued")
        assert escalated.recommended_actions[0] == "提级督办"
        with pytest.raises(SlipActionError, match="已提级督办"):
            apply_action(session, slip.slip_no, "escalate", "province1", None)


def test_closed_slip_refuses_actions_and_unknown_slip_is_reported(factory, new_call):
    with factory() as session:
        slip = _issue(session, new_call)
        _work_to_closure(session, slip.slip_no)
        with pytest.raises(SlipActionError, match="已销号"):
            apply_action(session, slip.slip_no, "acknowledge", "u", None)
        with pytest.raises(SlipNotFoundError, match="不存在"):
            get_slip(session, "YJ20990101-0001")


def test_second_person_acting_on_a_stale_page_gets_a_clear_refusal(factory, new_call):
    with factory() as session:
        slip_no = _issue(session, new_call).slip_no
    first, second = factory(), factory()
    try:
        assert get_slip(second, slip_no).status == "issued"
        apply_action(first, slip_no, "acknowledge", "a", None)
        first.commit()
        with pytest.raises(SlipActionError, match="当前状态为已签收，不能签收"):
            apply_action(second, slip_no, "acknowledge", "b", None)
    finally:
        first.close()
        second.close()


def test_list_filters_pages_and_orders_by_severity(factory, new_call):
    with factory() as session:
        for i, level in enumerate(["yellow", "red", "orange", "yellow"]):
            _issue(session, new_call, f"C{i}", customer=f"53000000{i:02d}", level=level, score=0.5)
        page = list_slips(session, {"level": ["yellow", "red"]}, page=1, per_page=2)
        assert page.total == 3 and page.pages == 2
        assert [s.level for s in page.items] == ["red", "yellow"]
        assert list_slips(session, {"status": "closed"}).total == 0
        late = datetime(2027, 1, 1, tzinfo=UTC)
        assert list_slips(session, {"status": "overdue"}, now=late).total == 4
        with pytest.raises(FilterError, match="未知筛选条件"):
            list_slips(session, {"colour": "red"})
        row = export_row(page.items[0])
        assert row["预警等级"] == "红色" and row["状态"] == "已下发" and "****" in row["客户"]


def test_two_people_acting_at_the_same_moment_never_both_win(factory, new_call):
    with factory() as session:
        slip_no = _issue(session, new_call).slip_no
    barrier = threading.Barrier(2)
    outcomes: list[str] = []

    def act(user: str) -> None:
        with factory() as session:
            get_slip(session, slip_no)
            barrier.wait(timeout=10)
            try:
                apply_action(session, slip_no, "acknowledge", user, None)
                session.commit()
                outcomes.append("ok")
            except SlipActionError as exc:
                session.rollback()
                outcomes.append(str(exc))

    threads = [threading.Thread(target=act, args=(name,)) for name in ("a", "b")]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2 and outcomes.count("ok") == 1, outcomes
    with factory() as session:
        events = session.scalars(select(SlipEvent.action).where(SlipEvent.action == "acknowledge")).all()
        assert events == ["acknowledge"]
