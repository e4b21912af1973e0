"""The fine-tuned model in PyTorch: the reference the ONNX model must agree with, and a benchmark row."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch
from transformers import BertForSequenceClassification, BertTokenizer

from models.batching import run_by_length, softmax
from models.text_prep import TextPrep
from models.types import Prediction, predictions_from_proba


class TorchClassifier:
    """BertForSequenceClassification in eval mode with length-bucketed batches."""

    kind = "transformer-pytorch"
    # fitted on dev at training time (models.calibration); 1.0 leaves probabilities as the model gives them
    temperature: float = 1.0

    def __init__(
        self,
        model: BertForSequenceClassification,
        tokenizer: BertTokenizer,
        text_prep: TextPrep,
        review_threshold: float,
        max_len: int,
        version: str = "transformer-pytorch/unregistered",
        batch_size: int = 32,
    ) -> None:
        self.model = model.eval()
        self.tokenizer = tokenizer
        self.labels = [model.config.id2label[i] for i in range(model.config.num_labels)]
        self.text_prep = text_prep
        self.review_threshold = review_threshold
        self.max_len = max_len
        self.version = version
        self.batch_size = batch_size

    @classmethod
    def from_dir(
        cls, path: str | Path, text_prep: TextPrep, review_threshold: float, max_len: int
    ) -> TorchClassifier:
        model = BertForSequenceClassification.from_pretrained(str(path), local_files_only=True)
        tokenizer = BertTokenizer.from_pretrained(str(path), local_files_only=True)
        return cls(model, tokenizer, text_prep, review_threshold, max_len)

    def _run(self, texts: list[str]) -> np.ndarray:
        enc = self.tokenizer(
            texts, truncation=True, max_length=self.max_len, padding=True, return_tensors="pt"
        )
        with torch.inference_mode():
            out = self.model(input_ids=enc["input_ids"], attention_mask=enc["attention_mask"]).logits
        return out.float().numpy()

    def logits_prepared(self, prepared: Sequence[str]) -> np.ndarray:
        return run_by_length(list(prepared), self.batch_size, self._run, len(self.labels))

    def predict_proba(self, transcripts: Sequence[str]) -> np.ndarray:
        return softmax(self.logits_prepared(self.text_prep.prepare_many(transcripts)))

    def predict(self, transcripts: Sequence[str]) -> list[Prediction]:
        return predictions_from_proba(
            self.predict_proba(transcripts), self.labels, self.review_threshold, self.temperature
        )
