"""The ``escalation-risk`` model object, its MLflow pyfunc wrapper, and loading it from the registry.

:class:`RiskModel` has the duck type nightly scoring expects
(``predict_proba(features) -> ndarray`` and ``version``) and carries the level
thresholds chosen for it on validation nights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import joblib
import mlflow
import mlflow.pyfunc
import numpy as np
import pandas as pd
from mlflow.exceptions import MlflowException

from models.registry import CHAMPION, ModelNotFoundError, configure_mlflow, resolve_alias
from models.risk.features import RISK_COLUMNS, feature_matrix

RISK_MODEL_NAME = "escalation-risk"


class RiskModel:
    """Calibrated escalation probability from the feature table, plus the level thresholds chosen for it."""

    def __init__(
        self,
        estimator: Any,
        thresholds: dict[str, float],
        columns: Sequence[str] = RISK_COLUMNS,
        version: str = "unregistered",
    ) -> None:
        self.estimator = estimator
        self.thresholds = dict(thresholds)
        self.columns = list(columns)
        self.version = version

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        """Probability that the problem reaches 12398 within ``hazard_days`` of this scoring, one per row."""
        if len(features) == 0:
            return np.zeros(0)
        return self.estimator.predict_proba(feature_matrix(features, self.columns))[:, 1]


class RiskPyfunc(mlflow.pyfunc.PythonModel):
    """MLflow entry: the feature table in, escalation probabilities out."""

    def load_context(self, context) -> None:
        self.model: RiskModel = joblib.load(context.artifacts["risk_model"])

    def predict(self, context, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> np.ndarray:
        return self.model.predict_proba(model_input)


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
