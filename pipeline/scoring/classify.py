"""Job 1 of scoring: the category of each call, and, as a separate explicit step, the per-call text
work the risk step needs (keyword signals, masked transcript).

Both are pure and per call, so the nightly flow runs them per partition, in
parallel; the risk step (``pipeline.scoring.store``) must see the whole night.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from tqdm import tqdm

from pipeline.features import TextSignals, text_signals_many
from pipeline.records import CallRecord
from pipeline.text.mask import mask_pii


class ClassifierLike(Protocol):
    version: str

    def predict(self, transcripts: list[str]) -> list[Any]: ...


@dataclass
class ClassifiedCall:
    """A validated call with its predicted category (and, once prepared, its risk text signals)."""

    record: CallRecord
    category: str
    confidence: float
    probabilities: dict[str, float]
    needs_review: bool
    classifier_version: str
    signals: TextSignals | None = None
    masked_transcript: str | None = None


def classify_records(
    records: Sequence[CallRecord],
    classifier: ClassifierLike,
    batch_size: int = 2000,
    *,
    progress: bool = False,
) -> list[ClassifiedCall]:
    """Predict the category of every record (batched); safe to run per partition."""
    out: list[ClassifiedCall] = []
    version = str(getattr(classifier, "version", "unknown"))
    with tqdm(total=len(records), desc="分类", disable=not progress, unit="通") as bar:
        for start in range(0, len(records), batch_size):
            batch = records[start : start + batch_size]
            predictions = classifier.predict([r.transcript for r in batch])
            for record, pred in zip(batch, predictions, strict=True):
                out.append(
                    ClassifiedCall(
                        record=record,
                        category=pred.category,
                        confidence=float(pred.confidence),
                        probabilities={k: float(v) for k, v in pred.probabilities.items()},
                        needs_review=bool(pred.needs_review),
                        classifier_version=version,
                    )
                )
            bar.update(len(batch))
    return out


def prepare_risk_text(classified: Sequence[ClassifiedCall]) -> list[ClassifiedCall]:
    """Fill in keyword signals and the masked transcript of each call (in place; returns the list)."""
    missing = [item for item in classified if item.signals is None]
    for item, signals in zip(missing, text_signals_many([i.record.transcript for i in missing]), strict=True):
        item.signals = signals
    for item in classified:
        if item.masked_transcript is None:
            item.masked_transcript = mask_pii(item.record.transcript)
    return list(classified)


def classify_and_prepare(
    records: Sequence[CallRecord], classifier: ClassifierLike, *, progress: bool = False
) -> list[ClassifiedCall]:
    """Both per-call jobs, as a partition runs them."""
    return prepare_risk_text(classify_records(records, classifier, progress=progress))
