"""Issue 12: ``complaints db upgrade`` is the one migration step; ``complaints score`` prints the count
identity line (item 10)."""

from __future__ import annotations

import csv

import pytest
from sqlalchemy import text
from typer.testing import CliRunner

from cli.main import app
from pipeline.records import EXPORT_FIELDS
from pipeline.risk.baseline import KeywordBaseline
from pipeline.storage import DatabaseError, open_engine, upgrade
from pipeline.storage.db import current_revision, head_revision

runner = CliRunner()


def test_db_upgrade_creates_and_reports_the_newest_revision(db_url):
    first = runner.invoke(app, ["db", "upgrade", "--db", db_url])
    assert first.exit_code == 0, first.output
    assert head_revision() in first.output
    again = runner.invoke(app, ["db", "upgrade", "--db", db_url])
    assert again.exit_code == 0
    status = runner.invoke(app, ["db", "status", "--db", db_url])
    assert "最新" in status.output


def test_ordinary_opens_never_migrate(db_url, monkeypatch):
    upgrade(db_url).dispose()
    from pipeline.storage import db as db_module

    def refuse(*_args, **_kwargs):
        raise AssertionError("an ordinary engine open ran a migration")

    monkeypatch.setattr(db_module.command, "upgrade", refuse)
    engine = open_engine(db_url)
    assert current_revision(engine) == head_revision()
    engine.dispose()


def test_a_database_behind_the_code_asks_for_db_upgrade(db_url):
    engine = upgrade(db_url)
    with engine.begin() as conn:
        conn.execute(text("DELETE FROM alembic_version"))
    engine.dispose()
    with pytest.raises(DatabaseError, match="complaints db upgrade"):
        open_engine(db_url, create_if_empty=True)


def test_an_empty_database_is_created_only_when_asked(db_url):
    with pytest.raises(DatabaseError, match="complaints db upgrade"):
        open_engine(db_url)
    open_engine(db_url, create_if_empty=True).dispose()


def test_score_prints_the_count_identity(db_url, tmp_path, monkeypatch, keyword_classifier):
    import models.registry
    import models.risk_model

    monkeypatch.setattr(models.registry, "configure_mlflow", lambda: None)
    monkeypatch.setattr(models.registry, "load_classifier", lambda **_: keyword_classifier)
    monkeypatch.setattr(models.risk_model, "load_risk_model", lambda **_: KeywordBaseline())
    export = tmp_path / "calls.csv"
    base = {
        "call_time": "2026-11-27 19:05:00",
        "customer_id": "",
        "phone": "13812345678",
        "unit": "大理供电局",
        "area": "",
        "channel": "phone",
        "duration_s": "60",
        "transcript": "客户：停电了",
    }
    rows = [
        {**base, "call_id": "S1"},
        {**base, "call_id": "S1"},
        {**base, "call_id": "S2", "call_time": "坏"},
    ]
    with export.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(EXPORT_FIELDS))
        writer.writeheader()
        writer.writerows(rows)
    result = runner.invoke(app, ["score", str(export), "--db", db_url])
    assert result.exit_code == 0, result.output
    assert "核对: 读入 3 = 入库 1 + 已入库 0 + 隔离 1 + 重复 1（1/1 个文件逐一相符）" in result.output
    again = runner.invoke(app, ["score", str(export), "--db", db_url])
    assert "核对: 读入 3 = 入库 0 + 已入库 1 + 隔离 1 + 重复 1" in again.output
