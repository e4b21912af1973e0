"""`complaints classify` and `complaints evaluate` end to end, including the errors a user sees."""

from __future__ import annotations

import json

import pandas as pd
from typer.testing import CliRunner

from cli.main import app
from pipeline.labels import LABELS

KEYS = {"call_id", "category", "confidence", "probabilities", "needs_review"}


def test_classify_writes_one_line_per_call(baseline_champion, tiny_data, tmp_path):
    out = tmp_path / "out.jsonl"
    night = next(tiny_data["simulated"].glob("*/calls.csv")).parent
    result = CliRunner().invoke(app, ["classify", str(night / "calls.csv"), "--output", str(out)])
    assert result.exit_code == 0, result.output
    lines = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    calls = pd.read_csv(night / "calls.csv", dtype=str)
    assert [line["call_id"] for line in lines] == calls["call_id"].tolist()
    truth = pd.read_csv(night / "labels.csv", dtype=str).set_index("call_id")["category"].to_dict()
    for line in lines:
        assert set(line) == KEYS
        assert line["category"] in LABELS and set(line["probabilities"]) == set(LABELS)
        assert line["confidence"] == max(line["probabilities"].values())
    accuracy = sum(line["category"] == truth[line["call_id"]] for line in lines) / len(lines)
    assert accuracy > 0.6


def test_classify_quarantines_bad_rows(baseline_champion, tmp_path):
    bad = tmp_path / "calls.csv"
    bad.write_text(
        "call_id,call_time,phone,unit,transcript\n"
        "a1,2026-03-01T10:00:00,138****0000,大理供电局,客户：停电了\n"
        "a2,not-a-time,138****0000,大理供电局,客户：电费高\n",
        encoding="utf-8",
    )
    out = tmp_path / "o.jsonl"
    result = CliRunner().invoke(app, ["classify", str(bad), "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert [json.loads(x)["call_id"] for x in out.read_text(encoding="utf-8").splitlines()] == ["a1"]
    assert "隔离: 1" in result.output


def test_classify_without_champion_fails_clearly(tmp_path, monkeypatch, tiny_data):
    monkeypatch.setenv("MLFLOW_TRACKING_URI", f"sqlite:///{tmp_path / 'empty.db'}")
    night = next(tiny_data["simulated"].glob("*/calls.csv")).parent
    result = CliRunner().invoke(
        app, ["classify", str(night / "calls.csv"), "--output", str(tmp_path / "o.jsonl")]
    )
    assert result.exit_code == 2
    assert "没有别名为 champion 的版本" in result.output
    assert "Traceback" not in result.output


def test_classify_missing_input_fails_clearly(tmp_path):
    result = CliRunner().invoke(
        app, ["classify", str(tmp_path / "nope.csv"), "--output", str(tmp_path / "o.jsonl")]
    )
    assert result.exit_code == 2 and "文件不存在" in result.output


def test_evaluate_prints_both_frozen_sets(baseline_champion, tiny_data):
    result = CliRunner().invoke(app, ["evaluate", "--eval-dir", str(tiny_data["eval"])])
    assert result.exit_code == 0, result.output
    assert "simulated" in result.output and "dev" in result.output and "复核阈值" in result.output
