"""Train, register and load the ``escalation-risk`` model.

Training replays simulated nights in date order through the production feature
code (:class:`pipeline.features.History`), so the model sees exactly the
features the nightly batch will compute. The target is "this problem reaches
12398 within 30 days of this call". A gradient-boosted tree model is
calibrated (isotonic, cross-validated) so its output reads as a probability;
level thresholds are then chosen on the later validation nights to meet the
alert budget, and stored with the model.
"""

from __future__ import annotations

import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import joblib
import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient
from sklearn.calibration import CalibratedClassifierCV
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.metrics import average_precision_score, brier_score_loss, roc_auc_score
from tqdm import tqdm

from models.gate import scalar_decision
from models.registry import (
    CHAMPION,
    GateResult,
    ModelNotFoundError,
    configure_mlflow,
    ensure_experiment,
    register_and_gate,
    resolve_alias,
)
from models.risk_evaluation import (
    alert_metrics,
    choose_thresholds,
    plot_recall_curves,
    recall_curve,
    summary_lines,
)
from pipeline.config import horizon_days
from pipeline.features import FEATURE_COLUMNS, MODEL_COLUMNS, History, text_signals
from pipeline.records import CallRecord
from pipeline.risk.baseline import KeywordBaseline
from pipeline.risk.config import RiskConfig, load_risk_config
from pipeline.risk.rules import forcing_rules
from pipeline.scoring import call_view, night_of

RISK_MODEL_NAME = "escalation-risk"
EXPERIMENT = "escalation-risk"
VALIDATION_SHARE = 0.25


class RiskModel:
    """Calibrated escalation probability from the feature table, plus the level thresholds chosen for it."""

    def __init__(
        self,
        estimator: Any,
        thresholds: dict[str, float],
        columns: Sequence[str] = MODEL_COLUMNS,
        version: str = "unregistered",
    ) -> None:
        self.estimator = estimator
        self.thresholds = dict(thresholds)
        self.columns = list(columns)
        self.version = version

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Probability of a 12398 complaint within 30 days, one per row."""
        if len(features) == 0:
            return np.zeros(0)
        matrix = features[self.columns].to_numpy(dtype=float)
        return self.estimator.predict_proba(matrix)[:, 1]


class RiskPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow entry: the feature table in, escalation probabilities out."""

    def load_context(self, context) -> None:
        self.model: RiskModel = joblib.load(context.artifacts["risk_model"])

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> np.ndarray:
        return self.model.predict_proba(model_input)


def records_from_labeled(df: pd.DataFrame) -> list[CallRecord]:
    """CallRecords (with labels) from ``pipeline.simulator.load_labeled`` output."""
    records = []
    for row in df.itertuples(index=False):
        escalated_at = row.escalated_at if pd.notna(row.escalated_at) else None
        records.append(
            CallRecord(
                call_id=row.call_id,
                call_time=row.call_time.to_pydatetime(),
                phone=row.phone,
                unit=row.unit,
                transcript=row.transcript,
                customer_id=row.customer_id if isinstance(row.customer_id, str) and row.customer_id else None,
                area=row.area if isinstance(row.area, str) and row.area else None,
                channel=row.channel or "phone",
                duration_s=int(row.duration_s) if pd.notna(row.duration_s) else None,
                category=row.category,
                escalated_12398=bool(row.escalated_12398),
                escalated_at=escalated_at.to_pydatetime() if escalated_at is not None else None,
            )
        )
    return records


