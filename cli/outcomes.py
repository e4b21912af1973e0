"""``complaints outcomes import`` and ``complaints labels export|coded``: the learning loop's inputs and labels."""

from __future__ import annotations

import sys
from pathlib import Path

import typer

from cli.errors import fail
from cli.slips import _session

outcomes_app = typer.Typer(help="12398 转办结果：导入并匹配到客户的问题和预警单。", no_args_is_help=True)
labels_app = typer.Typer(
    help="标注：人工更正、误报、12398 转办结果、导出文件中的类别。", no_args_is_help=True
)
LABEL_FORMATS = ("jsonl", "csv")


@outcomes_app.command("import")
def outcomes_import(
    file: Path = typer.Argument(..., metavar="FILE", help="12398 转办文件（CSV 或 Excel）"),
    db: str | None = typer.Option(None, "--db", help="数据库 URL"),
    by: str = typer.Option("12398导入", "--by", help="记入标注和处理记录的导入人"),
) -> None:
    """导入 12398 转办投诉，按户号/电话、供电单位、时间和诉求内容匹配到问题与预警单；同一文件重复导入不会改变任何数据。"""
    from pipeline.outcomes import OutcomeError, import_outcomes, summary_lines

    with _session(db) as session:
        try:
            result = import_outcomes(session, file, by=by)
            session.commit()
        except OutcomeError as exc:
            session.rollback()
            fail(str(exc))
    for line in summary_lines(result):
        typer.echo(line)


@labels_app.command("export")
def labels_export(
    db: str | None = typer.Option(None, "--db", help="数据库 URL"),
    fmt: str = typer.Option("jsonl", "--format", help="jsonl 或 csv"),
    output: Path | None = typer.Option(None, "--output", "-o", help="输出文件；缺省写到标准输出"),
) -> None:
    """列出全部标注：来源（人工更正、12398 转办结果、导出文件标注）、标注人和时间。"""
    import csv
    import json

    from pipeline.corrections import EXPORT_FIELDS, iter_labels

    if fmt not in LABEL_FORMATS:
        fail(f"不支持的格式 {fmt}，可选: {'、'.join(LABEL_FORMATS)}")
    with _session(db) as session:
        handle = (
            output.open("w", encoding="utf-8-sig" if fmt == "csv" else "utf-8", newline="")
            if output
            else sys.stdout
        )
        count = 0
        try:
            writer = csv.DictWriter(handle, fieldnames=list(EXPORT_FIELDS)) if fmt == "csv" else None
            if writer:
                writer.writeheader()
            for row in iter_labels(session):
                if writer:
                    writer.writerow(row)
                else:
                    handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                count += 1
        finally:
            if output:
                handle.close()
    typer.echo(f"共 {count} 条标注", err=True)


@labels_app.command("coded")
def labels_coded(
    data: Path = typer.Argument(
        ..., metavar="DIR", help="导出文件或文件夹（labels.* 与 calls.* 同目录时按 call_id 合并）"
    ),
    db: str | None = typer.Option(None, "--db", help="数据库 URL"),
) -> None:
    """把导出文件中已标注的问题类别记到已入库的来电上（来源 export_coded）；重复运行不重复计数。"""
    from pipeline.corrections import store_coded_categories
    from pipeline.ingest import IngestError, read_export

    try:
        records = read_export(data).records
    except IngestError as exc:
        fail(str(exc))
    with _session(db) as session:
        changed = store_coded_categories(session, records)
        session.commit()
    coded = sum(1 for r in records if r.category)
    typer.echo(f"导出文件中带类别的来电 {coded} 通，本次记入 {changed} 通")


def register(app: typer.Typer) -> None:
    """Add the ``outcomes`` and ``labels`` groups to the main app."""
    app.add_typer(outcomes_app, name="outcomes")
    app.add_typer(labels_app, name="labels")
