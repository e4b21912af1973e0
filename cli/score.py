"""``complaints score``, ``complaints slips list|export|update`` and ``complaints risk train|evaluate``."""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from cli.errors import fail

STATUS_TO_ACTION: dict[str, str] = {
    "acknowledged": "acknowledge",
    "已签收": "acknowledge",
    "in_progress": "handle",
    "处理中": "handle",
    "callback": "callback",
    "已回访": "callback",
    "closed": "close",
    "已销号": "close",
    "supervised": "escalate",
    "提级督办": "escalate",
}
EXPORT_FORMATS = ("jsonl", "csv", "xlsx")

slips_app = typer.Typer(help="预警单：查询、导出、办理。", no_args_is_help=True)
risk_app = typer.Typer(help="12398 升级风险模型：训练与评估。", no_args_is_help=True)


@contextmanager
def _session(db_url: str | None) -> Iterator[Any]:
    from pipeline.storage import DatabaseError, open_engine, session_factory

    try:
        engine = open_engine(db_url, create_if_empty=True)
    except DatabaseError as exc:
        fail(str(exc))
    try:
        with session_factory(engine)() as session:
            yield session
    finally:
        engine.dispose()


def score_command(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="导出文件 (CSV/JSONL/Parquet) 或目录"),
    db: str | None = typer.Option(None, "--db", help="数据库 URL；默认配置中的 SQLite 文件"),
    output: Path | None = typer.Option(None, "--output", "-o", help="逐通来电结果 JSONL 文件"),
    model_uri: str | None = typer.Option(None, "--model-uri", help="分类模型 URI；默认冠军模型"),
    risk_model_uri: str | None = typer.Option(None, "--risk-model-uri", help="风险模型 URI；默认冠军模型"),
) -> None:
    """对一批来电分类、评估 12398 升级风险、生成或更新预警单，并写入数据库。"""
    from models.registry import ModelNotFoundError, configure_mlflow, load_classifier
    from models.risk_model import load_risk_model
    from pipeline.counting import CountMismatch, identity_line
    from pipeline.ingest import IngestError
    from pipeline.scoring import score_export
    from pipeline.storage import DatabaseError, SecretError, require_customer_secret

    if not input_path.exists():
        fail(f"输入不存在: {input_path}")
    try:
        require_customer_secret()
    except SecretError as exc:
        fail(str(exc))
    try:
        configure_mlflow()
        classifier = load_classifier(model_uri=model_uri)
        risk_model = load_risk_model(model_uri=risk_model_uri)
    except ModelNotFoundError as exc:
        fail(str(exc))
    try:
        summary = score_export(input_path, db, classifier, risk_model, output, progress=True)
    except (IngestError, DatabaseError, CountMismatch) as exc:
        fail(str(exc))
    levels = summary.levels()
    slips = {s.slip_no for s in summary.scored if s.slip_no}
    typer.echo(
        f"读取 {summary.rows_read} 行，评分 {len(summary.scored)} 通（其中 {summary.already_stored} 通此前已入库，未重复评分），"
        f"隔离 {summary.quarantined} 行，重复 {summary.duplicates} 行"
    )
    typer.echo(identity_line(summary.files))
    for unknown in summary.unknown_files:
        typer.echo(f"未识别的文件（未读取）: {unknown}")
    if summary.unknown_channels:
        listed = "，".join(f"{k} {v}" for k, v in summary.unknown_channels.items())
        typer.echo(f"未知渠道（照常评分）: {listed}")
    typer.echo(
        f"风险等级：红色 {levels['red']}，橙色 {levels['orange']}，黄色 {levels['yellow']}，无 {levels['none']}；"
        f"涉及预警单 {len(slips)} 张"
    )
    if summary.output:
        typer.echo(f"结果已写入 {summary.output}")


def _filters(
    unit: str | None,
    status: str | None,
    level: str | None,
    category: str | None,
    open_only: bool,
    overdue: bool,
) -> dict[str, Any]:
    return {
        "unit": unit,
        "status": status.split(",") if status else None,
        "level": level.split(",") if level else None,
        "category": category,
        "open_only": open_only,
        "overdue": overdue,
    }


