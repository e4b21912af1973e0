"""The keyword-rules baseline: what a service center could do with a keyword list and a call counter.

It reads the same feature table as the model and turns fired signals into a
score with a noisy-OR (each signal alone gives its weight, several combine
towards 1), so it plugs into thresholds, levels and evaluation exactly like the
learned model and shows what learning adds.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

SIGNAL_WEIGHTS: dict[str, float] = {
    "threat_regulator": 0.6,
    "threat_other": 0.35,
    "missed_commitment": 0.25,
    "vulnerable": 0.15,
    "loss": 0.15,
    "wide_text": 0.1,
    "anger": 0.1,
    "earlier_mention": 0.1,
    "urgency": 0.05,
    "unsatisfied_callback": 0.5,
    "callback_complaint": 0.4,
}
REPEAT_WEIGHT = 0.2
DEFAULT_THRESHOLDS = {"red": 0.8, "orange": 0.55, "yellow": 0.3}


class KeywordBaseline:
    """Duck-typed like the risk model: ``predict_proba(features) -> ndarray`` and ``version``."""

    version = "keyword-baseline"

    def __init__(self, thresholds: dict[str, float] | None = None) -> None:
        self.thresholds = dict(thresholds or DEFAULT_THRESHOLDS)

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray:
        keep = np.ones(len(features))
        for column, weight in SIGNAL_WEIGHTS.items():
            keep *= 1 - weight * (features[column].to_numpy() > 0)
        repeats = features["problem_calls_30d"].to_numpy()
        keep *= (1 - REPEAT_WEIGHT) ** np.minimum(repeats, 4)
        return 1 - keep
