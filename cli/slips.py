"""``complaints slips list|export|update``: the slip ledger from the command line, through pipeline.ledger."""

from __future__ import annotations

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
    "assigned": "assign",
    "转派": "assign",
    "false_alarm": "false_alarm",
    "误报": "false_alarm",
}
FILTER_HELP = {
    "unit": "供电单位",
    "status": "状态，可逗号分隔：issued,acknowledged,in_progress,callback,closed",
    "level": "等级，可逗号分隔：red,orange,yellow",
    "category": "问题类别 (outage 等)",
    "q": "搜索：预警单编号、来电手机尾号、户号、区域",
    "assignee": "处理人用户名",
}

slips_app = typer.Typer(help="预警单：查询、导出、办理。", no_args_is_help=True)


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


def _filters(
    unit: str | None,
    status: str | None,
    level: str | None,
    category: str | None,
    open_only: bool,
    overdue: bool,
    q: str | None = None,
    assignee: str | None = None,
):
    from pipeline.ledger import FilterError, LedgerFilters

    choice = "overdue" if overdue else status or ("open" if open_only else "all")
    try:
        return LedgerFilters(unit=unit, status=choice, level=level, category=category, q=q, assignee=assignee)
    except FilterError as exc:
        fail(str(exc))


@slips_app.command("list")
def slips_list(
    db: str | None = typer.Option(None, "--db", help="数据库 URL"),
    unit: str | None = typer.Option(None, "--unit", help=FILTER_HELP["unit"]),
    status: str | None = typer.Option(None, "--status", help=FILTER_HELP["status"]),
    level: str | None = typer.Option(None, "--level", help=FILTER_HELP["level"]),
    category: str | None = typer.Option(None, "--category", help=FILTER_HELP["category"]),
    q: str | None = typer.Option(None, "--q", help=FILTER_HELP["q"]),
    assignee: str | None = typer.Option(None, "--assignee", help=FILTER_HELP["assignee"]),
    open_only: bool = typer.Option(False, "--open", help="只看未销号"),
    overdue: bool = typer.Option(False, "--overdue", help="只看已超期未销号"),
    page: int = typer.Option(1, "--page", min=1, max=100_000),
    per_page: int = typer.Option(30, "--per-page", min=1, max=200),
) -> None:
    """列出预警单（与网页队列同一排序：等级高、时限近的在前）。"""
    from pipeline.ledger import export_row, list_slips

    filters = _filters(unit, status, level, category, open_only, overdue, q, assignee)
    with _session(db) as session:
        result = list_slips(session, filters, page, per_page)
        columns = [
            "预警单编号",
            "供电单位",
            "客户",
            "问题类别",
            "预警等级",
            "状态",
            "处理人",
            "剩余时间",
            "预警原因",
        ]
        table = Table(title=f"预警单（第 {result.page}/{result.pages} 页，共 {result.total} 张）")
        for column in columns:
            table.add_column(column, overflow="fold", no_wrap=column == "预警单编号")
        for slip in result.items:
            row = export_row(slip)
            table.add_row(*(str(row[c]) for c in columns))
        Console().print(table)


@slips_app.command("export")
def slips_export(
    db: str | None = typer.Option(None, "--db", help="数据库 URL"),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl、csv 或 xlsx"),
    output: Path | None = typer.Option(None, "--output", "-o", help="输出文件；jsonl/csv 缺省时写到标准输出"),
    unit: str | None = typer.Option(None, "--unit", help=FILTER_HELP["unit"]),
    status: str | None = typer.Option(None, "--status", help=FILTER_HELP["status"]),
    level: str | None = typer.Option(None, "--level", help=FILTER_HELP["level"]),
    category: str | None = typer.Option(None, "--category", help=FILTER_HELP["category"]),
    q: str | None = typer.Option(None, "--q", help=FILTER_HELP["q"]),
    open_only: bool = typer.Option(False, "--open", help="只导出未销号"),
    overdue: bool = typer.Option(False, "--overdue", help="只导出已超期未销号"),
) -> None:
    """导出全部符合条件的预警单（逐行写出，不限行数；中文表头，客户信息已脱敏，防公式注入）。"""
    from pipeline.ledger import EXPORT_FORMATS, export_row, iter_slips, write_csv, write_jsonl, write_xlsx
    from pipeline.storage.types import utcnow

    if fmt not in EXPORT_FORMATS:
        fail(f"不支持的格式 {fmt}，可选: {'、'.join(EXPORT_FORMATS)}")
    if fmt == "xlsx" and output is None:
        fail("xlsx 格式需要 --output 指定文件")
    filters = _filters(unit, status, level, category, open_only, overdue, q)
    now = utcnow()
    with _session(db) as session:
        rows = (export_row(slip, now, fmt != "jsonl") for slip in iter_slips(session, filters, now=now))
        if output is not None:
            output.parent.mkdir(parents=True, exist_ok=True)
        if fmt == "xlsx":
            count = write_xlsx(rows, output)
        elif output is None:
            count = (write_csv if fmt == "csv" else write_jsonl)(rows, sys.stdout)
        else:
            encoding = "utf-8-sig" if fmt == "csv" else "utf-8"
            with output.open("w", encoding=encoding, newline="") as handle:
                count = (write_csv if fmt == "csv" else write_jsonl)(rows, handle)
    if output:
        typer.echo(f"已导出 {count} 张预警单到 {output}", err=True)


@slips_app.command("update")
def slips_update(
    slip_no: str = typer.Argument(..., metavar="SLIP_NO", help="预警单号，如 YJ20261127-0001"),
    status: str = typer.Option(
        ...,
        "--status",
        help="目标状态：acknowledged、in_progress、callback、closed，supervised（提级督办）、assigned（转派）"
        "或 false_alarm（标记误报，--note 写原因）",
    ),
    note: str | None = typer.Option(None, "--note", help="说明（记录处理情况时必填）"),
    by: str = typer.Option(..., "--by", help="操作人"),
    callback_result: str | None = typer.Option(
        None, "--callback-result", help="回访结果：满意、基本满意、不满意"
    ),
    assignee: str | None = typer.Option(
        None, "--assignee", help="转派给的处理人（--status assigned 时必填）"
    ),
    db: str | None = typer.Option(None, "--db", help="数据库 URL"),
) -> None:
    """办理预警单：签收、记录处理、回访、销号、提级督办或转派，每一步都记入审计记录。"""
    from pipeline.ledger import Status, level_zh
    from pipeline.slips import SlipActionError, apply_action

    action = STATUS_TO_ACTION.get(status)
    if action is None:
        fail(
            f"未知状态 {status}，可选: acknowledged、in_progress、callback、closed、supervised、assigned、false_alarm"
        )
    with _session(db) as session:
        try:
            slip = apply_action(session, slip_no, action, by, note, callback_result, assignee=assignee)
            session.commit()
        except SlipActionError as exc:
            session.rollback()
            fail(str(exc))
        typer.echo(
            f"预警单 {slip.slip_no} 当前状态：{Status(slip.status).zh}，等级 {level_zh(slip.level)}"
            + (f"，处理人 {slip.assignee}" if slip.assignee else "")
            + ("，已提级督办" if slip.supervised else "")
            + ("，已标记为误报" if slip.false_alarm else "")
        )


def register(app: typer.Typer) -> None:
    """Add the ``slips`` group to the main app."""
    app.add_typer(slips_app, name="slips")
