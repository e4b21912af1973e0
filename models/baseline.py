"""The yardstick and fallback: TF-IDF over jieba words and character n-grams, calibrated linear model."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import joblib
import numpy as np
from scipy import sparse
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.calibration import CalibratedClassifierCV
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.pipeline import FeatureUnion, Pipeline
from sklearn.svm import LinearSVC

from models.featurize import (
    Doc,
    featurize,
    predict_proba_also_prepared,
    predict_proba_parallel,
    proba_and_prepared,
    warm_pool,
)
from models.text_prep import TextPrep
from models.types import Prediction, predictions_from_proba
from pipeline.text.domain_lexicon import lexicon_evidence


def doc_words(doc: Doc) -> list[str]:
    """Word analyzer: the jieba words computed by featurize (module level so the pipeline pickles)."""
    return doc[1]


def doc_text(doc: Doc) -> str:
    """Preprocessor of the character n-gram vectorizer: the prepared text."""
    return doc[0]


class LexiconFeatures(BaseEstimator, TransformerMixin):
    """Category evidence from the domain lexicon (data/domain/lexicon.tsv), log-scaled, as five columns.

    The prior comes from the domain rather than the simulator, so it keeps pointing the right
    way on wording the training data never had.
    """

    def __init__(self, scale: float = 1.0) -> None:
        self.scale = scale

    def fit(self, docs, y=None) -> LexiconFeatures:
        return self

    def transform(self, docs) -> sparse.csr_matrix:
        rows = np.vstack([lexicon_evidence(doc[0]) for doc in docs]) if len(docs) else np.zeros((0, 5))
        return sparse.csr_matrix(np.log1p(rows) * self.scale)


def build_pipeline(min_df: int = 2, calibration_folds: int = 3) -> Pipeline:
    """Words catch phrases (电费, 跳闸); character n-grams survive ASR homophones and dialect spellings."""
    features = FeatureUnion(
        [
            ("words", TfidfVectorizer(analyzer=doc_words, min_df=min_df, sublinear_tf=True)),
            (
                "chars",
                TfidfVectorizer(
                    analyzer="char",
                    preprocessor=doc_text,
                    ngram_range=(1, 3),
                    min_df=min_df,
                    sublinear_tf=True,
                    max_features=200_000,
                ),
            ),
            ("lexicon", LexiconFeatures()),
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
    # fitted on dev at training time (models.calibration); 1.0 leaves probabilities as the model gives them
    temperature: float = 1.0

    def __init__(
        self,
        pipeline: Pipeline,
        text_prep: TextPrep,
        review_threshold: float,
        version: str = "baseline/unregistered",
        path: Path | None = None,
    ) -> None:
        self.pipeline = pipeline
        self.path = path
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
        pipeline.fit(featurize(texts, max_chars=None), list(labels))
        return cls(pipeline, text_prep, review_threshold)

    def predict_proba(self, transcripts: Sequence[str]) -> np.ndarray:
        if not transcripts:
            return np.zeros((0, len(self.labels)))
        if self.path is not None:
            # saved to disk: worker processes load it once and score chunks themselves
            return predict_proba_parallel(
                self.pipeline, str(self.path), transcripts, self.text_prep.max_chars
            )
        return self.pipeline.predict_proba(featurize(transcripts, max_chars=self.text_prep.max_chars))

    def predict_proba_also_prepared(
        self, transcripts: Sequence[str], also_chars: int
    ) -> tuple[np.ndarray, list[str]]:
        """Probabilities, and each transcript prepared at ``also_chars`` from the same cleaning pass."""
        if not transcripts:
            return np.zeros((0, len(self.labels))), []
        if self.path is not None:
            return predict_proba_also_prepared(
                self.pipeline, str(self.path), transcripts, self.text_prep.max_chars, also_chars
            )
        return proba_and_prepared(self.pipeline, transcripts, self.text_prep.max_chars, also_chars)

    def warm_up(self, wait: bool = True) -> None:
        """Start the scoring workers now (each loads this model once) for bulk scoring that follows."""
        if self.path is not None:
            warm_pool(str(self.path), wait=wait)

    def predict(self, transcripts: Sequence[str]) -> list[Prediction]:
        return predictions_from_proba(
            self.predict_proba(transcripts), self.labels, self.review_threshold, self.temperature
        )

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        joblib.dump({"pipeline": self.pipeline, "text_prep": self.text_prep}, path)
        self.path = path.resolve()
        return path

    @classmethod
    def load(cls, path: str | Path, review_threshold: float, version: str) -> BaselineClassifier:
        data = joblib.load(path)
        return cls(data["pipeline"], data["text_prep"], review_threshold, version, Path(path).resolve())
