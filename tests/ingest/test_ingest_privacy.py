"""Issue 12 item 9: quarantine files keep only what an operator needs to fix a row, masked, mode 0600."""

from __future__ import annotations

import csv
import json
import stat

from pipeline.ingest import read_export, write_quarantine

from .conftest import make_row, write_csv

PHONE = "13912345678"
ID_NUMBER = "532901199001011234"


def _broken(tmp_path):
    rows = [
        make_row(
            "Q1",
            phone=PHONE,
            customer_id="0531234567",
            call_time="昨天",
            transcript=f"客户：我身份证{ID_NUMBER}，电话{PHONE}，" + "停电" * 200,
            secret_column="身份证" + ID_NUMBER,
        ),
        make_row("Q2", phone=PHONE, unit=""),
    ]
    return read_export(write_csv(tmp_path / "c.csv", rows))


def test_quarantine_jsonl_holds_no_phone_or_id_and_only_operator_fields(tmp_path):
    result = _broken(tmp_path)
    path = write_quarantine(result.quarantined, tmp_path / "q" / "q.jsonl")
    text = path.read_text(encoding="utf-8")
    assert PHONE not in text and ID_NUMBER not in text and "0531234567" not in text
    items = [json.loads(line) for line in text.splitlines()]
    assert [i["call_id"] for i in items] == ["Q1", "Q2"]
    assert [i["reason_code"] for i in items] == ["bad_call_time", "missing_field"]
    assert "secret_column" not in items[0]["fields"]
    assert len(items[0]["fields"]["transcript"]) <= 120
    assert items[0]["fields"]["call_time"] == "昨天"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600


def test_quarantine_csv_is_masked_and_private(tmp_path):
    result = _broken(tmp_path)
    path = write_quarantine(result.quarantined, tmp_path / "q.csv")
    with path.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert rows[0]["raw_phone"] == "139****5678"
    assert rows[0]["raw_customer_id"] == "******4567"
    assert PHONE not in path.read_text(encoding="utf-8-sig")
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
