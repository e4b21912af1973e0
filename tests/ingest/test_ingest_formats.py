"""Every input format reads to the same records; encodings are detected."""

from __future__ import annotations

from datetime import datetime, timedelta

import pandas as pd
import pytest

from pipeline.ingest import read_export
from pipeline.records import SHANGHAI

from .conftest import make_row, write_csv, write_jsonl


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030", "gbk"])
def test_csv_encodings_are_detected(tmp_path, rows, encoding):
    path = write_csv(tmp_path / "calls.csv", rows, encoding=encoding)
    result = read_export(path)
    assert result.rows_read == 3
    assert [r.call_id for r in result.records] == ["C001", "C002", "C003"]
    assert result.records[1].transcript == "我家电压太低，电饭锅煮不熟饭"
    assert result.records[0].unit == "大理供电局"
    assert result.records[1].channel == "wechat"


def test_bom_does_not_leak_into_first_column_name(tmp_path, rows):
    path = write_csv(tmp_path / "calls.csv", rows, encoding="utf-8-sig")
    assert path.read_bytes().startswith(b"\xef\xbb\xbf")
    result = read_export(path)
    assert not result.quarantined
    assert "\ufeffcall_id" not in result.records[0].extras


def test_jsonl_and_parquet_match_csv(tmp_path, rows):
    from_csv = read_export(write_csv(tmp_path / "a.csv", rows)).records
    from_jsonl = read_export(write_jsonl(tmp_path / "a.jsonl", rows)).records
    frame = pd.DataFrame(rows)
    frame["duration_s"] = frame["duration_s"].astype(int)
    frame.to_parquet(tmp_path / "a.parquet")
    from_parquet = read_export(tmp_path / "a.parquet").records
    assert from_csv == from_jsonl == from_parquet
    assert from_parquet[0].duration_s == 185


def test_parquet_native_timestamps_and_bools(tmp_path):
    naive = pd.DataFrame(
        [make_row("P1", call_time=pd.Timestamp("2026-11-27 08:00:00"), escalated_12398=True)]
    )
    aware = pd.DataFrame(
        [make_row("P2", call_time=pd.Timestamp("2026-11-27 08:00:00", tz="UTC"), escalated_12398=False)]
    )
    naive.to_parquet(tmp_path / "naive.parquet")
    aware.to_parquet(tmp_path / "aware.parquet")
    (first,) = read_export(tmp_path / "naive.parquet").records
    (second,) = read_export(tmp_path / "aware.parquet").records
    assert first.call_time == datetime(2026, 11, 27, 8, tzinfo=SHANGHAI)
    assert second.call_time.utcoffset() == timedelta(0)
    assert second.call_time.hour == 8
    assert (first.escalated_12398, second.escalated_12398) == (True, False)


def test_extra_columns_are_kept_in_extras(tmp_path):
    path = write_csv(tmp_path / "calls.csv", [make_row("C1", satisfaction="不满意", agent_id="A17")])
    record = read_export(path).records[0]
    assert record.extras == {"satisfaction": "不满意", "agent_id": "A17"}


def test_chinese_headers_are_mapped(tmp_path):
    row = make_row("C1")
    zh = {
        "工单编号": row["call_id"],
        "来电时间": row["call_time"],
        "来电号码": row["phone"],
        "供电单位": row["unit"],
        "通话内容": row["transcript"],
    }
    record = read_export(write_csv(tmp_path / "calls.csv", [zh], encoding="gb18030")).records[0]
    assert (record.call_id, record.unit) == ("C1", "大理供电局")


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("2026-11-27 19:05:00", datetime(2026, 11, 27, 19, 5, tzinfo=SHANGHAI)),
        ("2026-11-27T19:05:00", datetime(2026, 11, 27, 19, 5, tzinfo=SHANGHAI)),
        ("2026/11/27 19:05", datetime(2026, 11, 27, 19, 5, tzinfo=SHANGHAI)),
        ("2026年11月27日 19:05", datetime(2026, 11, 27, 19, 5, tzinfo=SHANGHAI)),
    ],
)
def test_naive_timestamps_are_shanghai(tmp_path, value, expected):
    record = read_export(write_csv(tmp_path / "c.csv", [make_row(call_time=value)])).records[0]
    assert record.call_time == expected
    assert record.call_time.utcoffset() == timedelta(hours=8)


def test_offsets_are_respected(tmp_path):
    path = write_csv(
        tmp_path / "c.csv",
        [
            make_row("A", call_time="2026-11-27T11:05:00Z"),
            make_row("B", call_time="2026-11-27T19:05:00+08:00"),
        ],
    )
    a, b = read_export(path).records
    assert a.call_time == b.call_time
    assert a.call_time.utcoffset() == timedelta(0)


def test_folder_reads_all_exports_and_joins_labels(tmp_path):
    night1 = tmp_path / "2026-11-26"
    night2 = tmp_path / "2026-11-27"
    night1.mkdir()
    night2.mkdir()
    write_csv(night1 / "calls.csv", [make_row("N1-1"), make_row("N1-2")])
    write_csv(
        night1 / "labels.csv",
        [
            {
                "call_id": "N1-1",
                "category": "outage",
                "escalated_12398": "true",
                "escalated_at": "2026-12-01 10:00:00",
                "problem_id": "P9",
            },
            {
                "call_id": "N1-2",
                "category": "voltage",
                "escalated_12398": "false",
                "escalated_at": "",
                "problem_id": "P8",
            },
        ],
    )
    write_jsonl(night2 / "calls.jsonl", [make_row("N2-1")])
    result = read_export(tmp_path)
    by_id = {r.call_id: r for r in result.records}
    assert set(by_id) == {"N1-1", "N1-2", "N2-1"}
    assert len(result.files) == 2
    assert by_id["N1-1"].category == "outage"
    assert by_id["N1-1"].escalated_12398 is True
    assert by_id["N1-1"].escalated_at == datetime(2026, 12, 1, 10, tzinfo=SHANGHAI)
    assert by_id["N1-2"].escalated_12398 is False
    assert by_id["N2-1"].category is None
    assert "problem_id" not in by_id["N1-1"].extras


def test_label_columns_in_the_export_itself(tmp_path):
    path = write_csv(tmp_path / "c.csv", [make_row(category="抄表收费", escalated_12398="是")])
    record = read_export(path).records[0]
    assert (record.category, record.escalated_12398) == ("meter_billing", True)


def test_empty_optional_fields_become_none_and_defaults(tmp_path):
    path = write_csv(tmp_path / "c.csv", [make_row(customer_id="", area="", channel="", duration_s="")])
    record = read_export(path).records[0]
    assert (record.customer_id, record.area, record.channel, record.duration_s) == (None, None, "phone", None)
    assert record.customer_key == "138****5678"


def test_multiline_transcripts_survive_csv(tmp_path, rows):
    record = read_export(write_csv(tmp_path / "c.csv", rows)).records[0]
    assert record.transcript.count("\n") == 1
