"""How a transcript becomes model input, stored with each model so scoring prepares text the same way.

The heavy lifting (normalisation, turn splitting, agent boilerplate trimming,
condensing long calls) lives in ``pipeline.text``; this module only fixes the
parameters a model was trained with and adds the free-text augmentation.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from pipeline import text as ptext

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class TextPrep:
    """Parameters of ``pipeline.text.model_input`` that a trained model depends on."""

    max_chars: int = 256

    def prepare(self, transcript: str) -> str:
        """Customer turns first, agent formulas trimmed, long calls condensed (pipeline.text)."""
        return ptext.model_input(transcript or "", max_chars=self.max_chars)

    def prepare_many(self, transcripts: Sequence[str]) -> list[str]:
        return [self.prepare(t) for t in transcripts]

    def variants(self, transcript: str) -> list[str]:
        """The call as recorded plus the forms free-text channels produce.

        A complaint typed into an app has no agent and no speaker labels, so the
        model also learns from the customer's words alone and from the turns
        run together without ``坐席：``/``客户：`` prefixes.
        """
        out = [self.prepare(transcript)]
        customer_only = ptext.customer_text(transcript)
        if customer_only.strip():
            out.append(self.prepare(customer_only))
        turns = ptext.split_turns(transcript)
        if len(turns) > 1:
            unlabeled = "".join(t.text for t in turns)
            out.append(self.prepare(unlabeled))
        seen: set[str] = set()
        return [v for v in out if v and not (v in seen or seen.add(v))]

    def save(self, path: str | Path) -> Path:
        path = Path(path)
        path.write_text(json.dumps(asdict(self), ensure_ascii=False, indent=2), encoding="utf-8")
        return path

    @classmethod
    def load(cls, path: str | Path) -> TextPrep:
        return cls(**json.loads(Path(path).read_text(encoding="utf-8")))


def augmented(df: pd.DataFrame, text_prep: TextPrep) -> tuple[list[str], list[str]]:
    """Prepared texts and labels with the free-text variants of each call added."""
    texts: list[str] = []
    labels: list[str] = []
    for transcript, category in zip(df["transcript"], df["category"], strict=True):
        for variant in text_prep.variants(transcript):
            texts.append(variant)
            labels.append(category)
    return texts, labels
