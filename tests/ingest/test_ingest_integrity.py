"""Issue 12: every input row is stored once or quarantined with its own id and reason; what storage
cannot hold is cleaned or quarantined at ingest; a bad file is quarantined whole, the rest goes on."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from pipeline.ingest import IngestError, read_export
from pipeline.records import EXPORT_FIELDS, SHANGHAI

from .conftest import make_row, write_csv, write_jsonl


def _csv_line(row: dict) -> str:
    import csv
    import io

    buf = io.StringIO()
    csv.writer(buf).writerow([row[k] for k in EXPORT_FIELDS])
    return buf.getvalue()


def _accounted(result) -> list[str | None]:
    return sorted([r.call_id for r in result.records] + [q.call_id or "" for q in result.quarantined])


def test_unbalanced_quote_does_not_swallow_the_next_record(tmp_path):
    path = write_csv(tmp_path / "c.csv", [make_row("A")])
    broken = _csv_line(make_row("B")).rstrip("\r\n")
    broken = broken[: broken.rindex('"')]  # the closing quote of the transcript is lost
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write(broken + "\r\n")
        fh.write(_csv_line(make_row("C")))
        fh.write(_csv_line(make_row("D")))
    result = read_export(path)
    assert [r.call_id for r in result.records] == ["A", "C", "D"]
    (bad,) = result.quarantined
    assert (bad.call_id, bad.row_number, bad.reason_code) == ("B", 2, "bad_csv_quote")
    assert result.rows_read == 4
    assert "坐席" not in result.records[1].call_id


def test_unbalanced_quote_in_a_middle_column_keeps_every_id(tmp_path):
    path = write_csv(tmp_path / "c.csv", [make_row("A")])
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write('B,2026-11-27 19:05:00,0531234567,138****5678,"大理供电局,上关镇,phone,185,客户：停电了\r\n')
        fh.write(_csv_line(make_row("C")))
    result = read_export(path)
    assert _accounted(result) == ["A", "B", "C"]
    assert result.rows_read == 3


def test_multiline_transcripts_that_look_like_rows_only_when_they_are(tmp_path):
    text = "坐席：请讲。\n客户：我这边2026-11-27那天, 停电了\n坐席：好的"
    result = read_export(write_csv(tmp_path / "c.csv", [make_row("A", transcript=text), make_row("B")]))
    assert [r.transcript for r in result.records][0] == text
    assert not result.quarantined


def test_undecodable_control_line_is_quarantined_not_the_file(tmp_path):
    path = write_csv(tmp_path / "c.csv", [make_row("A")])
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write('B,2026-11-27 19:05:00,,138****5678,大理供电局,x\ry,phone,5,"客户：停电"\n')
        fh.write(_csv_line(make_row("C")))
    result = read_export(path)
    assert "A" in _accounted(result) and "C" in _accounted(result)
    assert result.rows_read == len(result.records) + len(result.quarantined)


# -- item 4: what storage cannot hold is cleaned or quarantined at ingest ------------------------


def test_nul_and_control_characters_are_cleaned_from_free_text(tmp_path):
    rows = [make_row("A", transcript="客户：停电\x00了\x07", area="上关镇\x00河尾村")]
    (record,) = read_export(write_jsonl(tmp_path / "c.jsonl", rows)).records
    assert record.transcript == "客户：停电了"
    assert record.area == "上关镇河尾村"


@pytest.mark.parametrize(
    ("field", "value"),
    [("call_id", "A\x00B"), ("phone", "138\x00"), ("unit", "大理\x1b供电局"), ("call_id", "X\ud800")],
)
def test_control_characters_in_identifiers_quarantine_the_row(tmp_path, field, value):
    rows = [make_row("OK"), {**make_row("BAD"), field: value}]
    path = tmp_path / "c.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    result = read_export(path)
    assert [r.call_id for r in result.records] == ["OK"]
    assert result.quarantined[0].reason_code == "bad_characters"


@pytest.mark.parametrize(
    ("field", "length"), [("call_id", 65), ("unit", 101), ("area", 201), ("customer_id", 65), ("phone", 65)]
)
def test_fields_longer_than_their_column_are_quarantined(tmp_path, field, length):
    rows = [make_row("OK"), {**make_row("BAD"), field: "9" * length}]
    result = read_export(write_csv(tmp_path / "c.csv", rows))
    assert [r.call_id for r in result.records] == ["OK"]
    assert result.quarantined[0].reason_code == "field_too_long"
    assert field in result.quarantined[0].reason


# -- item 5: dates outside a plausible window ----------------------------------------------------


@pytest.mark.parametrize("value", ["0001-01-01 00:00:00", "9999-12-31 23:59:59", "2099-01-01 10:00:00"])
def test_implausible_call_times_are_quarantined(tmp_path, value):
    rows = [make_row("OK"), make_row("BAD", call_time=value)]
    result = read_export(write_csv(tmp_path / "c.csv", rows))
    assert [r.call_id for r in result.records] == ["OK"]
    assert result.quarantined[0].reason_code == "implausible_time"


def test_escalation_time_far_outside_the_window_is_quarantined(tmp_path):
    rows = [make_row("BAD", escalated_12398="true", escalated_at="9999-12-31 00:00:00")]
    result = read_export(write_csv(tmp_path / "c.csv", rows))
    assert result.quarantined[0].reason_code == "implausible_time"


def test_a_call_yesterday_is_plausible(tmp_path):
    when = (datetime.now(SHANGHAI) - timedelta(days=1)).strftime("%Y-%m-%d %H:%M:%S")
    assert read_export(write_csv(tmp_path / "c.csv", [make_row("A", call_time=when)])).accepted == 1


# -- item 6: a bad file is quarantined whole; unknown files reported; unknown channels kept ----


def test_a_bad_file_in_a_folder_is_quarantined_whole_and_the_rest_goes_on(tmp_path):
    write_csv(tmp_path / "a.csv", [make_row("A1"), make_row("A2")])
    (tmp_path / "b.csv").write_bytes(b"call_id,transcript\n" + bytes([0x81, 0x30, 0xFF, 0xFF, 0x80]) * 20)
    (tmp_path / "late.csv").write_text("call_id,call_time,phone,unit,transcript\n", encoding="utf-8")
    (tmp_path / "labels.csv").write_bytes(b"")
    result = read_export(tmp_path)
    assert [r.call_id for r in result.records] == ["A1", "A2"]
    bad = {Path(b.source).name: b.reason_code for b in result.bad_files}
    assert bad == {"b.csv": "bad_encoding", "late.csv": "no_data_rows", "labels.csv": "empty_file"}
    whole = [q for q in result.quarantined if q.row_number == 0]
    assert sorted(Path(q.source).name for q in whole) == ["b.csv", "labels.csv", "late.csv"]


def test_a_single_bad_file_still_fails_with_one_line(tmp_path):
    (tmp_path / "late.csv").write_text("call_id,call_time,phone,unit,transcript\n", encoding="utf-8")
    with pytest.raises(IngestError, match="没有数据行"):
        read_export(tmp_path / "late.csv")


def test_unknown_files_are_reported_not_skipped_silently(tmp_path):
    write_csv(tmp_path / "a.csv", [make_row("A1")])
    (tmp_path / "more.xlsx").write_bytes(b"PK\x03\x04")
    (tmp_path / "note.txt").write_text("x", encoding="utf-8")
    result = read_export(tmp_path)
    assert sorted(p.name for p in result.unknown_files) == ["more.xlsx", "note.txt"]
    assert result.accepted == 1


@pytest.mark.parametrize("channel", ["12398", "12345转办", "信函", "短信"])
def test_unknown_channel_values_are_kept_and_counted(tmp_path, channel):
    rows = [make_row("A", channel=channel), make_row("B", channel="微信")]
    result = read_export(write_csv(tmp_path / "c.csv", rows))
    assert [(r.call_id, r.channel) for r in result.records] == [("A", channel), ("B", "wechat")]
    assert result.unknown_channels == {channel: 1}


# -- item 3: parquet values are checked, not coerced ---------------------------------------------


def test_parquet_binary_transcript_is_quarantined_not_read_as_bytes_repr(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    good, bad = make_row("A"), make_row("B")
    table = pa.table(
        {
            **{k: [good[k], bad[k]] for k in EXPORT_FIELDS if k != "transcript"},
            "transcript": pa.array([good["transcript"].encode(), bad["transcript"].encode()], pa.binary()),
        }
    )
    pq.write_table(table, tmp_path / "c.parquet")
    result = read_export(tmp_path / "c.parquet")
    assert not any(r.transcript.startswith("b'") for r in result.records)
    assert {q.reason_code for q in result.quarantined} == {"bad_type"}
    assert result.rows_read == 2 and not result.records


def test_parquet_int64_account_numbers_are_quarantined_not_stripped_of_their_zero(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    row = make_row("A")
    table = pa.table(
        {
            **{k: [row[k]] for k in EXPORT_FIELDS if k != "customer_id"},
            "customer_id": pa.array([531234567], pa.int64()),
        }
    )
    pq.write_table(table, tmp_path / "c.parquet")
    result = read_export(tmp_path / "c.parquet")
    assert not result.records
    (bad,) = result.quarantined
    assert bad.reason_code == "bad_type" and "customer_id" in bad.reason


def test_parquet_string_account_numbers_keep_their_leading_zero(tmp_path):
    import pandas as pd

    pd.DataFrame([make_row("A", customer_id="0531234567")]).to_parquet(tmp_path / "c.parquet")
    (record,) = read_export(tmp_path / "c.parquet").records
    assert record.customer_id == "0531234567"


def test_a_quote_left_open_on_the_first_row_does_not_swallow_the_rest_of_the_file(tmp_path):
    path = tmp_path / "c.csv"
    rows = "".join(_csv_line(make_row(f"R{i}", transcript="客户：家里停电了")) for i in range(3))
    head = ",".join(EXPORT_FIELDS) + "\r\n"
    path.write_text(
        head + 'Q,2026-11-27 19:05:00,,138,局,村,phone,5,"客户：引号没关上\r\n' + rows, encoding="utf-8"
    )
    result = read_export(path)
    assert result.rows_read == 4
    assert [r.call_id for r in result.records] == ["R0", "R1", "R2"]
    assert result.quarantined[0].reason_code == "bad_csv_quote"


def test_a_transcript_line_with_a_comma_and_a_time_is_not_taken_for_a_new_record(tmp_path):
    text = "坐席：请讲。\n客户：停电时间,2026-11-27 19:05:00\n坐席：好的"
    result = read_export(write_csv(tmp_path / "c.csv", [make_row("A", transcript=text), make_row("B")]))
    assert [r.call_id for r in result.records] == ["A", "B"]
    assert result.records[0].transcript == text


def test_a_broken_row_before_a_row_with_a_multiline_middle_field_keeps_both(tmp_path):
    path = write_csv(tmp_path / "c.csv", [make_row("A")])
    with path.open("a", encoding="utf-8", newline="") as fh:
        fh.write('Q,2026-11-27 19:05:00,,138,局,村,phone,5,"客户：引号没关上\r\n')
        fh.write(_csv_line(make_row("B", phone="\n1\n")))
    result = read_export(path)
    assert result.rows_read == 3
    assert _accounted(result) == ["A", "B", "Q"]
