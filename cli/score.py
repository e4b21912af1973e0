"""``complaints score`` and ``complaints risk train|evaluate`` (``complaints slips ...`` lives in cli/slips.py)."""

from __future__ import annotations

from pathlib import Path

import typer

from cli.errors import fail

risk_app = typer.Typer(help="12398 升级风险模型：训练与评估。", no_args_is_help=True)


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
    raised = [r for r in summary.rescored if r.slip_no]
    typer.echo(
        f"夜间复评：今晚无来电的未办结问题 {len(summary.rescored)} 个，新发或提级预警单 {len(raised)} 张"
    )
    if summary.output:
        typer.echo(f"结果已写入 {summary.output}")


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
    site_db: str | None = typer.Option(
        None, "--site-db", help="加入该数据库中已知 12398 结果的现场来电（按 [learning] label_weight 加权）"
    ),
) -> None:
    """按日期回放模拟数据训练升级风险模型，选定分级阈值，记入 MLflow 并注册 escalation-risk。"""
    from models.risk_model import train_and_register
    from pipeline.simulator import DatasetError, SimulationError

    if data is not None and not data.is_dir():
        fail(f"数据目录不存在: {data}")
    try:
        result = train_and_register(data, days, seed, budget, scale, register, site_db=site_db)
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
    app.add_typer(risk_app, name="risk")
