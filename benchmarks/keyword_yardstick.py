"""The keyword yardstick: the domain lexicon's strongest category (no learning) on dev, test and simulated.

A fine-tuned model that does not beat this on hand-written text has learned the simulator, not
the task. Ties and texts without any term fall back to ``outage``, the most frequent label.
Usage: ``python benchmarks/keyword_yardstick.py``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from models.data import eval_sets  # noqa: E402
from models.gate import macro_f1_interval  # noqa: E402
from pipeline.labels import LABELS  # noqa: E402
from pipeline.text import customer_text  # noqa: E402
from pipeline.text.domain_lexicon import lexicon_evidence  # noqa: E402


def keyword_label(transcript: str) -> str:
    text = customer_text(transcript) or transcript
    scores = lexicon_evidence(text)
    return "outage" if not scores.any() else LABELS[int(np.argmax(scores))]


def main() -> None:
    for name, df in eval_sets().items():
        pred = [keyword_label(t) for t in df["transcript"]]
        print(
            f"{name:10s} n={len(df):5d}  keyword macro-F1 {macro_f1_interval(df['category'].tolist(), pred)}"
        )


if __name__ == "__main__":
    main()
