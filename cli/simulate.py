"""``complaints simulate``: write simulated nightly 95598 exports with labels."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from cli.errors import fail
from pipeline.labels import LABEL_ZH
from pipeline.simulator import DEFAULT_START, SimulationError, simulate


def _parse_start(value: str | None) -> date:
    if value is None:
        return DEFAULT_START
    try:
        return date.fromisoformat(value)
    except ValueError:
        fail(f"--start 日期格式应为 YYYY-MM-DD，收到 {value!r}")
        raise  # unreachable: fail() exits


def register(app: typer.Typer) -> None:
    """Add ``simulate`` to the main app."""

    @app.command("simulate", help="模拟 95598 来电，按夜写出通话导出文件（calls.csv）与标签（labels.csv）。")
    def simulate_cmd(
        out: Path = typer.Option(..., "--out", help="输出目录，每夜一个 YYYY-MM-DD 子目录"),
        days: int = typer.Option(3, "--days", help="模拟天数（夜数）"),
        seed: int = typer.Option(42, "--seed", help="随机种子：相同参数输出完全相同"),
        start: str | None = typer.Option(
            None, "--start", help=f"第一夜日期 YYYY-MM-DD，默认 {DEFAULT_START}"
        ),
        scale: float = typer.Option(1.0, "--scale", help="规模系数：1.0 约每夜 1000 通"),
        holdout: bool = typer.Option(False, "--holdout", help="使用留出措辞（用于冻结评估集）"),
    ) -> None:
        first = _parse_start(start)
        try:
            summary = simulate(out, days, seed, start=first, scale=scale, holdout=holdout, progress=True)
        except SimulationError as exc:
            fail(str(exc))
            return
        except OSError as exc:
            fail(f"无法写入输出目录 {out}: {exc.strerror or exc}")
            return
        console = Console()
        table = Table(title=f"模拟完成：{summary.calls} 通来电，{len(summary.nights)} 夜 → {summary.out_dir}")
        table.add_column("类别")
        table.add_column("来电数", justify="right")
        table.add_column("占比", justify="right")
        for label, n in summary.label_counts.items():
            table.add_row(f"{LABEL_ZH[label]} ({label})", str(n), f"{n / max(summary.calls, 1):.1%}")
        console.print(table)
        console.print(
            f"问题数 {summary.problems}，升级 12398 的问题 {summary.escalated_problems}"
            f"（{summary.escalation_rate:.1%}），升级相关来电 {summary.escalated_calls}；"
            f"每夜来电 {min(summary.calls_per_night)}–{max(summary.calls_per_night)}；措辞分区 {summary.split}"
        )
