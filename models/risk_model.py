"""Compatibility names for code and registered models from before the risk ML moved to :mod:`models.risk`.

Models registered earlier were pickled as ``models.risk_model.RiskModel`` /
``RiskPyfunc``; these re-exports keep them loadable. New code imports from
``models.risk.*``; nothing in ``models.risk`` imports this module.
"""

from models.risk.features import FEATURE_COLUMNS, MODEL_COLUMNS
from models.risk.model import RISK_MODEL_NAME, RiskModel, RiskPyfunc, load_risk_model
from models.risk.replay import load_replay, records_from_labeled, replay
from models.risk.train import (
    EXPERIMENT,
    VALIDATION_SHARE,
    RiskTrainResult,
    fit_estimator,
    split_by_night,
    train_and_register,
)

__all__ = [
    "EXPERIMENT",
    "FEATURE_COLUMNS",
    "MODEL_COLUMNS",
    "RISK_MODEL_NAME",
    "VALIDATION_SHARE",
    "RiskModel",
    "RiskPyfunc",
    "RiskTrainResult",
    "fit_estimator",
    "load_replay",
    "load_risk_model",
    "records_from_labeled",
    "replay",
    "split_by_night",
    "train_and_register",
]
