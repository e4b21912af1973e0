"""``complaints pretrain|train|classify|evaluate``: the complaint classifier from the command line."""

from __future__ import annotations

import hashlib
from pathlib import Path

import typer

from cli.errors import fail
from pipeline.config import SAMPLE_DIR, get_settings

PRESETS = ("quick", "default")


def _check_preset(preset: str) -> None:
    if preset not in PRESETS:
        fail(f"未知的预设 {preset}，可选: {', '.join(PRESETS)}")


def pretrain_command(
    data: Path = typer.Option(SAMPLE_DIR, "--data", help="无标注来电文本 (模拟器输出目录或导出文件)"),
    out: Path | None = typer.Option(None, "--out", help="输出目录; 默认 models_dir/bert-zh-compact"),
    preset: str = typer.Option("default", "--preset", help="quick (几分钟) 或 default"),
    steps: int | None = typer.Option(None, "--steps", min=1, help="覆盖预设的训练步数"),
    ship: bool = typer.Option(
        False, "--ship", help="同时以半精度写入仓库自带的基础模型 data/base/（首次运行用）"
    ),
) -> None:
    """用整词掩码 MLM 预训练紧凑中文 BERT, 作为离线默认基础模型; 记录到 MLflow 实验 bert-pretraining。"""
    _check_preset(preset)
    from models.data import DataError, load_unlabeled_texts
    from models.pretrain import pretrain_config
    from models.pretrain_tracking import pretrain_logged
    from models.settings import classifier_settings, default_base_dir
    from models.text_prep import TextPrep
    from models.transformer_training import pretraining_texts

    try:
        transcripts = load_unlabeled_texts(data)
    except DataError as err:
        fail(str(err))
        return
    if not transcripts:
        fail(f"{data} 中没有来电文本")
        return
    from pipeline.simulator.textbank import BANK_DIR, text_bank

    # the writers' items as written, besides the calls built from them: language beyond the call layout
    texts = pretraining_texts(transcripts, TextPrep(max_chars=classifier_settings().max_chars))
    texts += [item.text for item in text_bank().items]
    bank = hashlib.sha256(b"".join(p.read_bytes() for p in sorted(BANK_DIR.glob("*.jsonl")))).hexdigest()
    cfg = pretrain_config(preset, **({"steps": steps} if steps else {}))
    outcome = pretrain_logged(texts, out or default_base_dir(), cfg, data)
    if ship:
        from models.base_shipping import ship_base
        from models.pretrain_tracking import corpus_fingerprint
        from models.transformer_training import SHIPPED_BASE

        source = {
            "data": str(data),
            "simbank_sha256": bank,
            "simbank_items": len(text_bank()),
            "preset": preset,
            "steps": cfg.steps,
            "n_texts": len(texts),
            "corpus_sha256": corpus_fingerprint(texts),
            "mlflow_run": outcome.run_id,
            "final_mlm_loss": round(outcome.final_loss, 4),
            "final_spread": round(outcome.final_spread, 4),
        }
        typer.echo(f"已写入仓库基础模型: {ship_base(outcome.path, SHIPPED_BASE, source)}")
    typer.echo(f"基础模型已保存: {outcome.path}")
    typer.echo(
        f"MLflow 运行: {outcome.run_id}; 最终 MLM 损失 {outcome.final_loss:.3f}, 顶层离散度 {outcome.final_spread:.3f}"
    )
    if outcome.collapsed:
        typer.echo("表示已坍缩: 微调会从随机权重开始。请用更多 --steps 重新预训练。", err=True)


def train_command(
    model: str = typer.Option(
        "baseline", "--model", help="baseline、transformer 或 ensemble (微调模型与 n-gram 融合)"
    ),
    base: Path | None = typer.Option(
        None, "--base", help="本地 BERT 检查点目录 (vocab.txt + config.json + 权重)"
    ),
    data: Path = typer.Option(SAMPLE_DIR, "--data", help="带标注的训练数据目录"),
    preset: str = typer.Option("default", "--preset", help="quick 或 default"),
    eval_dir: Path | None = typer.Option(None, "--eval-dir", help="冻结评估集根目录; 默认 data/eval"),
    register: bool = typer.Option(True, "--register/--no-register", help="注册到 MLflow 并执行晋升门槛"),
    site_db: str | None = typer.Option(
        None,
        "--site-db",
        help="加入该数据库中的现场标注 (人工更正、导出标注), 并按时间留出最近标注供门槛比较",
    ),
) -> None:
    """训练分类模型, 记录到 MLflow, 注册为挑战者并在不劣于冠军时晋升。"""
    _check_preset(preset)
    if model not in ("baseline", "transformer", "ensemble"):
        fail("--model 只能是 baseline、transformer 或 ensemble")
    from models.data import DataError
    from models.evaluation import format_table
    from models.onnx_export import AgreementError
    from models.registry import ModelNotFoundError
    from models.training import train_classifier
    from models.transformer_training import BaseModelError
    from pipeline.ingest import IngestError

    try:
        outcome = train_classifier(
            model, data, base=base, preset=preset, register=register, eval_dir=eval_dir, site_db=site_db
        )
    except (DataError, IngestError, BaseModelError, AgreementError, ModelNotFoundError) as err:
        fail(str(err))
        return
    typer.echo(format_table(list(outcome.reports.values())))
    typer.echo(f"MLflow 运行: {outcome.run_id}")
    if outcome.gate:
        state = "已晋升为冠军" if outcome.gate.promoted else "保留为挑战者"
        typer.echo(f"注册版本: {outcome.version} ({state}); {outcome.gate.reason}")


