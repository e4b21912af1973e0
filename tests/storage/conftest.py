"""Storage fixtures: a classifier stand-in that needs no training, so storage tests stay fast."""

from __future__ import annotations

import pytest

from models.types import Prediction


class KeywordClassifier:
    """Predicts ``outage`` for calls mentioning 停电, else ``other``; the classifier duck type."""

    version = "keyword-classifier/0"

    def predict(self, transcripts: list[str]) -> list[Prediction]:
        out = []
        for text in transcripts:
            category = "outage" if "停电" in text else "other"
            out.append(Prediction(category, 0.9, {category: 0.9}, False))
        return out


@pytest.fixture(scope="session")
def keyword_classifier() -> KeywordClassifier:
    return KeywordClassifier()
