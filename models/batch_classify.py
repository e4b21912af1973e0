"""File in, JSONL out: the end-to-end classification path used by `complaints classify` and the benchmark."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

from tqdm.auto import tqdm

from models.types import Classifier
from pipeline.ingest import QuarantinedRow, read_export

CHUNK = 2000


@dataclass
class ClassifyOutcome:
    """How many calls were classified, which rows were quarantined, and how many need review."""

    written: int
    needs_review: int
    quarantined: list[QuarantinedRow] = field(default_factory=list)


def classify_file(
    input_path: str | Path, output_path: str | Path, classifier: Classifier, progress: bool = True
) -> ClassifyOutcome:
    """Read any supported export, classify every valid call, write one JSON object per line."""
    result = read_export(input_path)
    records = result.records
    output_path = Path(output_path)
    output_path.parent.mkdir(parents=True, exist_ok=True)
    review = 0
    with (
        output_path.open("w", encoding="utf-8") as fh,
        tqdm(total=len(records), desc="分类", unit="通", disable=not progress) as bar,
    ):
        for start in range(0, len(records), CHUNK):
            chunk = records[start : start + CHUNK]
            predictions = classifier.predict([r.transcript for r in chunk])
            for record, pred in zip(chunk, predictions, strict=True):
                review += pred.needs_review
                line = {
                    "call_id": record.call_id,
                    "category": pred.category,
                    "confidence": pred.confidence,
                    "probabilities": pred.probabilities,
                    "needs_review": pred.needs_review,
                }
                fh.write(json.dumps(line, ensure_ascii=False) + "\n")
            bar.update(len(chunk))
    return ClassifyOutcome(written=len(records), needs_review=review, quarantined=list(result.quarantined))
