"""Issue 12 item 11: generated exports with broken rows, encodings, types and control characters;
on every database, every file's rows add up: read = stored + already stored + quarantined + duplicates.

``COMPLAINTS_PROPERTY_EXAMPLES`` sets the number of generated exports per database (default 200,
about 30 s per database on two cores); CI runs the default on SQLite and PostgreSQL.
"""

from __future__ import annotations

import csv
import io
import json
import os
import uuid
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from pipeline.counting import totals
from pipeline.records import EXPORT_FIELDS
from pipeline.risk.baseline import KeywordBaseline
from pipeline.scoring import score_export
from pipeline.storage import Call, QuarantinedRow, make_engine

EXAMPLES = int(os.environ.get("COMPLAINTS_PROPERTY_EXAMPLES", "200"))

NASTY = "\x00\x07\x1b\r\u2028\ufeff\ud800"
TEXT_CHARS = '停电电压户号客户坐席：，。a1 "\n' + NASTY
TIMES = st.sampled_from(
    [
        "2026-11-27 19:05:00",
        "2026-11-27T08:00:00+08:00",
        "2026/11/27 07:30",
        "2026年11月27日 10:00",
        "昨天下午",
        "",
        "0001-01-01 00:00:00",
        "9999-12-31 23:59:59",
        "2099-01-01 10:00:00",
        "2026-13-45 25:00",
    ]
)
PARSEABLE = {
    "2026-11-27 19:05:00",
    "2026-11-27T08:00:00+08:00",
    "2026/11/27 07:30",
    "2026年11月27日 10:00",
    "0001-01-01 00:00:00",
    "9999-12-31 23:59:59",
    "2099-01-01 10:00:00",
}
CELL = st.text(alphabet=TEXT_CHARS, max_size=12)
ROW = st.fixed_dictionaries(
    {
        "id": st.integers(0, 12),
        "call_time": TIMES,
        "customer_id": st.one_of(
            st.just(""), st.just("0531234567"), CELL, st.text("9", min_size=60, max_size=70)
        ),
        "phone": st.one_of(st.just("13812345678"), st.just(""), CELL),
        "unit": st.one_of(st.just("大理供电局"), st.just(""), CELL, st.just("局" * 120)),
        "area": st.one_of(st.just(""), st.just("上关镇河尾村"), CELL, st.just("联系人13912345678")),
        "channel": st.one_of(st.just(""), st.just("phone"), st.just("微信"), st.just("12398转办"), CELL),
        "duration_s": st.one_of(
            st.just("120"), st.just(""), st.just("-5"), st.just("三分钟"), st.just("1e9")
        ),
        "transcript": st.one_of(st.just("客户：家里停电了"), st.text(alphabet=TEXT_CHARS, max_size=60)),
    }
)
FILE = st.fixed_dictionaries(
    {
        "kind": st.sampled_from(["csv", "csv", "jsonl", "parquet", "bad_encoding", "header_only"]),
        "encoding": st.sampled_from(["utf-8", "utf-8-sig", "gb18030"]),
        "rows": st.lists(ROW, min_size=0, max_size=8),
        "broken_lines": st.lists(st.integers(0, 8), max_size=2),
        "typed_ids": st.booleans(),
    }
)
EXPORT = st.lists(FILE, min_size=1, max_size=3)


def _rows(spec: dict, prefix: str) -> list[dict]:
    return [
        {**{k: v for k, v in r.items() if k != "id"}, "call_id": f"{prefix}{r['id']}"} for r in spec["rows"]
    ]


def _no_surrogates(value: str) -> str:
    return "".join(c for c in value if not 0xD800 <= ord(c) <= 0xDFFF)


