"""MLflow: local tracking, the promotion gate, and loading a classifier by alias.

A new model always becomes ``challenger``; it takes ``champion`` only when its
score on the frozen evaluation set is not worse than the champion's minus a
margin, so a bad retrain never reaches the nightly run by itself.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import mlflow
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from models.gate import GateDecision
from models.settings import CLASSIFIER_NAME
from pipeline.config import get_settings, offline_environment

CHAMPION = "champion"
CHALLENGER = "challenger"


class ModelNotFoundError(Exception):
    """No model version behind the requested name/alias; message is user-facing (Chinese)."""


@dataclass
class GateResult:
    """Outcome of registering a candidate and comparing it with the champion."""

    name: str
    version: str
    promoted: bool
    candidate_score: float
    champion_score: float | None
    reason: str
    difference_low: float | None = None
    difference_high: float | None = None


def _ensure_sqlite_parent(uri: str) -> None:
    if uri.startswith("sqlite:///"):
        Path(uri.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)


def configure_mlflow(tracking_uri: str | None = None) -> None:
    """Point tracking and registry at the configured store (SQLite under var/ by default)."""
    offline_environment()
    os.environ.setdefault("MLFLOW_ENABLE_ARTIFACTS_PROGRESS_BAR", "false")
    uri = tracking_uri or get_settings().mlflow_tracking_uri
    _ensure_sqlite_parent(uri)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)


def ensure_experiment(name: str) -> str:
    """Experiment id of ``name``, creating it with artifacts under ``settings.mlflow_artifacts``."""
    client = MlflowClient()
    existing = client.get_experiment_by_name(name)
    if existing is not None:
        mlflow.set_experiment(experiment_id=existing.experiment_id)
        return existing.experiment_id
    artifacts = get_settings().mlflow_artifacts.resolve()
    artifacts.mkdir(parents=True, exist_ok=True)
    exp_id = client.create_experiment(name, artifact_location=artifacts.as_uri() + f"/{name}")
    mlflow.set_experiment(experiment_id=exp_id)
    return exp_id


def champion_exists(name: str = CLASSIFIER_NAME) -> bool:
    """True when ``name`` has a version carrying the champion alias."""
    try:
        MlflowClient().get_model_version_by_alias(name, CHAMPION)
    except MlflowException:
        return False
    return True


def alias_version(name: str, alias: str = CHAMPION) -> str | None:
    """Version number behind an alias, or None."""
    try:
        return str(MlflowClient().get_model_version_by_alias(name, alias).version)
    except MlflowException:
        return None


def register_and_gate(name: str, model_uri: str, run_id: str, decision: GateDecision) -> GateResult:
    """Register model_uri as a new version of name (challenger); make it champion if the gate said so.

    ``decision`` comes from models.gate.decide, computed on dev against the current
    champion's predictions on the same items.
    """
    client = MlflowClient()
    mv = mlflow.register_model(model_uri, name)
    version = str(mv.version)
    client.set_registered_model_alias(name, CHALLENGER, version)
    client.set_model_version_tag(name, version, "candidate_score", f"{decision.candidate.value:.6f}")
    client.set_model_version_tag(name, version, "candidate_interval", str(decision.candidate))
    if decision.promoted:
        client.set_registered_model_alias(name, CHAMPION, version)
    client.set_model_version_tag(name, version, "gate", "promoted" if decision.promoted else "refused")
    client.set_model_version_tag(name, version, "gate_reason", decision.reason[:4000])
    if run_id:
        client.set_tag(run_id, "registered_version", f"{name}/{version}")
        client.set_tag(run_id, "gate_promoted", str(decision.promoted).lower())
    diff = decision.difference
    return GateResult(
        name,
        version,
        decision.promoted,
        decision.candidate.value,
        decision.champion.value if decision.champion else None,
        decision.reason,
        diff.low if diff else None,
        diff.high if diff else None,
    )


def resolve_alias(name: str, alias: str, train_hint: str) -> tuple[str, str]:
    """``models:/name@alias`` and its ``name/version``; a one-line error naming how to train one."""
    try:
        mv = MlflowClient().get_model_version_by_alias(name, alias)
    except MlflowException as exc:
        raise ModelNotFoundError(f"模型 {name} 没有别名为 {alias} 的版本，请先运行 {train_hint}") from exc
    return f"models:/{name}@{alias}", f"{name}/{mv.version}"


def load_classifier(alias: str = CHAMPION, name: str = CLASSIFIER_NAME, model_uri: str | None = None):
    """The classifier behind ``models:/name@alias`` (or an explicit URI), ready for ``predict``."""
    import mlflow.pyfunc

    offline_environment()
    if model_uri is None:
        model_uri, version = resolve_alias(name, alias, "complaints train")
    else:
        version = model_uri
    try:
        loaded = mlflow.pyfunc.load_model(model_uri)
    except (MlflowException, OSError) as exc:
        raise ModelNotFoundError(f"无法加载模型 {model_uri}: {str(exc).splitlines()[0]}") from exc
    classifier = loaded.unwrap_python_model().classifier
    classifier.version = version
    return classifier
