"""The compact base the repository ships, so a first run fine-tunes in minutes instead of pretraining.

The copy in ``data/base/`` is the pretrained checkpoint in half precision (about
half the size; fine-tuning loads it back as float32) with a ``SOURCE.json`` that
says how to rebuild it: the one command, the corpus fingerprint, the commit and
the final loss and spread.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from transformers import BertForMaskedLM

REBUILD_COMMAND = "bash scripts/build-base.sh"


def ship_base(src: str | Path, dst: str | Path, source: dict) -> Path:
    """Write ``src`` (a pretrained checkpoint folder) to ``dst`` in float16 with its SOURCE.json."""
    src, dst = Path(src), Path(dst)
    if dst.exists():
        shutil.rmtree(dst)
    dst.mkdir(parents=True)
    model = BertForMaskedLM.from_pretrained(str(src), local_files_only=True, dtype=torch.float32)
    model.to(torch.float16).save_pretrained(dst, safe_serialization=True)
    for name in ("vocab.txt", "tokenizer_config.json", "special_tokens_map.json"):
        if (src / name).exists():
            shutil.copy2(src / name, dst / name)
    (dst / "SOURCE.json").write_text(
        json.dumps({"rebuild": REBUILD_COMMAND, **source}, ensure_ascii=False, indent=2), encoding="utf-8"
    )
    return dst
