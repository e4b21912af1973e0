"""Classifier knobs read from the ``[classifier]`` table of complaints.toml, with safe defaults."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import get_settings, section

CLASSIFIER_NAME = "complaint-classifier"
DEFAULT_BASE_NAME = "bert-zh-compact"


@dataclass(frozen=True)
class ClassifierSettings:
    """Review threshold, promotion margin and input length shared by training and scoring.

    ``onnx_threads``: how many single-threaded ONNX Runtime runs a loaded transformer keeps going at
    once (0: one per core).
    """

    review_threshold: float = 0.6
    gate_margin: float = 0.0
    max_chars: int = 256
    registered_name: str = CLASSIFIER_NAME
    experiment: str = "complaint-classifier"
    onnx_threads: int = 0


def classifier_settings() -> ClassifierSettings:
    """Defaults overridden by ``[classifier]`` keys of the same names."""
    raw = section("classifier")
    base = ClassifierSettings()
    return ClassifierSettings(
        review_threshold=float(raw.get("review_threshold", base.review_threshold)),
        gate_margin=float(raw.get("gate_margin", base.gate_margin)),
        max_chars=int(raw.get("max_chars", base.max_chars)),
        registered_name=str(raw.get("registered_name", base.registered_name)),
        experiment=str(raw.get("experiment", base.experiment)),
        onnx_threads=int(raw.get("onnx_threads", base.onnx_threads)),
    )


def default_base_dir():
    """Where `complaints pretrain` puts the offline default BERT base."""
    return get_settings().models_dir / DEFAULT_BASE_NAME
