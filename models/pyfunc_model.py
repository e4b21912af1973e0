"""The MLflow pyfunc wrapper: a logged classifier carries its weights, tokenizer, labels and text prep.

Both kinds are logged through this one class so `load_classifier` never needs to
know whether the champion is the baseline or the transformer.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import mlflow.pyfunc
import pandas as pd

from models.settings import classifier_settings, review_threshold
from models.text_prep import TextPrep
from pipeline.config import offline_environment

OUTPUT_COLUMNS = ["category", "confidence", "needs_review", "probabilities"]


def load_from_artifacts(artifacts: dict[str, str], version: str = "unregistered"):
    """Build the in-process classifier from the artifact files of a logged model."""
    from models.baseline import BaselineClassifier

    offline_environment()
    meta = json.loads(Path(artifacts["meta"]).read_text(encoding="utf-8"))
    threshold = review_threshold(meta.get("review_threshold"))
    kind = meta["kind"]
    if kind == "baseline":
        clf = BaselineClassifier.load(artifacts["baseline"], threshold, version)
    else:
        from models.onnx_classifier import OnnxClassifier

        clf = OnnxClassifier(
            onnx_path=artifacts["onnx"],
            tokenizer_dir=artifacts["tokenizer"],
            labels=meta["labels"],
            text_prep=TextPrep.load(artifacts["text_prep"]),
            review_threshold=threshold,
            max_len=int(meta["max_len"]),
            version=version,
            threads=classifier_settings().onnx_threads or None,
        )
        if kind == "ensemble":
            from models.ensemble import EnsembleClassifier

            ngram = BaselineClassifier.load(artifacts["baseline"], threshold, version)
            skip = meta.get("skip_above")
            clf = EnsembleClassifier(
                clf, ngram, float(meta["weight"]), threshold, version, None if skip is None else float(skip)
            )
    clf.temperature = float(meta.get("temperature", 1.0))
    return clf


class ComplaintClassifierModel(mlflow.pyfunc.PythonModel):
    """pyfunc entry: DataFrame with a ``transcript`` column in, one row per call out."""

    @staticmethod
    def example_output(classifier, texts: list[str]) -> pd.DataFrame:
        """What predict returns for texts, for signature inference without reloading the model."""
        model = ComplaintClassifierModel()
        model.classifier = classifier
        return model.predict(None, pd.DataFrame({"transcript": texts}))

    def load_context(self, context) -> None:
        self.classifier = load_from_artifacts(dict(context.artifacts))

    def predict(self, context, model_input, params: dict[str, Any] | None = None) -> pd.DataFrame:
        if isinstance(model_input, pd.DataFrame):
            texts = model_input["transcript"].astype(str).tolist()
        else:
            texts = [str(t) for t in model_input]
        rows = []
        for p in self.classifier.predict(texts):
            rows.append(
                {
                    "category": p.category,
                    "confidence": p.confidence,
                    "needs_review": p.needs_review,
                    "probabilities": json.dumps(p.probabilities),
                }
            )
        return pd.DataFrame(rows, columns=OUTPUT_COLUMNS)
