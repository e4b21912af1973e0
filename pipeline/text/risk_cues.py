"""Risk cues read by a learned model of language, not by a keyword list: anger, a promise not kept,
a problem raised before.

The keyword patterns in :mod:`pipeline.features` find what their author thought of; callers say
"记了也没用" or "说的加急呢？？". These detectors are character n-gram logistic regressions
trained on the whole-written items of ``data/simbank/`` (six independent writers; the items'
``stance`` and ``mentions`` are the labels), so they read phrasing no pattern lists. Held out
by writer they rank their cue at AUC 0.87-0.99 (``benchmarks/risk_backtest.py`` reports how
they do on the hand-written storylines). Trained once per bank fingerprint and cached under
the models folder; deterministic.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from functools import lru_cache
from pathlib import Path

import joblib
import numpy as np

from pipeline.config import DATA_DIR

BANK_DIR = DATA_DIR / "simbank"
CUES: tuple[str, ...] = ("angry", "missed", "repeat")
"""``angry``: the customer is angry or fed up; ``missed``: a promise or a fix that did not happen;
``repeat``: the customer raised this before."""
CUE_FLAG_AT = 0.5


def _labels(item: dict) -> dict[str, bool]:
    mentions = set(item.get("mentions") or [])
    return {
        "angry": item.get("stance") == "angry",
        "missed": "missed_promise" in mentions,
        "repeat": "repeat" in mentions,
    }


def _bank(folder: Path = BANK_DIR) -> tuple[list[dict], str]:
    files = sorted(folder.glob("*.jsonl"))
    digest = hashlib.sha256()
    items = []
    for path in files:
        data = path.read_bytes()
        digest.update(data)
        items += [json.loads(line) for line in data.decode("utf-8").splitlines() if line.strip()]
    return items, digest.hexdigest()[:16]


class CueDetector:
    """One vectorizer, one calibrated-enough logistic regression per cue."""

    def __init__(self, items: Sequence[dict]) -> None:
        from sklearn.feature_extraction.text import TfidfVectorizer
        from sklearn.linear_model import LogisticRegression

        texts = [item["text"] for item in items]
        self.vectorizer = TfidfVectorizer(analyzer="char", ngram_range=(1, 3), min_df=2, sublinear_tf=True)
        x = self.vectorizer.fit_transform(texts)
        self.models = {}
        for cue in CUES:
            y = np.array([_labels(item)[cue] for item in items])
            self.models[cue] = LogisticRegression(C=1.0, max_iter=1000, class_weight="balanced").fit(x, y)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """Probability of each cue (columns in ``CUES`` order) for each customer text."""
        if not texts:
            return np.zeros((0, len(CUES)))
        x = self.vectorizer.transform(list(texts))
        return np.column_stack([self.models[cue].predict_proba(x)[:, 1] for cue in CUES])


@lru_cache(maxsize=1)
def detector() -> CueDetector:
    """The detector of the bundled bank: loaded from the cache, else trained (seconds) and cached."""
    from pipeline.config import get_settings

    items, fingerprint = _bank()
    cache = get_settings().models_dir / f"risk-cues-{fingerprint}.joblib"
    if cache.exists():
        try:
            return joblib.load(cache)
        except (
            OSError,
            EOFError,
            AttributeError,
            ValueError,
            ModuleNotFoundError,
        ):  # another version's cache
            cache.unlink(missing_ok=True)
    found = CueDetector(items)
    try:
        cache.parent.mkdir(parents=True, exist_ok=True)
        tmp = cache.with_suffix(".tmp")
        joblib.dump(found, tmp)
        tmp.replace(cache)
    except OSError:
        pass
    return found


def cue_scores(texts: Sequence[str]) -> list[dict[str, float]]:
    """Cue probabilities per customer text (already reduced to the customer's words)."""
    matrix = detector().scores(texts)
    return [{cue: float(v) for cue, v in zip(CUES, row, strict=True)} for row in matrix]
