"""Prepared text plus jieba words for many calls, spread over worker processes when it pays.

Both steps are pure Python (``pipeline.text``), so at nightly volumes they, not
the linear model, bound the baseline's throughput; one long-lived pool of
processes (spawned once per process, reused by every later call) uses all cores.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool

from pipeline import text as ptext

log = logging.getLogger(__name__)

PARALLEL_MIN = 2000
Doc = tuple[str, list[str]]

_POOL: ProcessPoolExecutor | None = None
_POOL_WORKERS = 0


def _docs(texts: Sequence[str], max_chars: int | None) -> list[Doc]:
    out: list[Doc] = []
    for text in texts:
        prepared = ptext.model_input(text, max_chars=max_chars) if max_chars else text
        out.append((prepared, ptext.tokenize(prepared, clean=False)))
    return out


def _warm() -> None:
    ptext.tokenize("预热分词器", clean=False)


def _pool(workers: int) -> ProcessPoolExecutor:
    global _POOL, _POOL_WORKERS
    if _POOL is None or _POOL_WORKERS != workers:
        shutdown()
        context = multiprocessing.get_context("spawn")
        _POOL = ProcessPoolExecutor(max_workers=workers, mp_context=context, initializer=_warm)
        _POOL_WORKERS = workers
    return _POOL


def shutdown() -> None:
    """Stop the worker pool (also registered to run at exit)."""
    global _POOL
    if _POOL is not None:
        _POOL.shutdown(cancel_futures=True)
        _POOL = None


atexit.register(shutdown)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def featurize(texts: Sequence[str], max_chars: int | None, workers: int | None = None) -> list[Doc]:
    """(prepared text, words) per text, in order; ``max_chars=None`` means texts are already prepared."""
    texts = list(texts)
    workers = workers or default_workers()
    # daemonic processes (e.g. Dask workers) may not start children: they run in-process
    if workers <= 1 or len(texts) < PARALLEL_MIN or multiprocessing.current_process().daemon:
        return _docs(texts, max_chars)
    chunk = max(250, len(texts) // (workers * 4) + 1)
    parts = [texts[i : i + chunk] for i in range(0, len(texts), chunk)]
    out: list[Doc] = []
    try:
        for docs in _pool(workers).map(_docs, parts, [max_chars] * len(parts)):
            out.extend(docs)
    except (BrokenProcessPool, OSError) as err:
        log.warning("worker pool unavailable (%s); featurizing in-process", err)
        shutdown()
        return _docs(texts, max_chars)
    return out
