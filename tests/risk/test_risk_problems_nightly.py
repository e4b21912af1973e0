"""Identity, problems, promises and nightly re-scoring wired into the one scoring path (issue 11)."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np
from sqlalchemy import func, select

from models.types import Prediction
from pipeline.risk.baseline import KeywordBaseline
from pipeline.scoring import assess_and_store, classify_records
from pipeline.scoring.store import Rescored
from pipeline.storage import Call, Slip, SlipEvent

SH = ZoneInfo("Asia/Shanghai")
NIGHT1 = datetime(2026, 11, 25, 9, 0, tzinfo=SH)


class FixedClassifier:
    """Returns the probabilities given per call text (a misclassification on demand)."""

    version = "fixed/1"

    def __init__(self, table: dict[str, dict[str, float]]) -> None:
        self.table = table

    def predict(self, transcripts):
        out = []
        for text in transcripts:
            probs = self.table.get(
                text,
                {
                    "outage": 0.9,
                    "voltage": 0.025,
                    "meter_billing": 0.025,
                    "connection": 0.025,
                    "other": 0.025,
                },
            )
            top = max(probs, key=probs.__getitem__)
            out.append(Prediction(top, probs[top], probs, False))
        return out


class RescoreModel:
    """Low for calls; ``quiet`` for problems re-scored on a night with no call about them."""

    version = "rescore-stub/1"

    def __init__(self, quiet: float, call: float = 0.01) -> None:
        self.quiet, self.call = quiet, call

    def predict_proba(self, features):
        return np.where(features["rescore"].to_numpy() > 0, self.quiet, self.call)


def _night(factory, records, classifier, model, rescored=None):
    return assess_and_store(factory, classify_records(records, classifier), model, None, rescored=rescored)


def test_a_caller_who_switches_phones_keeps_their_history(factory, new_record, tiny_classifier):
    account = "0628425360"
    calls = [
        new_record("P1", "客户：家里停电了", when=NIGHT1, phone="13900000001", customer_id=account),
        new_record(
            "P2",
            "客户：家里还是停电",
            when=NIGHT1 + timedelta(days=1),
            phone="13700000002",
            customer_id=account,
        ),
        new_record("P3", "客户：又停电了，问一下", when=NIGHT1 + timedelta(days=2), phone="13700000002"),
    ]
    results = []
    for record in calls:
        results += _night(factory, [record], tiny_classifier, KeywordBaseline())
    assert results[2].risk_level == "yellow", "third call on the problem, though from a new phone, no account"
    assert any("第3次来电" in r for r in results[2].reasons)
    with factory() as session:
        keys = set(session.scalars(select(Call.customer_key)))
        problems = set(session.scalars(select(Call.problem_id)))
    assert len(keys) == 1 and problems == {"P1"}


def test_a_misclassified_call_joins_its_problem_and_its_slip(factory, new_record):
    wrong = "客户：还是那个事，灯一闪一闪的，昨天说过了，我要打12398"
    classifier = FixedClassifier(
        {wrong: {"voltage": 0.55, "outage": 0.4, "meter_billing": 0.02, "connection": 0.02, "other": 0.01}}
    )
    first = new_record("M1", "客户：停电了，我要打12398投诉", when=NIGHT1, phone="13900000009")
    second = new_record("M2", wrong, when=NIGHT1 + timedelta(days=1), phone="13900000009")
    one = _night(factory, [first], classifier, KeywordBaseline())
    two = _night(factory, [second], classifier, KeywordBaseline())
    assert one[0].slip_no is not None and two[0].slip_no == one[0].slip_no
    assert two[0].category == "voltage"
    with factory() as session:
        slips = session.scalars(select(Slip)).all()
        assert len(slips) == 1 and slips[0].category == "outage" and slips[0].call_count == 2
        assert slips[0].problem_id == "M1"


def test_an_overdue_promise_raises_a_problem_nobody_called_about(factory, new_record, tiny_classifier):
    angry = new_record(
        "O1",
        "坐席：已经给您派单了，抢修人员两小时内到场\n客户：太过分了，停电一上午了",
        when=NIGHT1,
        phone="13900000011",
    )
    model = RescoreModel(quiet=0.01)
    first = _night(factory, [angry], tiny_classifier, model)
    assert first[0].risk_level == "none" and first[0].slip_no is None
    other = new_record(
        "X1", "客户：电费怎么这么高", when=NIGHT1 + timedelta(days=1), phone="13600000001", area="别的村"
    )
    rescored: list[Rescored] = []
    _night(factory, [other], tiny_classifier, model, rescored)
    quiet = next(r for r in rescored if r.problem_id == "O1")
    assert quiet.risk_level == "orange", "late by more than its own promised span"
    assert quiet.slip_no is not None
    assert any("承诺2小时内到场" in text and "已超时" in text for text in quiet.reasons)
    with factory() as session:
        slip = session.scalars(select(Slip).where(Slip.slip_no == quiet.slip_no)).one()
        assert slip.reasons and slip.problem_id == "O1" and [c.call_id for c in slip.primary_calls] == ["O1"]
        assert session.scalars(select(SlipEvent.action).where(SlipEvent.slip_id == slip.id)).all() == [
            "rescore"
        ]


def test_a_quiet_problem_is_rescored_by_the_model_and_a_rerun_changes_nothing(
    factory, new_record, tiny_classifier
):
    threat = new_record("Q1", "客户：停电了，再不修我就打12398", when=NIGHT1, phone="13900000021")
    _night(factory, [threat], tiny_classifier, RescoreModel(quiet=0.01))
    with factory() as session:
        slip = session.scalars(select(Slip)).one()
        assert slip.level == "yellow"
    night2 = [
        new_record(
            "Y1", "客户：电费怎么这么高", when=NIGHT1 + timedelta(days=1), phone="13600000002", area="别的村"
        )
    ]
    rescored: list[Rescored] = []
    _night(factory, night2, tiny_classifier, RescoreModel(quiet=0.97), rescored)
    quiet = next(r for r in rescored if r.problem_id == "Q1")
    assert quiet.risk_level == "red" and quiet.reasons, "no level without a reason"
    assert "客户此前来电曾表示将向12398投诉" in quiet.reasons
    with factory() as session:
        slip = session.scalars(select(Slip)).one()
        assert slip.level == "red"
        events = session.scalar(select(func.count()).select_from(SlipEvent))
    _night(factory, night2, tiny_classifier, RescoreModel(quiet=0.97))
    with factory() as session:
        assert session.scalar(select(func.count()).select_from(SlipEvent)) == events


def test_the_model_gets_an_alert_budget_per_unit_and_the_rules_are_never_cut(
    factory, new_record, tiny_classifier
):
    records = [
        new_record(
            f"B{i}",
            "客户：家里停电了",
            when=NIGHT1 + timedelta(minutes=i),
            phone=f"1350000000{i}",
            area=f"{i}号村",
        )
        for i in range(6)
    ] + [new_record("BT", "客户：停电了我要打12398", when=NIGHT1, phone="13400000000", area="七号村")]
    results = _night(factory, records, tiny_classifier, RescoreModel(quiet=0.0, call=0.9))
    levels = {r.call_id: r.risk_level for r in results}
    model_only = [cid for cid, level in levels.items() if cid != "BT" and level != "none"]
    assert len(model_only) == 1, "80 per 1,000 of 7 calls rounds up to one model slip for the unit"
    assert levels["BT"] != "none"


def test_a_second_call_and_a_past_due_promise_alone_force_no_slip(factory, new_record, tiny_classifier):
    """Most customers who call back about a crew and then fall silent had it fixed."""
    promise = "坐席：抢修人员两小时内到场\n客户：好的，家里停电了"
    calls = [
        new_record("S1", promise, when=NIGHT1, phone="13900000031"),
        new_record("S2", promise, when=NIGHT1 + timedelta(hours=1), phone="13900000031"),
    ]
    model = RescoreModel(quiet=0.01)
    _night(factory, calls, tiny_classifier, model)
    rescored: list[Rescored] = []
    other = new_record(
        "Z1", "客户：电费怎么这么高", when=NIGHT1 + timedelta(days=1), phone="13600000003", area="别的村"
    )
    _night(factory, [other], tiny_classifier, model, rescored)
    quiet = next(r for r in rescored if r.problem_id == "S1")
    assert quiet.risk_level == "none" and quiet.slip_no is None, quiet.reasons
