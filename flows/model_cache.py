"""Models loaded once per worker process, keyed by the exact model URI.

Mapped tasks run many times in the same thread pool, process pool or Dask
worker; loading a transformer for every partition would cost more than
scoring it. Tasks receive URIs, look them up here, and only the first task in
a process pays for the load. URIs are pinned to a version
(``models:/complaint-classifier/3``) before the run fans out, so a promotion
halfway through a night never mixes two champions.
"""

from __future__ import annotations

import threading
from typing import Any

from pipeline.config import get_settings, offline_environment

_LOCK = threading.Lock()
_CLASSIFIERS: dict[str, Any] = {}
_RISK_MODELS: dict[str, Any] = {}


RISK_MODEL_NAME = "escalation-risk"


def _version_name(uri: str) -> str:
    """``models:/complaint-classifier/3`` -> ``complaint-classifier/3`` (the form stored with each call)."""
    return uri.removeprefix("models:/")


def pinned_versions(classifier_uri: str | None = None, risk_uri: str | None = None) -> dict[str, str | None]:
    """Resolve the champion aliases to fixed versions once, before partitions fan out.

    Raises ``models.registry.ModelNotFoundError`` (Chinese message) when there is no classifier champion.
    """
    from models import registry
    from models.settings import classifier_settings

    registry.configure_mlflow()
    if classifier_uri is None:
        name = classifier_settings().registered_name
        number = registry.alias_version(name, registry.CHAMPION)
        if number is None:
            raise registry.ModelNotFoundError(
                f"模型 {name} 还没有冠军版本，请先运行 complaints retrain 或 complaints bootstrap"
            )
        classifier_uri = f"models:/{name}/{number}"
    if risk_uri is None:
        number = registry.alias_version(RISK_MODEL_NAME, registry.CHAMPION)
        risk_uri = f"models:/{RISK_MODEL_NAME}/{number}" if number else None
    return {
        "classifier_uri": classifier_uri,
        "classifier": _version_name(classifier_uri),
        "risk_uri": risk_uri,
        "risk_model": _version_name(risk_uri) if risk_uri else None,
    }


def _key(uri: str) -> str:
    """Cache key: the same ``models:/name/3`` in two registries is two different models."""
    return f"{get_settings().mlflow_tracking_uri}|{uri}"


def classifier(uri: str) -> Any:
    """The classifier at ``uri`` (MLflow model URI), loaded at most once in this process."""
    key = _key(uri)
    with _LOCK:
        if key not in _CLASSIFIERS:
            offline_environment()
            from models import registry
            from models.types import warm_up

            registry.configure_mlflow()
            model = registry.load_classifier(model_uri=uri)
            model.version = _version_name(uri)
            warm_up(model, wait=False)
            _CLASSIFIERS[key] = model
        return _CLASSIFIERS[key]


def risk_model(uri: str | None) -> Any:
    """The escalation-risk model at ``uri``; the keyword-rules baseline while none is registered."""
    if not uri:
        from pipeline.risk.baseline import KeywordBaseline

        return KeywordBaseline()
    key = _key(uri)
    with _LOCK:
        if key not in _RISK_MODELS:
            from models import registry, risk_model

            registry.configure_mlflow()
            model = risk_model.load_risk_model(model_uri=uri)
            model.version = _version_name(uri)
            _RISK_MODELS[key] = model
        return _RISK_MODELS[key]


def loaded() -> dict[str, int]:
    """How many models this process holds (tests check that workers load once)."""
    return {"classifiers": len(_CLASSIFIERS), "risk_models": len(_RISK_MODELS)}
