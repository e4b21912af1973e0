"""Issue 12 items 4, 5 and 10 on every database: what validate accepts, storage holds; what storage
cannot hold is cleaned or quarantined at ingest, named by its row; the count identity holds."""

from __future__ import annotations

import csv
import json

from sqlalchemy import func, select

from pipeline.counting import totals
from pipeline.records import EXPORT_FIELDS
from pipeline.risk.baseline import KeywordBaseline
from pipeline.scoring import score_export
from pipeline.storage import Call, QuarantinedRow, make_engine, session_factory


def _row(call_id: str, **over: str) -> dict[str, str]:
    row = {
        "call_id": call_id,
        "call_time": "2026-11-27 19:05:00",
        "customer_id": "0531234567",
        "phone": "13812345678",
        "unit": "大理供电局",
        "area": "上关镇河尾村",
        "channel": "phone",
        "duration_s": "120",
        "transcript": "客户：家里停电了",
    }
    row.update(over)
    return row


def _jsonl(path, rows) -> None:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")


def _stored(db_url: str) -> tuple[dict[str, Call], list[QuarantinedRow]]:
    engine = make_engine(db_url)
    with session_factory(engine)() as session:
        calls = {c.call_id: c for c in session.scalars(select(Call))}
        quarantined = list(session.scalars(select(QuarantinedRow)))
    engine.dispose()
    return calls, quarantined


def test_nul_bytes_and_control_characters_never_stop_the_night(db_url, tmp_path, keyword_classifier):
    export = tmp_path / "calls.jsonl"
    _jsonl(
        export,
        [
            _row("A", transcript="客户：停电\u0000了，电话13812345678"),
            _row("B\u0000X"),
            _row("C", unit="大理\u0000供电局"),
            _row("D", area="河尾村\u0000联系人13912345678"),
        ],
    )
    summary = score_export(export, db_url, keyword_classifier, KeywordBaseline())
    calls, quarantined = _stored(db_url)
    assert sorted(calls) == ["A", "D"]
    assert "\x00" not in calls["A"].transcript and "13812345678" not in calls["A"].transcript
    assert calls["D"].area is not None and "13912345678" not in calls["D"].area
    assert sorted(q.reason_code for q in quarantined) == ["bad_characters", "bad_characters"]
    assert all("\x00" not in json.dumps(q.raw) + (q.call_id or "") + q.reason for q in quarantined)
    assert totals(summary.files).holds()


def test_over_long_fields_are_quarantined_by_row_not_by_a_traceback(db_url, tmp_path, keyword_classifier):
    export = tmp_path / "calls.csv"
    rows = [_row("OK"), _row("X" * 80), _row("U", unit="局" * 150), _row("P", phone="1" * 80)]
    with export.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(EXPORT_FIELDS))
        writer.writeheader()
        writer.writerows(rows)
    summary = score_export(export, db_url, keyword_classifier, KeywordBaseline())
    calls, quarantined = _stored(db_url)
    assert sorted(calls) == ["OK"]
    assert sorted(q.row_number for q in quarantined) == [2, 3, 4]
    assert {q.reason_code for q in quarantined} == {"field_too_long"}
    assert all(q.call_id is None or len(q.call_id) <= 64 for q in quarantined)
    assert summary.quarantined == 3 and totals(summary.files).holds()


def test_implausible_dates_never_reach_scoring(db_url, tmp_path, keyword_classifier):
    export = tmp_path / "calls.csv"
    rows = [
        _row("OK"),
        _row("Y1", call_time="0001-01-01 00:00:00"),
        _row("Y9", call_time="9999-12-31 23:59:59"),
        _row("Y2", call_time="2099-01-01 08:00:00"),
    ]
    with export.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(EXPORT_FIELDS))
        writer.writeheader()
        writer.writerows(rows)
    summary = score_export(export, db_url, keyword_classifier, KeywordBaseline())
    calls, quarantined = _stored(db_url)
    assert sorted(calls) == ["OK"]
    assert sorted(q.call_id for q in quarantined) == ["Y1", "Y2", "Y9"]
    assert [n.year for n in summary.nights] == [2026]


def test_unknown_channels_are_stored_as_given_and_counted(db_url, tmp_path, keyword_classifier):
    export = tmp_path / "calls.jsonl"
    _jsonl(export, [_row("A", channel="12398转办"), _row("B", channel="信函"), _row("C", channel="微信")])
    summary = score_export(export, db_url, keyword_classifier, KeywordBaseline())
    calls, _ = _stored(db_url)
    assert {k: c.channel for k, c in calls.items()} == {"A": "12398转办", "B": "信函", "C": "wechat"}
    assert summary.unknown_channels == {"12398转办": 1, "信函": 1}
    engine = make_engine(db_url)
    with engine.connect() as conn:
        assert conn.execute(select(func.count(Call.id))).scalar_one() == 3
    engine.dispose()
