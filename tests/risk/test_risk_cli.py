"""The slips and score commands: real database, Chinese one-line errors, exports a person can open."""

from __future__ import annotations

import csv
import json
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import openpyxl
from typer.testing import CliRunner

from cli.main import app
from pipeline.risk.baseline import KeywordBaseline
from pipeline.scoring import assess_and_store, classify_records

SH = ZoneInfo("Asia/Shanghai")
runner = CliRunner()


def _seed(factory, new_record, tiny_classifier) -> str:
    when = datetime(2026, 11, 27, 9, 0, tzinfo=SH)
    records = [new_record("K1", "客户：停电了，再不来修我就打12398", when=when, phone="13512345678")]
    scored = assess_and_store(factory, classify_records(records, tiny_classifier), KeywordBaseline(), None)
    return scored[0].slip_no


def test_slip_update_walks_the_status_machine(factory, db_url, new_record, tiny_classifier):
    slip_no = _seed(factory, new_record, tiny_classifier)
    steps = [
        ["--status", "acknowledged", "--by", "李四"],
        ["--status", "in_progress", "--by", "李四", "--note", "已派人抢修，当晚恢复供电"],
        ["--status", "callback", "--by", "王五", "--callback-result", "满意"],
        ["--status", "closed", "--by", "王五", "--note", "销号"],
    ]
    for step in steps:
        result = runner.invoke(app, ["slips", "update", slip_no, *step, "--db", db_url])
        assert result.exit_code == 0, result.output
    assert "已销号" in result.output
    again = runner.invoke(
        app, ["slips", "update", slip_no, "--status", "acknowledged", "--by", "x", "--db", db_url]
    )
    assert again.exit_code == 2
    assert "已销号" in again.output and "Traceback" not in again.output


def test_slip_update_refuses_illegal_steps_in_one_line(factory, db_url, new_record, tiny_classifier):
    slip_no = _seed(factory, new_record, tiny_classifier)
    result = runner.invoke(
        app, ["slips", "update", slip_no, "--status", "closed", "--by", "x", "--db", db_url]
    )
    assert result.exit_code == 2
    assert result.output.strip().startswith("错误:") and len(result.output.strip().splitlines()) == 1


def test_slips_list_and_export_in_three_formats(factory, db_url, new_record, tiny_classifier, tmp_path):
    slip_no = _seed(factory, new_record, tiny_classifier)
    listed = runner.invoke(app, ["slips", "list", "--db", db_url, "--open"])
    assert listed.exit_code == 0 and slip_no in listed.output
    jsonl = runner.invoke(app, ["slips", "export", "--db", db_url])
    rows = [json.loads(line) for line in jsonl.output.splitlines() if line.startswith("{")]
    assert rows[0]["预警单编号"] == slip_no and rows[0]["客户"] == "135****5678"
    assert "客户表示将向12398投诉" in rows[0]["预警原因"]
    out_csv = tmp_path / "slips.csv"
    assert (
        runner.invoke(
            app, ["slips", "export", "--db", db_url, "--format", "csv", "-o", str(out_csv)]
        ).exit_code
        == 0
    )
    with out_csv.open(encoding="utf-8-sig") as fh:
        assert next(csv.DictReader(fh))["预警单编号"] == slip_no
    out_xlsx = tmp_path / "slips.xlsx"
    assert (
        runner.invoke(
            app, ["slips", "export", "--db", db_url, "--format", "xlsx", "-o", str(out_xlsx)]
        ).exit_code
        == 0
    )
    sheet = openpyxl.load_workbook(out_xlsx).active
    assert sheet.cell(1, 1).value == "预警单编号" and sheet.cell(2, 1).value == slip_no
    bad = runner.invoke(app, ["slips", "export", "--db", db_url, "--format", "pdf"])
    assert bad.exit_code == 2 and "不支持的格式" in bad.output


def test_score_without_registered_models_fails_in_one_line(tmp_path, mlflow_home):
    export = tmp_path / "calls.csv"
    export.write_text(
        "call_id,call_time,phone,unit,transcript\nA,2026-11-27T10:00:00,13800000000,某局,客户：停电\n",
        encoding="utf-8",
    )
    result = runner.invoke(app, ["score", str(export), "--db", f"sqlite:///{tmp_path / 'x.db'}"])
    assert result.exit_code == 2
    assert "没有别名为 champion 的版本" in result.output
    missing = runner.invoke(app, ["score", str(tmp_path / "nope.csv")])
    assert missing.exit_code == 2 and "输入不存在" in missing.output


def test_risk_train_rejects_missing_data_dir(tmp_path):
    result = runner.invoke(app, ["risk", "train", "--data", str(tmp_path / "none")])
    assert result.exit_code == 2 and "数据目录不存在" in result.output


def test_overdue_filter_lists_late_slips_only(factory, db_url, new_record, tiny_classifier):
    slip_no = _seed(factory, new_record, tiny_classifier)
    with factory() as session:
        from pipeline.slips import get_slip

        slip = get_slip(session, slip_no)
        slip.due_at = datetime.now(SH) - timedelta(hours=1)
        session.commit()
    result = runner.invoke(app, ["slips", "export", "--db", db_url, "--overdue"])
    assert slip_no in result.output
