"""Train, register and gate the ``escalation-risk`` model.

Training data comes from :mod:`models.risk.replay` (the production feature code
replayed night by night). A gradient-boosted tree model is calibrated
(isotonic, cross-validated) so its output reads as a probability; level
thresholds are then chosen on the later validation nights to meet the alert
budget and stored with the model. The promotion gate compares recall before
escalation at that budget with the current champion's.
"""

from __future__ import annotations

import json
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import joblib
import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.tracking import MlflowClient
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier

from models.gate import scalar_decision
from models.registry import (
    CHAMPION,
    GateResult,
    ModelNotFoundError,
    configure_mlflow,
    ensure_experiment,
    register_and_gate,
)
from models.risk.features import FEATURE_COLUMNS, RISK_COLUMNS, feature_matrix, monotone
from models.risk.metrics import alert_metrics, call_metrics, choose_thresholds, recall_curve, summary_lines
from models.risk.model import RISK_MODEL_NAME, RiskModel, RiskPyfunc, load_risk_model
from models.risk.plots import plot_recall_curves
from models.risk.replay import load_replay
from models.risk.site_rows import site_risk_rows
from models.site_data import learning_settings
from pipeline.risk.baseline import KeywordBaseline
from pipeline.risk.config import load_risk_config

EXPERIMENT = "escalation-risk"
VALIDATION_SHARE = 0.25
QUIET_KEEP = 0.25
MIN_TRAINING_NIGHTS = 60
"""Fewer labelled nights than this hold too few escalated problems (3 sample nights: ~35) to fit a
hazard whose thresholds carry over; the retrain flow then simulates this many nights instead."""


def labelled_nights(data_dir: Path) -> int:
    """How many simulator-output nights (``labels.csv`` beside ``calls.csv``) a folder holds."""
    return sum(1 for _ in Path(data_dir).glob("*/labels.csv"))