def replay(
    records: Sequence[CallRecord],
    config: RiskConfig,
    problem_ids: dict[str, str] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Features of every call, computed night by night in date order as production would.

    Each night's calls join the history before that night is scored (the batch
    sees the whole night); the labels travel alongside but never enter features.
    """
    by_night: dict[Any, list[CallRecord]] = {}
    for record in sorted(records, key=lambda r: r.call_time):
        by_night.setdefault(night_of(record.call_time), []).append(record)
    history = History(config)
    horizon = timedelta(days=horizon_days())
    rows: list[dict[str, Any]] = []
    for night in tqdm(sorted(by_night), desc="回放历史", unit="夜", disable=not progress):
        views = [call_view(r, r.category or "other") for r in by_night[night]]
        for view in views:
            history.add_call(view)
        for record, view in zip(by_night[night], views, strict=True):
            features = history.features(view, text_signals(view.transcript))
            escalated_at = record.escalated_at
            positive = (
                escalated_at is not None and record.call_time < escalated_at <= record.call_time + horizon
            )
            rows.append(
                {
                    **features,
                    "call_id": record.call_id,
                    "call_time": record.call_time,
                    "night": night,
                    "slip_key": f"{view.customer_key}:{view.category}",
                    "problem_id": (problem_ids or {}).get(
                        record.call_id, f"{view.customer_key}:{view.category}"
                    ),
                    "escalated_at": escalated_at,
                    "y": int(positive),
                    "forced": bool(forcing_rules(features, config)),
                }
            )
    return pd.DataFrame(rows)


def load_replay(data_dir: Path, config: RiskConfig, progress: bool = False) -> pd.DataFrame:
    """Replay a simulator output folder; calls made after their problem escalated are dropped
    (the customer no longer waits on 95598, and their label would be meaningless)."""
    from pipeline.simulator import load_labeled

    df = load_labeled(data_dir)
    frame = replay(
        records_from_labeled(df), config, dict(zip(df["call_id"], df["problem_id"], strict=True)), progress
    )
    after = frame["escalated_at"].notna() & (frame["call_time"] >= frame["escalated_at"])
    return frame.loc[~after].reset_index(drop=True)


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
    """Gradient-boosted trees, calibrated by cross-validation (isotonic when positives allow)."""
    x = train[list(MODEL_COLUMNS)].to_numpy(dtype=float)
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
        random_state=seed,
    )
    method = "isotonic" if positives >= 300 else "sigmoid"
    return CalibratedClassifierCV(base, method=method, cv=3).fit(x, y)


def call_metrics(frame: pd.DataFrame, scores: np.ndarray) -> dict[str, float]:
    """Call-level ranking and calibration figures."""
    y = frame["y"].to_numpy()
    if y.min() == y.max():
        return {}
    return {
        "average_precision": float(average_precision_score(y, scores)),
        "roc_auc": float(roc_auc_score(y, scores)),
        "brier": float(brier_score_loss(y, np.clip(scores, 0, 1))),
    }


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
    scale: float = 0.5,
    register: bool = True,
    progress: bool = True,
) -> RiskTrainResult:
    """Replay simulated nights, fit, choose thresholds, log to MLflow and pass the promotion gate.

    Without ``data_dir`` a fresh simulation of ``days`` nights (``seed``) is made first.
    The gate compares recall before escalation at the alert budget on the
    validation nights, with thresholds chosen for each model on those same nights.
    """
    config = load_risk_config()
    budget = budget_per_1000 or config.alert_budget_per_1000
    source = str(data_dir) if data_dir else f"simulated(days={days}, seed={seed}, scale={scale})"
    with tempfile.TemporaryDirectory() as tmp:
        if data_dir is None:
            from pipeline.simulator import simulate

            data_dir = Path(tmp) / "sim"
            simulate(data_dir, days=days, seed=seed, scale=scale, progress=progress)
        frame = load_replay(Path(data_dir), config, progress)
        train, val = split_by_night(frame)
        estimator = fit_estimator(train, seed)
        val_scores = estimator.predict_proba(val[list(MODEL_COLUMNS)].to_numpy(dtype=float))[:, 1]
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
        lines = summary_lines("模型", model_metrics) + summary_lines("关键词基线", base_metrics)
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
                    "features": len(MODEL_COLUMNS),
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


def load_risk_model(alias: str = CHAMPION, model_uri: str | None = None) -> RiskModel:
    """The risk model behind ``models:/escalation-risk@alias`` (or an explicit URI)."""
    configure_mlflow()
    if model_uri is None:
        model_uri, version = resolve_alias(RISK_MODEL_NAME, alias, "complaints risk train")
    else:
        version = model_uri.removeprefix("models:/") if model_uri.startswith("models:/") else model_uri
    try:
        loaded = mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        raise ModelNotFoundError(f"无法加载模型 {model_uri}: {str(exc).splitlines()[0]}") from exc
    model: RiskModel = loaded.unwrap_python_model().model
    model.version = version
    return model