def _write(folder: Path, index: int, spec: dict, prefix: str) -> None:
    rows = _rows(spec, prefix)
    kind = spec["kind"]
    if kind == "bad_encoding":
        (folder / f"f{index}.csv").write_bytes(
            b"call_id,transcript\n" + bytes([0x81, 0x30, 0xFF, 0xFF, 0x80]) * 9
        )
    elif kind == "header_only" or (kind in ("csv", "parquet") and not rows):
        (folder / f"f{index}.csv").write_text(",".join(EXPORT_FIELDS) + "\n", encoding="utf-8")
    elif kind == "jsonl":
        lines = []
        for row in rows:
            if spec["typed_ids"]:
                row = {**row, "customer_id": 531234567, "transcript": 3.5}
            lines.append(json.dumps(row))
        lines += ['{"call_id": "broken' for _ in spec["broken_lines"]]
        (folder / f"f{index}.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    elif kind == "parquet":
        import pyarrow as pa
        import pyarrow.parquet as pq

        columns = {k: [_no_surrogates(r[k]) for r in rows] for k in EXPORT_FIELDS}
        if spec["typed_ids"]:
            columns["transcript"] = [t.encode("utf-8") for t in columns["transcript"]]
        pq.write_table(pa.table(columns), folder / f"f{index}.parquet")
    else:
        buf = io.StringIO()
        writer = csv.writer(buf)
        writer.writerow(EXPORT_FIELDS)
        records = [[_no_surrogates(r[k]) for k in EXPORT_FIELDS] for r in rows]
        lines = []
        for record in records:
            line = io.StringIO()
            csv.writer(line).writerow(record)
            lines.append(line.getvalue())
        for at in spec["broken_lines"]:
            lines.insert(
                min(at, len(lines)),
                f'{prefix}Q{at},2026-11-27 19:05:00,,138,局,村,phone,5,"客户：引号没关上\r\n',
            )
        text = buf.getvalue() + "".join(lines)
        (folder / f"f{index}.csv").write_bytes(text.encode(spec["encoding"]))


def _table_counts(db_url: str) -> tuple[int, int]:
    engine = make_engine(db_url)
    with engine.connect() as conn:
        calls = conn.execute(select(func.count(Call.id))).scalar_one()
        quarantined = conn.execute(select(func.count(QuarantinedRow.id))).scalar_one()
    engine.dispose()
    return calls, quarantined


def test_every_row_of_every_generated_export_is_accounted_for(db_url, engine, tmp_path, keyword_classifier):
    baseline = KeywordBaseline()

    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
    )
    @given(export=EXPORT, rerun=st.booleans())
    def check(export: list[dict], rerun: bool) -> None:
        prefix = uuid.uuid4().hex[:8] + "-"
        folder = tmp_path / prefix
        folder.mkdir()
        for index, spec in enumerate(export):
            _write(folder, index, spec, prefix)
        calls_before, _ = _table_counts(db_url)
        try:
            summary = score_export(folder, db_url, keyword_classifier, baseline)
        except Exception as exc:  # an IngestError is fine only when no file is an export at all
            from pipeline.ingest import IngestError

            assert isinstance(exc, IngestError), repr(exc)
            return
        for f in summary.files:
            assert f.holds(), f
        by_name = {Path(f.source).name: f for f in summary.files}
        for index, spec in enumerate(export):
            if (
                spec["kind"] == "csv"
                and spec["rows"]
                and all(r["call_time"] in PARSEABLE for r in spec["rows"])
            ):
                # every written row and every broken line is one row read: nothing swallowed
                assert by_name[f"f{index}.csv"].rows_read == len(spec["rows"]) + len(spec["broken_lines"])
        total = totals(summary.files)
        assert total.rows_read == summary.rows_read
        calls_after, _ = _table_counts(db_url)
        assert calls_after - calls_before == total.stored
        if rerun:
            again = score_export(folder, db_url, keyword_classifier, baseline)
            again_total = totals(again.files)
            assert again_total.stored == 0
            assert again_total.already_stored == total.stored
            assert all(f.holds() for f in again.files)
            assert _table_counts(db_url)[0] == calls_after

    check()
