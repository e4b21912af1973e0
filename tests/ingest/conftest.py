"""Fixtures for ingest tests: small exports written in every supported format."""

from __future__ import annotations

import csv
import json
from pathlib import Path
from typing import Any

import pytest

from pipeline.records import EXPORT_FIELDS

FIELDS = list(EXPORT_FIELDS)


def make_row(call_id: str = "C001", **overrides: Any) -> dict[str, Any]:
    row = {
        "call_id": call_id,
        "call_time": "2026-11-27 19:05:00",
        "customer_id": "0531234567",
        "phone": "138****5678",
        "unit": "大理供电局",
        "area": "上关镇河尾村",
        "channel": "phone",
        "duration_s": "185",
        "transcript": "坐席：您好，95598，很高兴为您服务。\n客户：我家又停电了，已经三个小时了。",
    }
    row.update(overrides)
    return row


def write_csv(path: Path, rows: list[dict[str, Any]], encoding: str = "utf-8") -> Path:
    fields = list(dict.fromkeys(key for row in rows for key in row))
    with path.open("w", encoding=encoding, newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=fields)
        writer.writeheader()
        writer.writerows(rows)
    return path


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


@pytest.fixture
def rows() -> list[dict[str, Any]]:
    return [
        make_row("C001"),
        make_row("C002", channel="wechat", transcript="我家电压太低，电饭锅煮不熟饭"),
        make_row("C003"),
    ]
