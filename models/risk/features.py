"""The model's feature table: the columns it reads, in a fixed order, and the matrix handed to sklearn.

The values come from :mod:`pipeline.features` (shared with nightly scoring, so
training and production compute the same numbers); this module only decides
which of them the estimator sees. Slip columns (``prior_slip`` ...) are kept out
of the model: they are not in the training data and act through rules and reasons.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from pipeline.features import FEATURE_COLUMNS, MODEL_COLUMNS

__all__ = ["FEATURE_COLUMNS", "KEYWORD_SCORE", "MODEL_COLUMNS", "RISK_COLUMNS", "feature_matrix", "monotone"]

RISK_COLUMNS: tuple[str, ...] = (*MODEL_COLUMNS, "keyword_score")
"""What the risk model reads: the model columns plus the keyword prior."""


KEYWORD_SCORE = "keyword_score"
"""The keyword baseline's score, derived from the same columns, given to the model as a prior."""
RISING: tuple[str, ...] = (
    KEYWORD_SCORE,
    "threat_regulator",
    "threat_other",
    "callback_complaint",
    "missed_commitment",
    "prior_threat_regulator",
    "prior_threat_other",
    "prior_callback_complaint",
    "prior_missed_commitment",
    "commitments_overdue",
    "problem_calls_30d",
    "cue_angry",
    "cue_missed",
    "cue_repeat",
    "prior_said_angry",
    "prior_said_missed",
    "prior_said_repeat",
)
"""Columns whose rise may never lower the risk (monotone constraints): a model trained on the
simulator cannot learn that a threat makes escalation less likely, whatever quirk its data has."""


def feature_matrix(frame: pd.DataFrame, columns: Sequence[str] = MODEL_COLUMNS) -> np.ndarray:
    """The float matrix of ``columns`` (a missing column is an error, never a silent zero);
    ``keyword_score`` is computed from the frame when asked for."""
    from pipeline.risk.baseline import KeywordBaseline

    wanted = [c for c in columns if c != KEYWORD_SCORE]
    missing = [c for c in wanted if c not in frame.columns]
    if missing:
        raise KeyError(f"特征表缺少列: {', '.join(missing)}")
    if KEYWORD_SCORE in columns and KEYWORD_SCORE not in frame.columns:
        frame = frame.assign(**{KEYWORD_SCORE: KeywordBaseline().predict_proba(frame)})
    return frame[list(columns)].to_numpy(dtype=float)


def monotone(columns: Sequence[str]) -> list[int]:
    """HistGradientBoosting's ``monotonic_cst`` for ``columns``."""
    return [1 if c in RISING else 0 for c in columns]