FILTER_HELP = {
    "unit": "供电单位",
    "status": "状态，可逗号分隔：issued,acknowledged,in_progress,callback,closed",
    "level": "等级，可逗号分隔：red,orange,yellow",
    "category": "问题类别 (outage 等)",
}


@slips_app.command("list")
def slips_list(
    db: str | None = typer.Option(None, "--db", help="数据库 URL"),
    unit: str | None = typer.Option(None, "--unit", help=FILTER_HELP["unit"]),
    status: str | None = typer.Option(None, "--status", help=FILTER_HELP["status"]),
    level: str | None = typer.Option(None, "--level", help=FILTER_HELP["level"]),
    category: str | None = typer.Option(None, "--category", help=FILTER_HELP["category"]),
    open_only: bool = typer.Option(False, "--open", help="只看未销号"),
    overdue: bool = typer.Option(False, "--overdue", help="只看已超期未销号"),
    page: int = typer.Option(1, "--page", min=1),
    per_page: int = typer.Option(30, "--per-page", min=1, max=1000),
) -> None:
    """列出预警单（等级高、时限近的在前）。"""
    from pipeline.slips import SlipActionError, export_row, list_slips

    with _session(db) as session:
        try:
            result = list_slips(
                session, _filters(unit, status, level, category, open_only, overdue), page, per_page
            )
        except SlipActionError as exc:
            fail(str(exc))
        columns = [
            "预警单号",
            "供电单位",
            "客户",
            "问题类别",
            "预警等级",
            "状态",
            "来电次数",
            "办结时限",
            "预警原因",
        ]
        table = Table(title=f"预警单（第 {result.page}/{result.pages} 页，共 {result.total} 张）")
        for column in columns:
            table.add_column(column, overflow="fold", no_wrap=column == "预警单号")
        for slip in result.items:
            row = export_row(slip)
            table.add_row(*(str(row[c]) for c in columns))
        Console().print(table)


def _write_export(rows: list[dict[str, Any]], fmt: str, output: Path | None) -> None:
    if fmt == "xlsx":
        if output is None:
            fail("xlsx 格式需要 --output 指定文件")
        import pandas as pd

        output.parent.mkdir(parents=True, exist_ok=True)
        pd.DataFrame(rows).to_excel(output, index=False, sheet_name="预警单")
        return
    handle = (
        output.open("w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")
        if output
        else sys.stdout
    )
    try:
        if fmt == "csv":
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]) if rows else [])
            writer.writeheader()
            writer.writerows(rows)
        else:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
    finally:
        if output:
            handle.close()


@slips_app.command("export")
def slips_export(
    db: str | None = typer.Option(None, "--db", help="数据库 URL"),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl、csv 或 xlsx"),
    output: Path | None = typer.Option(None, "--output", "-o", help="输出文件；jsonl/csv 缺省时写到标准输出"),
    unit: str | None = typer.Option(None, "--unit", help=FILTER_HELP["unit"]),
    status: str | None = typer.Option(None, "--status", help=FILTER_HELP["status"]),
    level: str | None = typer.Option(None, "--level", help=FILTER_HELP["level"]),
    category: str | None = typer.Option(None, "--category", help=FILTER_HELP["category"]),
    open_only: bool = typer.Option(False, "--open", help="只导出未销号"),
    overdue: bool = typer.Option(False, "--overdue", help="只导出已超期未销号"),
) -> None:
    """导出预警单（中文表头，客户信息已脱敏）。"""
    from pipeline.slips import SlipActionError, export_row, list_slips

    if fmt not in EXPORT_FORMATS:
        fail(f"不支持的格式 {fmt}，可选: {'、'.join(EXPORT_FORMATS)}")
    with _session(db) as session:
        try:
            result = list_slips(
                session, _filters(unit, status, level, category, open_only, overdue), 1, 10_000
            )
        except SlipActionError as exc:
            fail(str(exc))
        rows = [export_row(slip) for slip in result.items]
    _write_export(rows, fmt, output)
    if output:
        typer.echo(f"已导出 {len(rows)} 张预警单到 {output}", err=True)


