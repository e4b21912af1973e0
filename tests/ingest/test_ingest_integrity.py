"""Issue 12: every input row is stored once or quarantined with its own id and reason; what storage
cannot hold is cleaned or quarantined at ingest; a bad file is quarantined whole, the rest goes on."""

from __future__ import annotations

from pipeline.ingest import read_export
from pipeline.records import EXPORT_FIELDS

from .conftest import make_row, write_csv


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
