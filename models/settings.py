"""Classifier knobs read from the ``[classifier]`` table of complaints.toml, with safe defaults."""

from __future__ import annotations

from dataclasses import dataclass

from pipeline.config import get_settings, section

CLASSIFIER_NAME = "complaint-classifier"
DEFAULT_BASE_NAME = "bert-zh-compact"
DEFAULT_REVIEW_THRESHOLD = 0.6


@dataclass(frozen=True)
class ClassifierSettings:
    """Review threshold, promotion gate and input length shared by training and scoring.

    ``review_threshold``: None uses the threshold chosen on dev when the model was trained
    (stored with the model); a number overrides it. The gate keys are models.gate.GateConfig's.

    ``onnx_threads``: how many single-threaded ONNX Runtime runs a loaded transformer keeps going at
    once (0: one per core).
    """

    review_threshold: float | None = None
    gate_margin: float = 0.02
    gate_min_class_f1: float = 0.75
    gate_max_ece: float = 0.08
    max_chars: int = 256
    registered_name: str = CLASSIFIER_NAME
    experiment: str = "complaint-classifier"
    onnx_threads: int = 0


def classifier_settings() -> ClassifierSettings:
    """Defaults overridden by ``[classifier]`` keys of the same names."""
    raw = section("classifier")
    base = ClassifierSettings()
    return ClassifierSettings(
        review_threshold=float(raw["review_threshold"]) if "review_threshold" in raw else None,
        gate_margin=float(raw.get("gate_margin", base.gate_margin)),
        gate_min_class_f1=float(raw.get("gate_min_class_f1", base.gate_min_class_f1)),
        gate_max_ece=float(raw.get("gate_max_ece", base.gate_max_ece)),
        max_chars=int(raw.get("max_chars", base.max_chars)),
        registered_name=str(raw.get("registered_name", base.registered_name)),
        experiment=str(raw.get("experiment", base.experiment)),
        onnx_threads=int(raw.get("onnx_threads", base.onnx_threads)),
    )


def gate_config(settings: ClassifierSettings | None = None):
    """The promotion gate's thresholds from these settings."""
    from models.gate import GateConfig

    s = settings or classifier_settings()
    return GateConfig(margin=s.gate_margin, min_class_f1=s.gate_min_class_f1, max_ece=s.gate_max_ece)


def review_threshold(model_threshold: float | None) -> float:
    """The configured override, else the model's own dev-chosen threshold, else a cautious default."""
    configured = classifier_settings().review_threshold
    if configured is not None:
        return configured
    return DEFAULT_REVIEW_THRESHOLD if model_threshold is None else float(model_threshold)


def default_base_dir():
    """Where `complaints pretrain` puts the offline default BERT base."""
    return get_settings().models_dir / DEFAULT_BASE_NAME
