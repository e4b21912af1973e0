"""``complaints validate``: check a call export before it enters the nightly run."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import typer

from cli.errors import fail
from pipeline.config import get_settings
from pipeline.ingest import IngestError, read_export, write_quarantine
from pipeline.validation import REASONS


def _known_ids(path: Path) -> set[str]:
    """Call ids from a previous export, or from a text file with one id per line."""
    if path.suffix.lower() == ".txt":
        return {line.strip() for line in path.read_text(encoding="utf-8-sig").splitlines() if line.strip()}
    return {record.call_id for record in read_export(path).records}


def validate(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="导出文件 (CSV/JSONL/Parquet) 或目录"),
    quarantine: Path | None = typer.Option(
        None, "--quarantine", "-q", help="隔离行写入的文件 (.csv 或 .jsonl); 默认写入隔离目录"
    ),
    known: Path | None = typer.Option(
        None, "--known", help="以前批次的导出文件或工单编号列表 (.txt), 用于发现跨批次重复"
    ),
) -> None:
    """校验来电导出文件: 统计读取、接受、隔离 (按原因) 和重复的行, 并写出隔离行。"""
    try:
        known_ids = _known_ids(known) if known else None
        result = read_export(input_path, known_call_ids=known_ids)
    except IngestError as err:
        fail(str(err))
        return
    except OSError as err:
        fail(f"无法读取 {err.filename}: {err.strerror}")
        return
    rows = [q for q in result.quarantined if q.row_number > 0]
    typer.echo(f"文件数: {len(result.files)}")
    typer.echo(f"读取行数: {result.rows_read}")
    typer.echo(f"接受: {result.accepted}")
    typer.echo(f"隔离: {len(rows) - len(result.duplicates)}")
    by_reason = Counter(q.reason_code for q in rows if q.reason_code != "duplicate_call_id")
    for code, count in by_reason.most_common():
        typer.echo(f"  {REASONS.get(code, code)} ({code}): {count}")
    typer.echo(f"重复工单编号: {len(result.duplicates)}")
    for bad in result.bad_files:
        typer.echo(f"整文件隔离: {bad.source}（{bad.reason}）")
    for unknown in result.unknown_files:
        typer.echo(f"未识别的文件（未读取）: {unknown}")
    if result.unknown_channels:
        listed = "，".join(f"{name} {n}" for name, n in result.unknown_channels.most_common())
        typer.echo(f"未知渠道（照常评分，计数）: {listed}")
    if result.quarantined or quarantine:
        target = quarantine or get_settings().quarantine_dir / f"{input_path.stem}-quarantine.csv"
        try:
            written = write_quarantine(result.quarantined, target)
        except OSError as err:
            fail(f"无法写入隔离文件 {target}: {err.strerror}")
            return
        typer.echo(f"隔离行已写入: {written}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("validate")(validate)
