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

__all__ = ["FEATURE_COLUMNS", "MODEL_COLUMNS", "feature_matrix"]


def feature_matrix(frame: pd.DataFrame, columns: Sequence[str] = MODEL_COLUMNS) -> np.ndarray:
    """The float matrix of ``columns`` (a missing column is an error, never a silent zero)."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"特征表缺少列: {', '.join(missing)}")
    return frame[list(columns)].to_numpy(dtype=float)
