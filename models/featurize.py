"""Prepared text plus jieba words for many calls, and baseline scoring, spread over worker processes.

Text preparation and sklearn's vocabulary lookups are pure Python, so at
nightly volumes they, not the linear algebra, bound the baseline's throughput.
One long-lived pool of processes (spawned once per process, reused by every
later call) uses all cores. Given the path of a saved baseline, each worker
loads the model once in its initializer and scores whole chunks itself, so only
texts go out and probability rows come back.
"""

from __future__ import annotations

import atexit
import logging
import multiprocessing
import os
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from typing import Any

import joblib
import numpy as np

from pipeline import text as ptext
from pipeline.procs import exit_with_parent

log = logging.getLogger(__name__)

PARALLEL_MIN = 1000
Doc = tuple[str, list[str]]

_POOL: ProcessPoolExecutor | None = None
_POOL_KEY: tuple[int, str | None] | None = None
_WORKER_MODEL = None
_LOCK = threading.Lock()


def _docs(texts: Sequence[str], max_chars: int | None) -> list[Doc]:
    out: list[Doc] = []
    for text in texts:
        prepared = ptext.model_input(text, max_chars=max_chars) if max_chars else text
        out.append((prepared, ptext.tokenize(prepared, clean=False)))
    return out


def _proba(texts: Sequence[str], max_chars: int | None) -> np.ndarray:
    """Runs in a worker: the worker's own copy of the pipeline scores one chunk."""
    return _WORKER_MODEL.predict_proba(_docs(texts, max_chars))


def proba_and_prepared(
    pipeline, texts: Sequence[str], max_chars: int, also_chars: int
) -> tuple[np.ndarray, list[str]]:
    """Probabilities at ``max_chars`` plus each text prepared at ``also_chars``, from one cleaning pass."""
    docs: list[Doc] = []
    also: list[str] = []
    for text in texts:
        prepared, other = ptext.model_inputs(text, (max_chars, also_chars))
        docs.append((prepared, ptext.tokenize(prepared, clean=False)))
        also.append(other)
    return pipeline.predict_proba(docs), also


def _proba_also(texts: Sequence[str], chars: tuple[int, int]) -> tuple[np.ndarray, list[str]]:
    """Runs in a worker: one chunk scored, and prepared for the ensemble's other member."""
    return proba_and_prepared(_WORKER_MODEL, texts, *chars)


def _init_worker(model_path: str | None) -> None:
    global _WORKER_MODEL
    exit_with_parent()
    ptext.tokenize("预热分词器", clean=False)
    if model_path:
        _WORKER_MODEL = joblib.load(model_path)["pipeline"]


def _pool(workers: int, model_path: str | None) -> ProcessPoolExecutor:
    """The shared pool; the nightly flow's partition threads all submit to this one."""
    global _POOL, _POOL_KEY
    with _LOCK:
        if _POOL is None or _POOL_KEY != (workers, model_path):
            _shutdown_locked()
            context = multiprocessing.get_context("spawn")
            _POOL = ProcessPoolExecutor(
                max_workers=workers, mp_context=context, initializer=_init_worker, initargs=(model_path,)
            )
            _POOL_KEY = (workers, model_path)
        return _POOL


def _shutdown_locked() -> None:
    global _POOL, _POOL_KEY
    if _POOL is not None:
        _POOL.shutdown(cancel_futures=True)
        _POOL, _POOL_KEY = None, None


def shutdown() -> None:
    """Stop the worker pool (also registered to run at exit)."""
    with _LOCK:
        _shutdown_locked()


atexit.register(shutdown)


def default_workers() -> int:
    return max(1, min(os.cpu_count() or 1, 8))


def _in_process(texts: Sequence[str], workers: int) -> bool:
    # daemonic processes (e.g. Dask workers) may not start children: they run in-process
    return workers <= 1 or len(texts) < PARALLEL_MIN or multiprocessing.current_process().daemon


def _chunks(texts: list[str], workers: int) -> list[list[str]]:
    size = max(250, len(texts) // (workers * 4) + 1)
    return [texts[i : i + size] for i in range(0, len(texts), size)]


def _ready() -> int:
    """A no-op that keeps its worker busy briefly, so each warm-up task lands on a different worker."""
    time.sleep(0.25)
    return os.getpid()


def warm_pool(model_path: str | None, workers: int | None = None, wait: bool = True) -> None:
    """Start the workers (each loads the model in its initializer) before the first big batch needs them."""
    workers = workers or default_workers()
    if workers <= 1 or multiprocessing.current_process().daemon:
        return
    try:
        futures = [_pool(workers, model_path).submit(_ready) for _ in range(workers)]
        if wait:
            for future in futures:
                future.result()
    except (BrokenProcessPool, OSError) as err:
        log.warning("worker pool unavailable (%s); batches will be scored in-process", err)
        shutdown()


def _fan_out(
    work: Callable[[list[str], int | None], Any],
    local: Callable[[list[str]], Any],
    texts: Sequence[str],
    max_chars: Any,
    workers: int | None,
    model_path: str | None,
) -> list[Any]:
    """``work`` over chunks in the pool, results in order; ``[local(texts)]`` when a pool does not pay or cannot run."""
    texts = list(texts)
    workers = workers or default_workers()
    if _in_process(texts, workers):
        return [local(texts)]
    parts = _chunks(texts, workers)
    try:
        return list(_pool(workers, model_path).map(work, parts, [max_chars] * len(parts)))
    except (BrokenProcessPool, OSError) as err:
        log.warning("worker pool unavailable (%s); working in-process", err)
        shutdown()
        return [local(texts)]


def featurize(texts: Sequence[str], max_chars: int | None, workers: int | None = None) -> list[Doc]:
    """(prepared text, words) per text, in order; ``max_chars=None`` means texts are already prepared."""
    parts = _fan_out(_docs, lambda ts: _docs(ts, max_chars), texts, max_chars, workers, None)
    return [doc for part in parts for doc in part]


def predict_proba_parallel(
    pipeline, model_path: str, texts: Sequence[str], max_chars: int | None, workers: int | None = None
) -> np.ndarray:
    """Class probabilities of a saved baseline for many texts, scored inside the worker processes.

    ``pipeline`` is this process's copy of the model at ``model_path``; it scores
    small batches here and everything when no worker pool can run.
    """
    local = lambda ts: pipeline.predict_proba(_docs(ts, max_chars))  # noqa: E731
    return np.vstack(_fan_out(_proba, local, texts, max_chars, workers, model_path))


def predict_proba_also_prepared(
    pipeline,
    model_path: str,
    texts: Sequence[str],
    max_chars: int,
    also_chars: int,
    workers: int | None = None,
) -> tuple[np.ndarray, list[str]]:
    """Like :func:`predict_proba_parallel`, and also every text prepared at ``also_chars``.

    The ensemble's transformer reads the same calls at another length: preparing both in the
    workers cleans each call once and keeps that pure-Python work off the scoring thread.
    """
    local = lambda ts: proba_and_prepared(pipeline, ts, max_chars, also_chars)  # noqa: E731
    parts = _fan_out(_proba_also, local, texts, (max_chars, also_chars), workers, model_path)
    n_labels = len(pipeline.classes_)
    proba = np.vstack([p for p, _ in parts]) if parts else np.zeros((0, n_labels))
    return proba, [t for _, part in parts for t in part]
