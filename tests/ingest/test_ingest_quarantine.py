"""Broken rows are quarantined with a reason and their raw content; the rest goes on."""

from __future__ import annotations

import csv
import json

import pytest

from pipeline.ingest import QuarantinedRow, read_export, write_quarantine
from pipeline.validation import REASONS, Limits

from .conftest import make_row, write_csv, write_jsonl

BROKEN = [
    ("missing_field", {"phone": ""}),
    ("missing_field", {"unit": "  "}),
    ("bad_call_time", {"call_time": "昨天晚上"}),
    ("bad_call_time", {"call_time": "2026-13-45 25:00"}),
    ("bad_duration", {"duration_s": "三分钟"}),
    ("bad_duration", {"duration_s": "-5"}),
    ("bad_duration", {"duration_s": "999999"}),
    ("bad_category", {"category": "billing"}),
    ("bad_escalated", {"escalated_12398": "maybe"}),
    ("bad_escalated_at", {"escalated_12398": "true", "escalated_at": "下周"}),
    ("empty_transcript", {"transcript": "   "}),
    ("empty_transcript", {"transcript": "坐席：\n客户： "}),
    ("transcript_too_long", {"transcript": "客户：停电" * 5000}),
]


@pytest.mark.parametrize(("code", "override"), BROKEN)
def test_each_broken_row_is_quarantined_with_its_reason(tmp_path, code, override):
    rows = [make_row("GOOD1"), make_row("BAD", **override), make_row("GOOD2")]
    result = read_export(write_csv(tmp_path / "c.csv", rows))
    assert [r.call_id for r in result.records] == ["GOOD1", "GOOD2"]
    (bad,) = result.quarantined
    assert bad.reason_code == code
    assert bad.reason.startswith(REASONS[code])
    assert bad.call_id == "BAD"
    assert bad.row_number == 2
    assert bad.raw["transcript"] == override.get("transcript", rows[1]["transcript"])


def test_transcript_limit_is_configurable(tmp_path):
    path = write_csv(tmp_path / "c.csv", [make_row("A", transcript="客户：" + "停电" * 100)])
    assert read_export(path).accepted == 1
    strict = read_export(path, limits=Limits(max_transcript_chars=50))
    assert strict.accepted == 0
    assert strict.quarantined[0].reason_code == "transcript_too_long"


def test_row_with_wrong_field_count_is_quarantined(tmp_path):
    path = write_csv(tmp_path / "c.csv", [make_row("A"), make_row("B")])
    with path.open("a", encoding="utf-8") as fh:
        fh.write("C,2026-11-27 19:05:00,only-three\n")
    result = read_export(path)
    assert result.accepted == 2
    (bad,) = result.quarantined
    assert (bad.reason_code, bad.row_number, bad.call_id) == ("bad_csv_row", 3, "C")
    assert "only-three" in bad.raw["_raw_line"]


def test_broken_json_line_is_quarantined(tmp_path):
    path = write_jsonl(tmp_path / "c.jsonl", [make_row("A")])
    with path.open("a", encoding="utf-8") as fh:
        fh.write('{"call_id": "B", "transcript": \n')
        fh.write("[1, 2]\n")
    result = read_export(path)
    assert result.accepted == 1
    assert [q.reason_code for q in result.quarantined] == ["bad_json", "bad_json"]
    assert [q.row_number for q in result.quarantined] == [2, 3]


def test_duplicates_within_file_keep_the_first(tmp_path):
    rows = [make_row("A", transcript="客户：第一次"), make_row("B"), make_row("A", transcript="客户：第二次")]
    result = read_export(write_csv(tmp_path / "c.csv", rows))
    assert [r.call_id for r in result.records] == ["A", "B"]
    assert result.records[0].transcript == "客户：第一次"
    assert result.duplicates == ["A"]
    assert result.quarantined[0].reason_code == "duplicate_call_id"
    assert result.quarantined[0].row_number == 3


def test_duplicates_across_nights_via_known_ids(tmp_path):
    night1 = read_export(write_csv(tmp_path / "n1.csv", [make_row("A"), make_row("B")]))
    known = {r.call_id for r in night1.records}
    night2 = read_export(write_csv(tmp_path / "n2.csv", [make_row("B"), make_row("C")]), known_call_ids=known)
    assert [r.call_id for r in night2.records] == ["C"]
    assert [(q.call_id, q.reason_code) for q in night2.quarantined] == [("B", "known_call_id")]


def test_duplicates_across_files_of_a_folder(tmp_path):
    write_csv(tmp_path / "a.csv", [make_row("A")])
    write_jsonl(tmp_path / "b.jsonl", [make_row("A"), make_row("B")])
    result = read_export(tmp_path)
    assert [r.call_id for r in result.records] == ["A", "B"]
    assert result.duplicates == ["A"]


def _quarantined() -> list[QuarantinedRow]:
    return [
        QuarantinedRow(
            2, "X1", "bad_channel", "渠道取值无效: fax", {"call_id": "X1", "channel": "fax"}, "c.csv"
        ),
        QuarantinedRow(5, None, "bad_json", "JSON 行无法解析", {"_raw_line": "{oops"}, "c.jsonl"),
    ]


def test_quarantine_writer_jsonl(tmp_path):
    path = write_quarantine(_quarantined(), tmp_path / "out" / "q.jsonl")
    items = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert [i["reason_code"] for i in items] == ["bad_channel", "bad_json"]
    assert items[0]["fields"]["channel"] == "fax"
    assert items[1]["fields"]["_raw_line"] == "{oops"


def test_quarantine_writer_csv(tmp_path):
    path = write_quarantine(_quarantined(), tmp_path / "q.csv")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["reason"] == "渠道取值无效: fax"
    assert rows[0]["raw_channel"] == "fax"
    assert rows[1]["call_id"] == ""
    assert rows[1]["raw__raw_line"] == "{oops"