def split_by_night(
    frame: pd.DataFrame, validation_share: float = VALIDATION_SHARE
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Earlier nights train, the later ones validate (no future leaks into training)."""
    nights = sorted(frame["night"].unique())
    cut = nights[max(1, int(len(nights) * (1 - validation_share)))] if len(nights) > 1 else nights[0]
    return frame[frame["night"] < cut].reset_index(drop=True), frame[frame["night"] >= cut].reset_index(
        drop=True
    )


def fit_estimator(train: pd.DataFrame, seed: int = 0) -> Any:
    """Gradient-boosted trees, calibrated by cross-validation (isotonic when positives allow).

    Quiet-problem rows that did not escalate are most of a replay; a ``QUIET_KEEP`` share of them is
    kept with weight ``1 / QUIET_KEEP`` (same expected loss, a third of the fitting time)."""
    rng = np.random.default_rng(seed)
    quiet_negative = (train["rescore"].to_numpy() == 1) & (train["y"].to_numpy() == 0)
    keep = ~quiet_negative | (rng.random(len(train)) < QUIET_KEEP)
    train = train.loc[keep]
    weight = np.where(quiet_negative[keep], 1 / QUIET_KEEP, 1.0)
    if "weight" in train.columns:
        weight = weight * train["weight"].to_numpy(dtype=float)
    x = feature_matrix(train, RISK_COLUMNS)
    y = train["y"].to_numpy()
    positives = int(y.sum())
    if positives < 5 or positives == len(y):
        raise ValueError(f"训练数据中升级样本太少（{positives} 个），请模拟更多天数")
    base = HistGradientBoostingClassifier(
        max_iter=120,
        learning_rate=0.08,
        max_leaf_nodes=15,
        min_samples_leaf=40,
        l2_regularization=1.0,
        monotonic_cst=monotone(RISK_COLUMNS),
        random_state=seed,
    )
    method = "isotonic" if positives >= 300 else "sigmoid"
    return CalibratedClassifierCV(base, method=method, cv=3).fit(x, y, sample_weight=weight)


@dataclass
class RiskTrainResult:
    """What a training run produced."""

    run_id: str
    model_uri: str
    thresholds: dict[str, float]
    metrics: dict[str, float]
    gate: GateResult | None
    lines: list[str]


def _champion_score(frame: pd.DataFrame, budget: float) -> float | None:
    try:
        champion = load_risk_model(CHAMPION)
    except ModelNotFoundError:
        return None
    scores = champion.predict_proba(frame)
    return alert_metrics(frame, scores, choose_thresholds(frame, scores, budget)["yellow"]).recall


def train_and_register(
    data_dir: Path | None = None,
    days: int = 60,
    seed: int = 11,
    budget_per_1000: float | None = None,
    scale: float = 0.3,
    register: bool = True,
    progress: bool = True,
    min_nights: int = 0,
    site_db: str | None = None,
) -> RiskTrainResult:
    """Replay simulated nights, fit, choose thresholds, log to MLflow and pass the promotion gate.

    Without ``data_dir``, or when it holds fewer than ``min_nights`` labelled nights, a fresh
    simulation of ``days`` nights (``seed``) is made first. With ``site_db``, the store's scored
    calls whose 12398 outcome is known join the training rows, each weighted ``[learning]
    label_weight`` (validation stays on replayed nights, so the gate compares like with like).
    The gate compares recall before escalation at the alert budget on the
    validation nights, with thresholds chosen for each model on those same nights.
    """
    config = load_risk_config()
    budget = budget_per_1000 or config.alert_budget_per_1000
    notes: list[str] = []
    if data_dir is not None and labelled_nights(Path(data_dir)) < min_nights:
        notes.append(
            f"{data_dir} 只有 {labelled_nights(Path(data_dir))} 夜带标签数据（少于 {min_nights} 夜），"
            f"改用新模拟的 {days} 夜训练"
        )
        data_dir = None
    source = str(data_dir) if data_dir else f"simulated(days={days}, seed={seed}, scale={scale})"
    with tempfile.TemporaryDirectory() as tmp:
        if data_dir is None:
            from pipeline.simulator import simulate

            data_dir = Path(tmp) / "sim"
            simulate(data_dir, days=days, seed=seed, scale=scale, progress=progress)
        frame = load_replay(Path(data_dir), config, progress)
        train, val = split_by_night(frame)
        site = site_risk_rows(site_db, config)
        if len(site):
            weight = learning_settings().label_weight
            train = pd.concat(
                [train.assign(weight=1.0), site.assign(weight=float(weight))], ignore_index=True
            )
            notes.append(
                f"加入现场已知结果的来电 {len(site)} 条（其中 {int(site['y'].sum())} 条 12398 升级），权重 {weight}"
            )
        estimator = fit_estimator(train, seed)
        val_scores = estimator.predict_proba(feature_matrix(val, RISK_COLUMNS))[:, 1]
        thresholds = choose_thresholds(val, val_scores, budget)
        model = RiskModel(estimator, thresholds)
        model_metrics = alert_metrics(val, val_scores, thresholds["yellow"])
        baseline = KeywordBaseline()
        base_scores = baseline.predict_proba(val)
        base_thresholds = choose_thresholds(val, base_scores, budget)
        base_metrics = alert_metrics(val, base_scores, base_thresholds["yellow"])
        metrics = {
            **{f"val_{k}": v for k, v in call_metrics(val, val_scores).items()},
            **model_metrics.as_dict("val_"),
            **base_metrics.as_dict("baseline_val_"),
            **{f"threshold_{k}": v for k, v in thresholds.items()},
            "train_calls": float(len(train)),
            "train_positives": float(train["y"].sum()),
            "val_calls": float(len(val)),
        }
        lines = notes + summary_lines("模型", model_metrics) + summary_lines("关键词基线", base_metrics)
        forced_only = alert_metrics(val, val_scores, float("inf"))
        if forced_only.slips_per_1000 >= budget:
            lines.append(
                f"注意：仅强制规则就产生每千通 {forced_only.slips_per_1000:.1f} 张预警单，已达到预算 {budget:g}，"
                "模型无法再增加预警；请调高预算或 repeat_calls"
            )
        configure_mlflow()
        ensure_experiment(EXPERIMENT)
        workdir = Path(tmp) / "artifacts"
        workdir.mkdir()
        with mlflow.start_run(run_name="escalation-risk") as run:
            mlflow.log_params(
                {
                    "data": source,
                    "days": days,
                    "seed": seed,
                    "alert_budget_per_1000": budget,
                    "repeat_calls": config.repeat_calls,
                    "features": len(RISK_COLUMNS),
                    "hazard_days": config.hazard_days,
                    "replay_rows": len(frame),
                    "site_rows": len(site),
                    "site_positives": int(site["y"].sum()) if len(site) else 0,
                    "estimator": "HistGradientBoosting+CalibratedClassifierCV",
                }
            )
            mlflow.log_metrics({k: v for k, v in metrics.items() if np.isfinite(v)})
            curves = {"模型": recall_curve(val, val_scores), "关键词基线": recall_curve(val, base_scores)}
            plot = plot_recall_curves(curves, workdir / "recall_vs_budget.png")
            mlflow.log_artifact(str(plot), artifact_path="evaluation")
            mlflow.log_text("\n".join(lines), "evaluation/summary.txt")
            mlflow.log_dict(
                {"thresholds": thresholds, "baseline_thresholds": base_thresholds}, "thresholds.json"
            )
            model_path = workdir / "risk_model.joblib"
            joblib.dump(model, model_path)
            example = val[list(FEATURE_COLUMNS)].head(5).astype(float)
            info = mlflow.pyfunc.log_model(
                name="risk_model",
                python_model=RiskPyfunc(),
                artifacts={"risk_model": str(model_path)},
                input_example=example,
                pip_requirements=["scikit-learn", "pandas", "numpy", "joblib"],
            )
            run_id = run.info.run_id
    gate = None
    if register:
        champion = _champion_score(val, budget)
        gate = register_and_gate(
            RISK_MODEL_NAME, info.model_uri, run_id, scalar_decision(model_metrics.recall, champion)
        )
        MlflowClient().set_model_version_tag(
            RISK_MODEL_NAME, gate.version, "thresholds", json.dumps(thresholds)
        )
        lines.append(gate.reason)
    return RiskTrainResult(run_id, info.model_uri, thresholds, metrics, gate, lines)
