"""Length-bucketed batching: similar lengths share a batch so padding (and wasted compute) stays small."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np


def run_by_length(
    texts: Sequence[str], batch_size: int, run: Callable[[list[str]], np.ndarray], n_out: int
) -> np.ndarray:
    """Sort by length, run each bucket, then put the rows back in the callers' order."""
    result = np.zeros((len(texts), n_out), dtype=np.float32)
    if not texts:
        return result
    order = np.argsort([len(t) for t in texts], kind="stable")
    for start in range(0, len(order), batch_size):
        idx = order[start : start + batch_size]
        result[idx] = run([texts[i] for i in idx])
    return result


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
