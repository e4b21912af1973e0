"""The scoring path end to end on a real database: history across nights, slips, idempotent rescoring."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import func, select

from pipeline.risk.baseline import KeywordBaseline
from pipeline.scoring import assess_and_store, classify_records, score_export
from pipeline.storage import Call, QuarantinedRow, Slip, SlipEvent

SH = ZoneInfo("Asia/Shanghai")
NIGHT1 = datetime(2026, 11, 25, 9, 0, tzinfo=SH)


def _counts(factory):
    with factory() as session:
        return tuple(session.scalar(select(func.count()).select_from(t)) for t in (Call, Slip, SlipEvent))


def test_third_call_on_a_problem_across_nights_issues_a_yellow_slip(factory, new_record, tiny_classifier):
    model = KeywordBaseline()
    first = new_record("N1-1", "客户：家里停电了", when=NIGHT1, phone="13900000001")
    second = new_record("N2-1", "客户：家里还是停电", when=NIGHT1 + timedelta(days=1), phone="13900000001")
    third = new_record("N3-1", "客户：又停电了，问一下", when=NIGHT1 + timedelta(days=2), phone="13900000001")
    results = []
    for record in (first, second, third):
        classified = classify_records([record], tiny_classifier)
        assert classified[0].category == "outage"
        results += assess_and_store(factory, classified, model, None)
    assert [r.risk_level for r in results[:2]] == ["none", "none"]
    assert results[2].risk_level == "yellow"
    assert "同一问题30天内第3次来电（首次来电已过2天）" in results[2].reasons
    assert results[2].slip_no == "YJ20261127-0001"
    with factory() as session:
        call = session.scalars(select(Call).where(Call.call_id == "N3-1")).one()
        assert call.customer_key != "13900000001" and "13900000001" not in call.customer_masked
        assert call.risk_model_version == "keyword-baseline"
        assert call.classifier_version == "tiny-classifier/1"


def test_rescoring_the_same_night_changes_nothing(factory, new_record, tiny_classifier):
    records = [
        new_record(
            f"W{i}",
            "客户：我们全村都停电了，说好来修到现在没来",
            when=NIGHT1 + timedelta(minutes=i),
            phone=f"1370000000{i}",
        )
        for i in range(5)
    ] + [new_record("T1", "客户：再不来电我就打12398投诉", when=NIGHT1, phone="13600000000", area="别的村")]
    classified = classify_records(records, tiny_classifier)
    first = assess_and_store(factory, classified, KeywordBaseline(), None)
    counts = _counts(factory)
    assert counts[0] == 6 and counts[1] >= 2
    wide = next(r for r in first if r.call_id == "W0")
    assert "上关镇河尾村当晚5户来电反映停电" in wide.reasons
    assert next(r for r in first if r.call_id == "T1").reasons[0] == "客户表示将向12398投诉"
    again = assess_and_store(factory, classified, KeywordBaseline(), None)
    assert [r.to_dict() for r in again] == [r.to_dict() for r in first]
    assert _counts(factory) == counts


def test_calls_of_one_customer_in_one_input_join_one_slip(factory, new_record, tiny_classifier):
    records = [
        new_record(
            f"S{i}", "客户：停电了，快点来修！！", when=NIGHT1 + timedelta(hours=i), customer_id="5300998877"
        )
        for i in range(4)
    ]
    scored = assess_and_store(factory, classify_records(records, tiny_classifier), KeywordBaseline(), None)
    slips = {s.slip_no for s in scored if s.slip_no}
    assert len(slips) == 1
    with factory() as session:
        slip = session.scalars(select(Slip)).one()
        assert scored[0].slip_no is None and scored[1].slip_no == slip.slip_no
        assert slip.call_count == 3 and slip.customer_masked == "******8877"


def _write_csv(path, rows):
    with path.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(
            fh, fieldnames=["call_id", "call_time", "phone", "unit", "area", "transcript"]
        )
        writer.writeheader()
        writer.writerows(rows)


def test_score_export_writes_output_and_quarantines_bad_rows(db_url, tmp_path, tiny_classifier):
    export = tmp_path / "calls.csv"
    _write_csv(
        export,
        [
            {
                "call_id": "E1",
                "call_time": "2026-11-27T20:00:00",
                "phone": "13812345678",
                "unit": "大理供电局",
                "area": "河尾村",
                "transcript": "客户：停电了，我要打12398",
            },
            {
                "call_id": "E2",
                "call_time": "not a time",
                "phone": "13812345679",
                "unit": "大理供电局",
                "area": "河尾村",
                "transcript": "客户：停电了",
            },
        ],
    )
    out = tmp_path / "scored.jsonl"
    summary = score_export(export, db_url, tiny_classifier, KeywordBaseline(), out)
    assert summary.quarantined == 1 and len(summary.scored) == 1
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    assert list(lines[0])[:7] == [
        "call_id",
        "category",
        "confidence",
        "escalation_score",
        "risk_level",
        "reasons",
        "slip_no",
    ]
    assert lines[0]["risk_level"] == "orange" and lines[0]["slip_no"].startswith("YJ20261127-")
    again = score_export(export, db_url, tiny_classifier, KeywordBaseline(), None)
    assert again.already_stored == 1
    from pipeline.storage import make_engine, session_factory

    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        rows = session.scalars(select(QuarantinedRow)).all()
        assert len(rows) == 1 and rows[0].raw["phone"] == "138****5679"
    engine.dispose()


def test_calm_call_joins_an_open_slip_and_skips_the_lookup_without_one(factory, new_call):
    from datetime import UTC, datetime

    from sqlalchemy import event

    from pipeline.features import History
    from pipeline.risk.config import load_risk_config
    from pipeline.scoring import _attach, slip_state

    config = load_risk_config({})
    now = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)
    history = History(config)
    with factory() as session:
        first = new_call("A1")
        session.add(first)
        slip = _attach(session, first, history, config, now)
        session.commit()
        assert slip is not None and slip.call_count == 1
        history.set_slip(slip.problem_id, slip_state(slip))

        calm = new_call("A2", level="none", score=0.01, reasons=[])
        session.add(calm)
        assert _attach(session, calm, history, config, now) is slip
        session.commit()
        assert slip.call_count == 2 and calm.slip is slip

        statements: list[str] = []
        engine = session.get_bind()
        listener = lambda *args: statements.append(str(args[2]))  # noqa: E731
        event.listen(engine, "before_cursor_execute", listener)
        try:
            other = new_call("B1", customer="5300000009", level="none", score=0.01, reasons=[])
            session.add(other)
            assert _attach(session, other, history, config, now) is None
        finally:
            event.remove(engine, "before_cursor_execute", listener)
        assert not any("slips" in s for s in statements)