def classify_command(
    input_path: Path = typer.Argument(..., metavar="INPUT", help="导出文件 (CSV/JSONL/Parquet) 或目录"),
    output: Path = typer.Option(..., "--output", "-o", help="输出 JSONL 文件"),
    model_uri: str | None = typer.Option(None, "--model-uri", help="MLflow 模型 URI; 默认冠军模型"),
) -> None:
    """用冠军模型 (或指定模型) 对来电分类, 每行输出 call_id、类别、置信度、各类概率和是否需人工复核。"""
    from models.batch_classify import classify_file
    from models.registry import ModelNotFoundError, configure_mlflow, load_classifier
    from models.types import warm_up
    from pipeline.ingest import IngestError, write_quarantine

    if not input_path.exists():
        fail(f"文件不存在: {input_path}")
    configure_mlflow()
    try:
        classifier = load_classifier(model_uri=model_uri)
        warm_up(classifier, wait=False)
        outcome = classify_file(input_path, output, classifier)
    except (ModelNotFoundError, IngestError) as err:
        fail(str(err))
        return
    except OSError as err:
        fail(f"无法读写 {err.filename}: {err.strerror}")
        return
    typer.echo(f"模型: {classifier.version}")
    typer.echo(f"已分类: {outcome.written} 通, 需人工复核: {outcome.needs_review} 通 -> {output}")
    if outcome.quarantined:
        target = get_settings().quarantine_dir / f"{input_path.stem}-classify-quarantine.csv"
        write_quarantine(outcome.quarantined, target)
        typer.echo(f"隔离: {len(outcome.quarantined)} 行, 已写入 {target}")


def evaluate_command(
    eval_dir: Path | None = typer.Option(None, "--eval-dir", help="冻结评估集根目录; 默认 data/eval"),
    model_uri: str | None = typer.Option(None, "--model-uri", help="MLflow 模型 URI; 默认冠军模型"),
) -> None:
    """在开发集 (dev)、封存测试集 (test) 与模拟留出集上评估冠军模型, 打印宏F1及90%区间、各语体、各类别和复核阈值。"""
    from models.data import DataError, by_register, eval_sets
    from models.evaluation import evaluate_classifier, format_table
    from models.registry import ModelNotFoundError, configure_mlflow, load_classifier
    from models.review import choose_threshold, review_effect

    configure_mlflow()
    try:
        sets = eval_sets(eval_dir)
        classifier = load_classifier(model_uri=model_uri)
    except (DataError, ModelNotFoundError) as err:
        fail(str(err))
        return
    if not sets:
        fail(
            f"没有找到冻结评估集 (simulated / independent/dev / independent/test): {eval_dir or 'data/eval'}"
        )
    reports, rows, outcomes = [], [], {}
    for name, df in sets.items():
        report, preds = evaluate_classifier(name, classifier, df)
        reports.append(report)
        outcomes[name] = preds
        rows.append(report)
        for register_name, part in by_register(df).items():
            rows.append(evaluate_classifier(f"{name}:{register_name}", classifier, part)[0])
    typer.echo(f"模型: {classifier.version}")
    typer.echo(format_table(rows))
    for report in reports:
        typer.echo(f"\n[{report.name}] 各类别:")
        typer.echo(report.per_class.round(3).to_string())
    typer.echo(f"\n复核阈值（模型当前 {classifier.review_threshold:.3f}）:")
    for name in ("dev", "test"):
        if name not in sets:
            continue
        preds, truth = outcomes[name], sets[name]["category"].tolist()
        conf = [p.confidence for p in preds]
        correct = [p.category == t for p, t in zip(preds, truth, strict=True)]
        share, capture = review_effect(conf, correct, classifier.review_threshold)
        typer.echo(f"  {name}: 送复核 {share:.1%}，覆盖错误 {capture:.1%}")
        if name == "dev":
            typer.echo(f"  在 dev 上重新选择: {choose_threshold(conf, correct).summary()}")


def register(app: typer.Typer) -> None:
    """Add this area's commands to the main app."""
    app.command("pretrain")(pretrain_command)
    app.command("train")(train_command)
    app.command("classify")(classify_command)
    app.command("evaluate")(evaluate_command)