@slips_app.command("update")
def slips_update(
    slip_no: str = typer.Argument(..., metavar="SLIP_NO", help="预警单号，如 YJ20261127-0001"),
    status: str = typer.Option(
        ...,
        "--status",
        help="目标状态：acknowledged、in_progress、callback、closed，或 supervised（提级督办）",
    ),
    note: str | None = typer.Option(None, "--note", help="说明（记录处理情况时必填）"),
    by: str = typer.Option(..., "--by", help="操作人"),
    callback_result: str | None = typer.Option(
        None, "--callback-result", help="回访结果：满意、基本满意、不满意"
    ),
    db: str | None = typer.Option(None, "--db", help="数据库 URL"),
) -> None:
    """办理预警单：签收、记录处理、回访、销号或提级督办，每一步都记入审计记录。"""
    from pipeline.slips import SlipActionError, apply_action
    from pipeline.storage.models import SLIP_STATUS_ZH

    action = STATUS_TO_ACTION.get(status)
    if action is None:
        fail(f"未知状态 {status}，可选: acknowledged、in_progress、callback、closed、supervised")
    with _session(db) as session:
        try:
            slip = apply_action(session, slip_no, action, by, note, callback_result)
            session.commit()
        except SlipActionError as exc:
            session.rollback()
            fail(str(exc))
        typer.echo(
            f"预警单 {slip.slip_no} 当前状态：{SLIP_STATUS_ZH[slip.status]}，等级 {slip.level}"
            + ("，已提级督办" if slip.supervised else "")
        )


@risk_app.command("train")
def risk_train(
    data: Path | None = typer.Option(None, "--data", help="模拟器输出目录（带标签）；缺省时先模拟"),
    days: int = typer.Option(60, "--days", min=7, help="缺省模拟的天数"),
    seed: int = typer.Option(11, "--seed", help="缺省模拟的随机种子"),
    scale: float = typer.Option(0.5, "--scale", help="缺省模拟的规模系数"),
    budget: float | None = typer.Option(
        None, "--budget", help="预警量预算（每千通来电预警单数）；默认取配置"
    ),
    register: bool = typer.Option(True, "--register/--no-register", help="注册到 MLflow 并执行晋升门槛"),
) -> None:
    """按日期回放模拟数据训练升级风险模型，选定分级阈值，记入 MLflow 并注册 escalation-risk。"""
    from models.risk_model import train_and_register
    from pipeline.simulator import DatasetError, SimulationError

    if data is not None and not data.is_dir():
        fail(f"数据目录不存在: {data}")
    try:
        result = train_and_register(data, days, seed, budget, scale, register)
    except (DatasetError, SimulationError, ValueError) as exc:
        fail(str(exc).splitlines()[0])
    for line in result.lines:
        typer.echo(line)
    t = result.thresholds
    typer.echo(f"分级阈值：红色 ≥ {t['red']:.3f}，橙色 ≥ {t['orange']:.3f}，黄色 ≥ {t['yellow']:.3f}")
    typer.echo(f"MLflow 运行 {result.run_id}")


@risk_app.command("evaluate")
def risk_evaluate(
    data: Path | None = typer.Option(None, "--data", help="留出的模拟数据目录；默认 data/eval/simulated"),
    alias: str = typer.Option("champion", "--alias", help="评估的模型别名：champion 或 challenger"),
    out: Path | None = typer.Option(None, "--out", help="图表输出目录；默认 reports_dir/risk"),
) -> None:
    """在留出数据上评估：升级前已预警比例、提前量、每千通预警量、误报占比，与关键词基线对比。"""
    from models.registry import ModelNotFoundError
    from models.risk_evaluation import evaluate
    from pipeline.simulator import DatasetError

    if data is not None and not data.is_dir():
        fail(f"数据目录不存在: {data}")
    try:
        result = evaluate(data, alias, out)
    except (ModelNotFoundError, DatasetError) as exc:
        fail(str(exc))
    for line in result.lines:
        typer.echo(line)


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("score")(score_command)
    app.add_typer(slips_app, name="slips")
    app.add_typer(risk_app, name="risk")
