"""Scoring path of the transformer: the int8 ONNX model under ONNX Runtime, batched by length."""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from transformers import BertTokenizer

from models.batching import run_by_length, softmax
from models.text_prep import TextPrep
from models.types import Prediction, predictions_from_proba


class OnnxClassifier:
    """Same interface as the baseline; texts are prepared with the model's own TextPrep."""

    kind = "transformer"
    # fitted on dev at training time (models.calibration); 1.0 leaves probabilities as the model gives them
    temperature: float = 1.0

    def __init__(
        self,
        onnx_path: str | Path,
        tokenizer_dir: str | Path,
        labels: Sequence[str],
        text_prep: TextPrep,
        review_threshold: float,
        max_len: int,
        version: str = "transformer/unregistered",
        batch_size: int = 16,
        threads: int | None = None,
    ) -> None:
        # one single-threaded run per core beats one run spread over all cores: a 256-wide
        # model's matrices are too small to split well (about 15 % more calls/s on two cores)
        self.workers = threads or len(os.sched_getaffinity(0))
        options = ort.SessionOptions()
        options.intra_op_num_threads = 1
        # idle intra-op threads spin by default and take the CPU that concurrent runs need
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        self.session = ort.InferenceSession(str(onnx_path), options, providers=["CPUExecutionProvider"])
        self.input_names = {i.name for i in self.session.get_inputs()}
        self.tokenizer = BertTokenizer.from_pretrained(str(tokenizer_dir), local_files_only=True)
        self._tokenizer_lock = threading.Lock()
        self.labels = list(labels)
        self.text_prep = text_prep
        self.review_threshold = review_threshold
        self.max_len = max_len
        self.version = version
        self.batch_size = batch_size

    def _run(self, texts: list[str]) -> np.ndarray:
        # a fast tokenizer is not safe to call from two threads at once ("Already borrowed");
        # it takes a small share of the time, so runs only overlap in ONNX Runtime
        with self._tokenizer_lock:
            enc = self.tokenizer(
                texts, truncation=True, max_length=self.max_len, padding=True, return_tensors="np"
            )
        feed = {
            k: enc[k].astype(np.int64)
            for k in ("input_ids", "attention_mask", "token_type_ids")
            if k in self.input_names
        }
        return self.session.run(None, feed)[0]

    def logits_prepared(self, prepared: Sequence[str]) -> np.ndarray:
        return run_by_length(list(prepared), self.batch_size, self._run, len(self.labels), self.workers)

    def proba_prepared(self, prepared: Sequence[str]) -> np.ndarray:
        """Probabilities of texts already prepared with this model's TextPrep."""
        return softmax(self.logits_prepared(prepared))

    def predict_proba(self, transcripts: Sequence[str]) -> np.ndarray:
        return self.proba_prepared(self.text_prep.prepare_many(transcripts))

    def predict(self, transcripts: Sequence[str]) -> list[Prediction]:
        return predictions_from_proba(
            self.predict_proba(transcripts), self.labels, self.review_threshold, self.temperature
        )
