"""What a classifier hands to the rest of the product: one Prediction per call."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Protocol

import numpy as np


@dataclass
class Prediction:
    """The category of one call, how sure the model is, and whether a person should look at it."""

    category: str
    confidence: float
    probabilities: dict[str, float]
    needs_review: bool

    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict (used for JSONL output and MLflow pyfunc output)."""
        return asdict(self)


class Classifier(Protocol):
    """The duck type scoring relies on (docs/architecture.md)."""

    version: str

    def predict(self, transcripts: Sequence[str]) -> list[Prediction]: ...


def predictions_from_proba(
    proba: np.ndarray, labels: Sequence[str], review_threshold: float, temperature: float = 1.0
) -> list[Prediction]:
    """Turn a (n, n_labels) probability matrix into Predictions; low top probability means review.

    ``temperature`` is the one fitted on dev when the model was trained (models.calibration).
    """
    from models.calibration import apply_temperature

    out: list[Prediction] = []
    for row in apply_temperature(np.asarray(proba, dtype=float), temperature):
        top = int(row.argmax())
        probs = {label: round(float(p), 6) for label, p in zip(labels, row, strict=True)}
        confidence = float(row[top])
        out.append(
            Prediction(
                category=labels[top],
                confidence=round(confidence, 6),
                probabilities=probs,
                needs_review=confidence < review_threshold,
            )
        )
    return out


def warm_up(classifier: object, wait: bool = True) -> None:
    """Start a classifier's scoring workers before bulk work, where it has any.

    The baseline scores in worker processes that each load the model (about two
    seconds); starting them while the export is read keeps that off the clock.
    ONNX and PyTorch models score in-process and have nothing to start.
    """
    hook = getattr(classifier, "warm_up", None)
    if callable(hook):
        hook(wait=wait)
