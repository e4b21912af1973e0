"""Output files follow the call-records contract and docs/architecture.md."""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path

import pandas as pd
import pytest

from pipeline.labels import LABELS
from pipeline.records import CHANNELS, LABEL_FIELDS, OPTIONAL_FIELDS, REQUIRED_FIELDS
from pipeline.simulator import DatasetError, load_labeled

PHONE = re.compile(r"^(1\d{10}|1\d{2}\*{4}\d{4}|0\d{2,3}-\d{7})$")


def _header(path: Path) -> list[str]:
    with path.open(encoding="utf-8", newline="") as fh:
        return next(csv.reader(fh))


def test_calls_have_exactly_the_contract_fields(train_dir: Path) -> None:
    nights = sorted(p for p in train_dir.iterdir() if p.is_dir())
    assert [n.name for n in nights] == ["2026-06-01", "2026-06-02", "2026-06-03"]
    for night in nights:
        header = _header(night / "calls.csv")
        assert set(header) == set(REQUIRED_FIELDS) | set(OPTIONAL_FIELDS)
        assert len(header) == len(set(header))
        assert not set(header) & set(LABEL_FIELDS)
        assert _header(night / "labels.csv") == [
            "call_id", "category", "escalated_12398", "escalated_at",
            "problem_id", "event_id", "customer_key", "phrasing_split",
            "commitment", "commitment_due", "commitment_kept", "missed_at_call",
            "callback_at", "callback_result", "escalation_trigger",
        ]  # fmt: skip


def test_field_formats(train_dir: Path) -> None:
    for night in sorted(p for p in train_dir.iterdir() if p.is_dir()):
        calls = pd.read_csv(night / "calls.csv", dtype=str, keep_default_na=False)
        assert len(calls) > 100
        for value in calls["call_time"]:
            t = datetime.fromisoformat(value)
            assert t.utcoffset() is not None
            assert t.date().isoformat() == night.name
        assert calls["call_id"].is_unique
        assert calls["phone"].map(lambda p: bool(PHONE.match(p))).all()
        assert calls["customer_id"].map(lambda c: c == "" or c.isdigit()).all()
        assert (calls["customer_id"] == "").any() and (calls["customer_id"] != "").any()
        assert calls["phone"].str.contains(r"\*{4}").any()
        assert calls["channel"].isin(CHANNELS).all()
        assert calls["unit"].str.len().gt(0).all() and calls["transcript"].str.len().gt(0).all()
        phone = calls["channel"] == "phone"
        assert calls.loc[phone, "duration_s"].map(str.isdigit).all()
        assert (calls.loc[~phone, "duration_s"] == "").all()


def test_call_ids_unique_across_nights(train_df: pd.DataFrame) -> None:
    assert train_df["call_id"].is_unique
    assert train_df["category"].isin(LABELS).all()


def test_load_labeled_parses_times_tz_aware(train_df: pd.DataFrame) -> None:
    assert str(train_df["call_time"].dt.tz) == "Asia/Shanghai"
    assert train_df["escalated_12398"].dtype == bool
    assert train_df["duration_s"].dtype == "Int64"
    assert set(train_df["phrasing_split"]) == {"train"}


def test_load_labeled_rejects_a_folder_without_nights(tmp_path: Path) -> None:
    with pytest.raises(DatasetError):
        load_labeled(tmp_path)
    with pytest.raises(DatasetError):
        load_labeled(tmp_path / "missing")


def test_ingest_accepts_the_export_when_available(train_dir: Path) -> None:
    ingest = pytest.importorskip("pipeline.ingest")
    result = ingest.read_export(train_dir / "2026-06-01" / "calls.csv")
    assert result.quarantined == []
    assert len(result.records) == result.rows_read
