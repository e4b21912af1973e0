"""Length-bucketed batching: similar lengths share a batch so padding (and wasted compute) stays small."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor

import numpy as np


def run_by_length(
    texts: Sequence[str],
    batch_size: int,
    run: Callable[[list[str]], np.ndarray],
    n_out: int,
    workers: int = 1,
) -> np.ndarray:
    """Sort by length, run each bucket, then put the rows back in the callers' order.

    With ``workers`` > 1 the buckets run on that many threads at once; ``run``
    must release the GIL (ONNX Runtime does) for that to use more cores.
    """
    result = np.zeros((len(texts), n_out), dtype=np.float32)
    if not texts:
        return result
    order = np.argsort([len(t) for t in texts], kind="stable")
    buckets = [order[start : start + batch_size] for start in range(0, len(order), batch_size)]

    def one(idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        return idx, run([texts[i] for i in idx])

    if workers > 1 and len(buckets) > 1:
        with ThreadPoolExecutor(max_workers=workers) as pool:
            done = list(pool.map(one, buckets))
    else:
        done = [one(idx) for idx in buckets]
    for idx, rows in done:
        result[idx] = rows
    return result


def softmax(logits: np.ndarray) -> np.ndarray:
    z = logits - logits.max(axis=1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=1, keepdims=True)
