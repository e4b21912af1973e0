"""Agreement between the writers' labels and a blind second annotator's (Cohen's kappa), per split.

Usage: ``python benchmarks/eval_agreement.py``; prints kappa, raw agreement and every disagreement
with both labels, so each can be resolved by re-reading the taxonomy's boundary rules.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from sklearn.metrics import cohen_kappa_score

ROOT = Path(__file__).resolve().parent.parent / "data" / "eval" / "independent"


def _read(path: Path) -> dict[str, dict]:
    return {d["id"]: d for d in map(json.loads, path.read_text(encoding="utf-8").splitlines()) if d}


def main() -> int:
    for split in ("dev", "test"):
        for annotation in sorted((ROOT / "annotations").glob(f"{split}_*.jsonl")):
            first = {k: v for f in sorted((ROOT / split).glob("*.jsonl")) for k, v in _read(f).items()}
            second = _read(annotation)
            ids = sorted(set(first) & set(second))
            a = [first[i]["category"] for i in ids]
            b = [second[i]["category"] for i in ids]
            agree = sum(x == y for x, y in zip(a, b, strict=True)) / len(ids)
            print(
                f"{split:5s} {annotation.stem:10s} items {len(ids):4d}  kappa {cohen_kappa_score(a, b):.3f}  agreement {agree:.1%}"
            )
            for i in ids:
                if first[i]["category"] != second[i]["category"]:
                    print(
                        f"    {i}: {first[i]['category']} / {second[i]['category']}  {second[i].get('note', '')}"
                    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
