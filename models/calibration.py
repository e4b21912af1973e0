"""Temperature scaling on dev: confidences that mean what they say on text unlike the training data.

A model calibrated on simulated calls is overconfident on real wording. One
temperature, fitted on dev by minimising the negative log-likelihood, rescales
every call's probabilities without changing any ranking or top label.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from scipy.optimize import minimize_scalar

_EPS = 1e-9


def apply_temperature(proba: np.ndarray, temperature: float) -> np.ndarray:
    """Probabilities softened (T > 1) or sharpened (T < 1); T = 1 returns them unchanged."""
    proba = np.asarray(proba, dtype=float)
    if temperature == 1.0 or proba.size == 0:
        return proba
    logits = np.log(np.clip(proba, _EPS, 1.0)) / temperature
    logits -= logits.max(axis=1, keepdims=True)
    out = np.exp(logits)
    return out / out.sum(axis=1, keepdims=True)


def fit_temperature(proba: np.ndarray, truth: Sequence[str], labels: Sequence[str]) -> float:
    """The temperature in [0.05, 20] that minimises the negative log-likelihood of ``truth``."""
    index = {label: i for i, label in enumerate(labels)}
    rows = [(r, index[t]) for r, t in enumerate(truth) if t in index]
    if len(rows) < 10:
        return 1.0
    r, c = map(np.asarray, zip(*rows, strict=True))
    proba = np.asarray(proba, dtype=float)

    def nll(log_t: float) -> float:
        p = apply_temperature(proba, float(np.exp(log_t)))
        return float(-np.log(np.clip(p[r, c], _EPS, 1.0)).mean())

    result = minimize_scalar(nll, bounds=(np.log(0.05), np.log(20.0)), method="bounded")
    return round(float(np.exp(result.x)), 4)
