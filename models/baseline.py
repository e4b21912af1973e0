"""The yardstick and fallback: TF-IDF over jieba words and character n-grams, calibrated linear model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from models.text_prep import TextPrep
from models.types import Prediction, predictions_from_proba
from pipeline import text as ptext


def jieba_tokens(text: str) -> list[str]:
    """Word analyzer for TF-IDF (module level so the fitted pipeline pickles by reference)."""
    return ptext.tokenize(text)


def build_pipeline(min_df: int = 2, calibration_folds: int = 3) -> Pipeline:
    """Words catch phrases (电费, 跳闸); character n-grams survive ASR homophones and dialect spellings."""
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer=jieba_tokens, ngram_range=(1, 1), min_df=min_df, sublinear_tf=True)),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char", ngram_range=(1, 3), min_df=min_df, sublinear_tf=True, max_features=200_000
                ),
            ),
        ]
    )
    linear = LinearSVC(C=0.5, class_weight="balanced")
    return Pipeline(
        [
            ("features", features),
            ("clf", CalibratedClassifierCV(linear, method="sigmoid", cv=calibration_folds)),
        ]
    )


class BaselineClassifier:
    """A fitted pipeline with its label order, text preparation and review threshold."""

    kind = "baseline"

    def __init__(
        self,
        pipeline: Pipeline,
        text_prep: TextPrep,
        review_threshold: float,
        version: str = "baseline/unregistered",
    ) -> None:
        self.pipeline = pipeline
        self.text_prep = text_prep
        self.review_threshold = review_threshold
        self.version = version
        self.labels: list[str] = [str(c) for c in pipeline.classes_]

    @classmethod
    def fit(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        text_prep: TextPrep,
        review_threshold: float,
    ) -> BaselineClassifier:
        """Fit on already prepared texts (training augments before calling this)."""
        min_df = 2 if len(texts) >= 200 else 1
        folds = max(2, min(3, int(np.bincount(np.unique(labels, return_inverse=True)[1]).min())))
        pipeline = build_pipeline(min_df=min_df, calibration_folds=folds)
        pipeline.fit(list(texts), list(labels))
        return cls(pipeline, text_prep, review_threshold)

    def predict_proba_prepared(self, prepared: Sequence[str]) -> np.ndarray:
        if not prepared:
            return np.zeros((0, len(self.labels)))
        return self.pipeline.predict_proba(list(prepared))

    def predict_proba(self, transcripts: Sequence[str]) -> np.ndarray:
        return self.predict_proba_prepared(self.text_prep.prepare_many(transcripts))

    def predict(self, transcripts: Sequence[str]) -> list[Prediction]:
        return predictions_from_proba(self.predict_proba(transcripts), self.labels, self.review_threshold)

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        joblib.dump({"pipeline": self.pipeline, "text_prep": self.text_prep}, path)
        return path

    @classmethod
    def load(cls, path: str | Path, review_threshold: float, version: str) -> BaselineClassifier:
        data = joblib.load(path)
        return cls(data["pipeline"], data["text_prep"], review_threshold, version)
