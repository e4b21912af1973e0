"""Commands that run the Prefect flows: nightly scoring, retraining, bootstrap and deployment."""

from __future__ import annotations

import os
from pathlib import Path

import typer

from cli.errors import fail


def _user_errors() -> tuple[type[Exception], ...]:
    """Exceptions whose message is meant for the user (imported lazily: Prefect is slow to import)."""
    from flows.deploy import ServerError
    from models.data import DataError
    from models.registry import ModelNotFoundError
    from pipeline.counting import CountMismatch
    from pipeline.ingest import IngestError
    from pipeline.nights import NightError
    from pipeline.storage import DatabaseError

    return (
        ServerError,
        NightError,
        DataError,
        ModelNotFoundError,
        IngestError,
        DatabaseError,
        CountMismatch,
        ValueError,
    )


def _quiet_prefect_defaults() -> None:
    """No telemetry, and patience for the temporary server on a busy two-core machine."""
    os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "120")


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def run_nightly_command(
    night: str | None = typer.Option(None, "--night", help="评分日期 YYYY-MM-DD（默认昨天，北京时间）"),
    source: Path | None = typer.Option(None, "--source", help="当晚导出文件或目录（默认 inbox/日期/）"),
    db_url: str | None = typer.Option(None, "--db-url", help="数据库 URL（默认配置中的 SQLite）"),
    partition_size: int = typer.Option(1000, "--partition-size", min=1, help="每个分区的来电数"),
    dask_address: str | None = typer.Option(
        None, "--dask-address", help="已有 Dask 集群地址，如 tcp://host:8786"
    ),
    runner: str = typer.Option("threads", "--runner", help="本地执行方式: threads 或 processes"),
    workers: int = typer.Option(2, "--workers", min=1, help="本地并行数"),
) -> None:
    """运行夜间评分流程（入库、分类、风险评估、预警单、报告）。"""
    _quiet_prefect_defaults()
    if runner not in ("threads", "processes"):
        fail(f"--runner 只能是 threads 或 processes: {runner}")
    from flows.nightly import run_nightly

    try:
        result = run_nightly(
            night=night,
            source=str(source) if source else None,
            db_url=db_url,
            partition_size=partition_size,
            dask_address=dask_address,
            runner=runner,
            workers=workers,
        )
    except _user_errors() as exc:
        fail(_first_line(exc))
    except Exception as exc:
        fail(f"夜间评分失败: {_first_line(exc)}（详见上方日志，重跑会从中断处继续）")
    counts = result["counts"]
    slips = result["slips"]
    typer.echo(
        f"{result['night']}: 读入 {counts.get('rows_read', 0)} 行，隔离 {counts.get('quarantined', 0)} 行，"
        f"本次评分 {counts.get('to_score', 0)} 条，当晚共 {result['calls']} 条；"
        f"预警单 红 {slips['red']} / 橙 {slips['orange']} / 黄 {slips['yellow']}"
    )
    typer.echo(counts.get("identity", ""))
    for bad in counts.get("bad_files", []):
        typer.echo(f"整文件隔离: {bad['source']}（{bad['reason']}）")
    for unknown in counts.get("unknown_files", []):
        typer.echo(f"未识别的文件（未读取）: {unknown}")
    if result.get("drift"):
        typer.echo(result["drift"])
    typer.echo(f"报告: {result['report']}")


def retrain_command(
    data_dir: Path | None = typer.Option(None, "--data-dir", help="带标签的训练数据（默认 data/sample/）"),
    preset: str = typer.Option("quick", "--preset", help="训练预设: quick 或 default"),
    kinds: str = typer.Option("baseline,transformer,risk", "--kinds", help="要训练的模型，逗号分隔"),
    base: Path | None = typer.Option(None, "--base", help="Transformer 预训练底座目录"),
    db: str | None = typer.Option(None, "--db", help="读取现场标注与转写的数据库（默认配置中的数据库）"),
    use_store: bool | None = typer.Option(
        None, "--store/--no-store", help="是否用库中的现场标注与转写（默认 [learning] use_store）"
    ),
) -> None:
    """运行重训练流程：训练、评估、注册，并按门槛晋升冠军模型。"""
    _quiet_prefect_defaults()
    from flows.retrain import comparison_markdown, retrain

    try:
        rows = retrain(
            data_dir=str(data_dir) if data_dir else None,
            preset=preset,
            kinds=[k.strip() for k in kinds.split(",") if k.strip()],
            base=str(base) if base else None,
            db_url=db,
            use_store=use_store,
        )
    except _user_errors() as exc:
        fail(_first_line(exc))
    except Exception as exc:
        fail(f"重训练失败: {_first_line(exc)}")
    typer.echo(comparison_markdown(rows))


def bootstrap_command(
    data_dir: Path | None = typer.Option(None, "--data-dir", help="训练数据（默认 data/sample/）"),
    preset: str = typer.Option("quick", "--preset", help="训练预设"),
) -> None:
    """若尚无冠军分类模型，用样例数据快速训练一个（首次运行用）。"""
    _quiet_prefect_defaults()
    from flows.bootstrap import bootstrap

    try:
        message = bootstrap(str(data_dir) if data_dir else None, preset)
    except _user_errors() as exc:
        fail(_first_line(exc))
    except Exception as exc:
        fail(f"初始化失败: {_first_line(exc)}")
    typer.echo(message)


def deploy_command(
    port: int = typer.Option(4200, "--port", help="本地 Prefect 服务端口（未设置 PREFECT_API_URL 时）"),
    retrain_preset: str | None = typer.Option(None, "--retrain-preset", help="每周重训练使用的预设"),
) -> None:
    """启动（或连接）Prefect 服务，按计划运行夜间评分（每天 02:00 北京时间）与每周重训练。"""
    _quiet_prefect_defaults()
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from flows.deploy import ServerError, ensure_server, serve_all
    from pipeline.storage import DatabaseError, upgrade

    try:
        upgrade().dispose()
    except DatabaseError as exc:
        fail(str(exc))
    try:
        server = ensure_server(port)
    except ServerError as exc:
        fail(str(exc))
    state = "已启动" if server.started else "已连接"
    typer.echo(f"Prefect 服务{state}: 界面 {server.ui_url}（API {server.api_url}）")
    if server.log:
        typer.echo(f"服务日志: {server.log}")
    typer.echo("按 Ctrl+C 停止调度（计划保持启用）。")
    os.environ["PREFECT_API_URL"] = server.api_url
    with temporary_settings(updates={PREFECT_API_URL: server.api_url}):
        serve_all(retrain_preset)


def prefect_server_command(
    port: int = typer.Option(4200, "--port", help="本地 Prefect 服务端口"),
    quiet: bool = typer.Option(False, "--quiet", help="只输出 API 地址（脚本用）"),
) -> None:
    """确保有可用的 Prefect 服务（PREFECT_API_URL 或本地后台启动），并给出界面地址。"""
    _quiet_prefect_defaults()
    from flows.deploy import ServerError, ensure_server

    try:
        server = ensure_server(port)
    except ServerError as exc:
        fail(str(exc))
    if quiet:
        typer.echo(server.api_url)
        return
    state = "已启动" if server.started else "已在运行"
    typer.echo(f"Prefect 服务{state}: 界面 {server.ui_url}（API {server.api_url}）")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("run-nightly")(run_nightly_command)
    app.command("retrain")(retrain_command)
    app.command("bootstrap")(bootstrap_command)
    app.command("deploy")(deploy_command)
    app.command("prefect-server")(prefect_server_command)
