"""Flow ``retrain``: train the classifiers and the risk model, gate them, publish a comparison.

Each candidate goes through the same functions as ``complaints train``
(``models.training.train_classifier`` and the risk model's entry point):
they log to MLflow, evaluate on the frozen set against the current champion
and register the candidate, promoting it only when it passes the gate. The
flow runs them one after another (two cores; the gate of the transformer must
see the baseline's outcome) and turns the outcomes into one table artifact.
"""

from __future__ import annotations

import importlib.util
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_markdown_artifact, create_table_artifact

from flows.retries import RETRY
from pipeline.config import SAMPLE_DIR, get_settings

FLOW_NAME = "retrain"
KINDS: tuple[str, ...] = ("baseline", "transformer", "ensemble", "risk")


def _row(kind: str, outcome: Any) -> dict[str, Any]:
    gate = getattr(outcome, "gate", None)
    metrics = getattr(outcome, "metrics", {}) or {}
    return {
        "model": kind,
        "version": f"{gate.name}/{gate.version}" if gate else "-",
        "candidate": round(gate.candidate_score, 4) if gate else None,
        "champion": round(gate.champion_score, 4) if gate and gate.champion_score is not None else None,
        "promoted": bool(gate.promoted) if gate else False,
        "decision": gate.reason if gate else "未注册",
        "gate_metric": "recall@budget" if kind == "risk" else "macro_f1",
        "metrics": ", ".join(
            f"{k}={v:.3f}" for k, v in sorted(metrics.items()) if "macro_f1" in k or "auc" in k
        ),
    }


@task(name="train-classifier", **RETRY)
def train_classifier_task(
    kind: str,
    data_dir: str,
    base: str | None,
    preset: str,
    eval_dir: str | None = None,
    site_db: str | None = None,
) -> dict[str, Any]:
    """One classifier through ``models.training.train_classifier`` (train, evaluate, register, gate)."""
    from models.training import train_classifier

    outcome = train_classifier(
        kind, data_dir, base=base, preset=preset, register=True, eval_dir=eval_dir, site_db=site_db
    )
    return _row(kind, outcome)


@task(name="train-risk-model", **RETRY)
def train_risk_task(data_dir: str, site_db: str | None = None) -> dict[str, Any]:
    """The escalation-risk model through its own entry point (``complaints risk train``), gated the same way.

    It has no presets. A folder with fewer than 60 labelled nights (the bundled samples have 3) is
    replaced by 60 freshly simulated nights: a hazard needs that many escalations to learn from.
    """
    from models import risk_model
    from models.risk.train import MIN_TRAINING_NIGHTS

    outcome = risk_model.train_and_register(
        Path(data_dir),
        days=MIN_TRAINING_NIGHTS,
        register=True,
        progress=False,
        min_nights=MIN_TRAINING_NIGHTS,
        site_db=site_db,
    )
    return _row("risk", outcome)


def comparison_markdown(rows: Sequence[dict[str, Any]]) -> str:
    """The comparison as a markdown table (also printed by ``complaints retrain``)."""
    lines = [
        "| 模型 | 版本 | 候选得分 | 冠军得分 | 晋升 | 说明 |",
        "|---|---|---|---|---|---|",
    ]
    for r in rows:
        promoted = "是" if r["promoted"] else "否"
        lines.append(
            f"| {r['model']} | {r['version']} | {r['candidate']} | {r['champion']} | {promoted} | {r['decision']} |"
        )
    return "\n".join(lines) + "\n"


@flow(name=FLOW_NAME, log_prints=True)
def retrain(
    data_dir: str | None = None,
    preset: str = "quick",
    kinds: list[str] | None = None,
    base: str | None = None,
    eval_dir: str | None = None,
    db_url: str | None = None,
    use_store: bool | None = None,
) -> list[dict[str, Any]]:
    """Train each kind in ``kinds`` (default: baseline, transformer, risk) on ``data_dir`` (default: the samples).

    Both models also learn from the site's store (``db_url``, default the
    configured database): the classifiers from its labelled calls, its transcripts
    and its newest labels for the gate, the risk model from its scored calls whose
    12398 outcome is known; ``use_store`` (default ``[learning] use_store``) turns that off.
    ``eval_dir`` replaces the bundled frozen evaluation sets (tests use tiny ones).
    """
    from models.site_data import learning_settings

    logger = get_run_logger()
    data = str(Path(data_dir) if data_dir else SAMPLE_DIR)
    store = learning_settings().use_store if use_store is None else use_store
    site_db = (db_url or get_settings().db_url) if store else None
    wanted = list(kinds or KINDS)
    unknown = [k for k in wanted if k not in KINDS]
    if unknown:
        raise ValueError(f"未知的模型类型: {', '.join(unknown)}（可选 {', '.join(KINDS)}）")
    rows: list[dict[str, Any]] = []
    failures: list[str] = []
    for kind in wanted:
        if kind == "risk" and importlib.util.find_spec("models.risk_model") is None:
            logger.warning("风险模型训练入口 models.risk_model 尚不存在，跳过")
            rows.append({**_row(kind, None), "decision": "跳过：风险模型训练入口不存在"})
            continue
        logger.info("训练 %s（预设 %s，数据 %s）", kind, preset, data)
        future = (
            train_risk_task.submit(data, site_db)
            if kind == "risk"
            else train_classifier_task.submit(kind, data, base, preset, eval_dir, site_db)
        )
        future.wait()
        if future.state.is_completed():
            rows.append(future.result())
        else:
            message = str(future.state.message or "失败").splitlines()[0]
            failures.append(f"{kind}（{message}）")
            rows.append({**_row(kind, None), "decision": f"失败：{message}"})
    create_table_artifact(rows, key="retrain-comparison", description="候选模型与冠军模型对比")
    create_markdown_artifact(comparison_markdown(rows), key="retrain-summary", description="重训练结果")
    if failures:
        raise RuntimeError(f"以下模型训练失败: {'；'.join(failures)}")
    return rows
