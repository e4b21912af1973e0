"""The nightly report: numbers in the markdown match the data, charts are real PNGs, no PII leaks."""

from __future__ import annotations

import random

import pandas as pd
import pytest
from PIL import Image

from pipeline.labels import LABELS
from pipeline.report import NightSummary, summary_markdown, write_report

UNITS = ["大理供电局", "昆明供电局", "曲靖供电局"]


def _summary(seed: int = 3, n: int = 60, slips: int = 9) -> NightSummary:
    rng = random.Random(seed)
    calls = pd.DataFrame(
        {
            "call_id": [f"C{i:04d}" for i in range(n)],
            "unit": [rng.choice(UNITS) for _ in range(n)],
            "category": [rng.choice(LABELS) for _ in range(n)],
            "risk_probability": [rng.random() for _ in range(n)],
            "risk_level": [rng.choice(["red", "orange", "yellow", "none", "none"]) for _ in range(n)],
        }
    )
    slip_rows = pd.DataFrame(
        {
            "slip_no": [f"S{i}" for i in range(slips)],
            "unit": [rng.choice(UNITS) for _ in range(slips)],
            "level": [rng.choice(["red", "orange", "yellow"]) for _ in range(slips)],
        }
    )
    return NightSummary(
        night="2026-11-20",
        calls=calls,
        slips=slip_rows,
        quarantine_reasons={"missing_field": 2, "bad_time": 1},
        model_versions={"classifier": "complaint-classifier/4"},
        rows_read=n + 3,
    )


def test_summary_counts_match_the_data() -> None:
    summary = _summary()
    table = summary.category_by_unit()
    assert table["total"].sum() == len(summary.calls)
    for unit in UNITS:
        assert table.loc[unit, "total"] == (summary.calls["unit"] == unit).sum()
    levels = summary.slips_by_level()
    assert sum(levels.values()) == len(summary.slips)
    text = summary_markdown(summary)
    assert f"评分来电: {len(summary.calls)} 条" in text
    assert "隔离行: 3 条" in text
    assert f"红色 {levels['red']}" in text
    assert "complaint-classifier/4" in text


def test_write_report_writes_markdown_and_three_charts(tmp_path) -> None:
    summary = _summary()
    report = write_report(summary, tmp_path / "night")
    text = report.markdown.read_text(encoding="utf-8")
    assert set(report.charts) == {"category_by_unit", "risk_distribution", "slips_by_unit"}
    for name, path in report.charts.items():
        assert f"({path.name})" in text, name
        with Image.open(path) as image:
            assert image.format == "PNG" and image.width > 300
    by_unit = summary.slips_by_unit()
    for unit in UNITS:
        if unit in by_unit.index:
            assert f"| {unit} |" in text


def test_report_of_an_empty_night_still_renders(tmp_path) -> None:
    summary = _summary(n=0, slips=0)
    report = write_report(summary, tmp_path)
    assert "评分来电: 0 条" in report.markdown.read_text(encoding="utf-8")
    assert all(p.stat().st_size > 0 for p in report.charts.values())


def test_summary_rejects_frames_missing_columns() -> None:
    with pytest.raises(ValueError, match="risk_level"):
        NightSummary(
            "2026-11-20",
            pd.DataFrame(columns=["call_id", "unit", "category", "risk_probability"]),
            pd.DataFrame(columns=["slip_no", "unit", "level"]),
        )
