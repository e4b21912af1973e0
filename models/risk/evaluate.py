"""The registered risk model beside the keyword baseline on held-out nights, at equal workload.

Figures are those of :mod:`models.risk.metrics`; the run is logged to the
MLflow experiment ``escalation-risk-evaluation`` with the chart and the curves as CSV.
"""

from __future__ import annotations

import tempfile
from dataclasses import dataclass
from pathlib import Path

import mlflow
import numpy as np
import pandas as pd

from models.registry import configure_mlflow, ensure_experiment
from models.risk.metrics import (
    AlertMetrics,
    alert_metrics,
    level_table,
    recall_curve,
    summary_lines,
    threshold_for_budget,
)
from models.risk.model import load_risk_model
from models.risk.plots import plot_recall_curves
from models.risk.replay import load_replay
from pipeline.config import DATA_DIR, get_settings
from pipeline.risk.baseline import KeywordBaseline
from pipeline.risk.config import risk_config_for

EVALUATION_EXPERIMENT = "escalation-risk-evaluation"


@dataclass
class EvaluationResult:
    """Figures of one evaluation run, ready to print and to paste into docs/risk-and-slips.md."""

    model: AlertMetrics
    baseline: AlertMetrics
    thresholds: dict[str, float]
    curves: dict[str, pd.DataFrame]
    levels: pd.DataFrame
    plot: Path
    run_id: str | None
    data: str
    lines: list[str]


def _evaluation_data(data_dir: Path | None, workdir: Path, days: int, seed: int, scale: float) -> Path:
    """The folder to evaluate on: given, else the frozen simulated set, else a fresh held-out simulation."""
    if data_dir is not None:
        return Path(data_dir)
    frozen = DATA_DIR / "eval" / "simulated"
    if frozen.is_dir() and any(frozen.glob("*/labels.csv")):
        return frozen
    from pipeline.simulator import simulate

    out = workdir / "eval-sim"
    simulate(out, days=days, seed=seed, scale=scale, holdout=True)
    return out


def evaluate(
    data_dir: Path | None = None,
    alias: str = "champion",
    out_dir: Path | None = None,
    days: int = 30,
    seed: int = 2027,
    scale: float = 0.5,
    log_to_mlflow: bool = True,
    progress: bool = True,
) -> EvaluationResult:
    """Score held-out simulated nights with the registered model and the keyword baseline, side by side.

    The baseline gets the threshold that gives it the same slips per 1,000 calls
    as the model, so the comparison is at equal workload.
    """
    model = load_risk_model(alias)
    config = risk_config_for(model)
    out_dir = Path(out_dir) if out_dir else get_settings().reports_dir / "risk"
    with tempfile.TemporaryDirectory() as tmp:
        source = _evaluation_data(data_dir, Path(tmp), days, seed, scale)
        frame = load_replay(source, config, progress)
    scores = model.predict_proba(frame)
    model_metrics = alert_metrics(frame, scores, config.thresholds["yellow"])
    base_scores = KeywordBaseline().predict_proba(frame)
    base_yellow = threshold_for_budget(frame, base_scores, model_metrics.slips_per_1000)
    base_metrics = alert_metrics(frame, base_scores, base_yellow)
    curves = {"模型": recall_curve(frame, scores), "关键词基线": recall_curve(frame, base_scores)}
    plot = plot_recall_curves(curves, out_dir / "recall_vs_budget.png")
    levels = level_table(frame, scores, config)
    lines = [
        f"评估数据: {source}（{len(frame)} 通来电，模型 {model.version}）",
        *summary_lines("模型", model_metrics),
        *summary_lines("关键词基线（同等预警量）", base_metrics),
        "各等级来电中最终升级的比例: "
        + "，".join(
            f"{lv} {row.escalated_share:.1%}（{int(row.calls)} 通）" for lv, row in levels.iterrows()
        ),
        f"召回率-预警量曲线: {plot}",
    ]
    run_id = None
    if log_to_mlflow:
        configure_mlflow()
        ensure_experiment(EVALUATION_EXPERIMENT)
        with mlflow.start_run(run_name=f"evaluate-{model.version.replace('/', '-')}") as run:
            mlflow.log_params({"model": model.version, "data": str(source), "calls": len(frame)})
            mlflow.log_metrics(
                {
                    k: v
                    for k, v in {**model_metrics.as_dict(), **base_metrics.as_dict("baseline_")}.items()
                    if np.isfinite(v)
                }
            )
            mlflow.log_artifact(str(plot), artifact_path="evaluation")
            mlflow.log_text("\n".join(lines), "evaluation/summary.txt")
            for name, curve in curves.items():
                key = "model" if name == "模型" else "baseline"
                mlflow.log_text(curve.to_csv(index=False), f"evaluation/recall_curve_{key}.csv")
            run_id = run.info.run_id
    return EvaluationResult(
        model=model_metrics,
        baseline=base_metrics,
        thresholds=dict(config.thresholds),
        curves=curves,
        levels=levels,
        plot=plot,
        run_id=run_id,
        data=str(source),
        lines=lines,
    )
