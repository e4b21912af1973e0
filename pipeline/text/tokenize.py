"""Chinese word segmentation with jieba and the power-domain dictionary.

The segmenter is jieba's algorithm and dictionary run by jieba-rs (the
``rjieba`` binding): it cuts the same words as Python jieba (checked on every
sample call) about fifteen times faster, which is what lets the baseline keep
up with a whole night on two cores. ``[text] segmenter = "jieba"`` switches to
Python jieba. Either way a dedicated tokenizer (not a module-level global) is
built once per process, so loading our dictionary cannot leak into, or be
undone by, other code that uses jieba. Cleaning the text is pure Python, so
:func:`tokenize_many` spreads large batches over processes, not threads.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import threading
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

import jieba
import rjieba

from pipeline.config import section
from pipeline.text.lexicon import apply_lexicon
from pipeline.text.normalize import normalize
from pipeline.text.resources import dict_files, read_lines, stopwords
from pipeline.text.turns import strip_speaker_labels

jieba.setLogLevel(logging.WARNING)
_log = logging.getLogger(__name__)

_LOCK = threading.Lock()
_TOKENIZER: Segmenter | None = None
_PUNCT = set("，。！？：；、“”‘’（）《》【】「」『』…—～·,.!?:;'\"()[]{}<>/\\|-_+=*&^%$#@`~")

PARALLEL_MIN_TEXTS = 2000


class Segmenter:
    """One jieba dictionary and its cut function, whichever implementation runs it."""

    def __init__(self, kind: str) -> None:
        if kind not in ("rjieba", "jieba"):
            raise ValueError(f"[text] segmenter 只能是 rjieba 或 jieba，而不是 {kind!r}")
        self.kind = kind
        if kind == "rjieba":
            self._impl: rjieba.Jieba | jieba.Tokenizer = rjieba.Jieba()
        else:
            self._impl = jieba.Tokenizer()
            self._impl.initialize()

    def add_word(self, word: str, freq: int | None = None, tag: str | None = None) -> None:
        self._impl.add_word(word, freq, tag)

    def cut(self, text: str, hmm: bool = True) -> list[str]:
        if self.kind == "rjieba":
            return self._impl.cut(text, hmm)
        return self._impl.lcut(text, HMM=hmm)


def get_tokenizer() -> Segmenter:
    """This process's segmenter with the bundled and user dictionaries loaded."""
    global _TOKENIZER
    if _TOKENIZER is None:
        with _LOCK:
            if _TOKENIZER is None:
                tokenizer = Segmenter(str(section("text").get("segmenter", "rjieba")))
                for path in dict_files():
                    _load_dict(tokenizer, path)
                _TOKENIZER = tokenizer
    return _TOKENIZER


def _load_dict(tokenizer: Segmenter, path: Path) -> None:
    """jieba's own loader takes ``#`` comment lines for words, so lines are parsed here."""
    for line in read_lines(path):
        parts = line.split()
        freq = int(parts[1]) if len(parts) > 1 and parts[1].isdigit() else None
        tag = parts[2] if len(parts) > 2 else None
        tokenizer.add_word(parts[0], freq, tag)


def reset_tokenizer() -> None:
    """Forget the tokenizer so the next call reloads dictionaries (after a config change)."""
    global _TOKENIZER
    with _LOCK:
        _TOKENIZER = None


def _use_hmm() -> bool:
    return bool(section("text").get("hmm", True))


def _keep(token: str, stop: frozenset[str]) -> bool:
    return bool(token.strip()) and token not in _PUNCT and token not in stop


def tokenize(text: str, clean: bool = True) -> list[str]:
    """Words of ``text`` without punctuation, spaces or stopwords.

    With ``clean`` (the default) the text is first normalized and the lexicon
    applied, so raw transcripts and prepared text give the same words; both
    steps are idempotent, so already-prepared text is unchanged by them.
    """
    if not text:
        return []
    if clean:
        text = apply_lexicon(strip_speaker_labels(normalize(text)))
    stop = stopwords()
    words = get_tokenizer().cut(text, _use_hmm())
    return [w.lower() for w in words if _keep(w, stop)]


def _tokenize_chunk(texts: Sequence[str], clean: bool) -> list[list[str]]:
    return [tokenize(text, clean) for text in texts]


def _worker_init() -> None:
    from pipeline.procs import exit_with_parent

    exit_with_parent()
    get_tokenizer()
    stopwords()


def default_workers() -> int:
    """``[text] workers`` or the number of CPUs (at most 8)."""
    configured = section("text").get("workers")
    return int(configured) if configured else max(1, min(os.cpu_count() or 1, 8))


def tokenize_many(
    texts: Sequence[str], workers: int | None = None, clean: bool = True, progress: bool = False
) -> list[list[str]]:
    """Tokenize many texts, in worker processes when the batch is large enough to pay for them.

    Order is preserved. Small batches (under 2,000 texts) or ``workers=1`` run
    in this process, since starting workers costs time. If the pool breaks
    (a worker killed), the batch is redone in this process rather than lost.
    """
    texts = list(texts)
    workers = workers or default_workers()
    if workers <= 1 or len(texts) < PARALLEL_MIN_TEXTS:
        iterable = texts
        if progress:
            from tqdm import tqdm

            iterable = tqdm(texts, desc="分词", unit="条")
        return [tokenize(text, clean) for text in iterable]
    chunk = max(200, min(5000, len(texts) // (workers * 4) + 1))
    chunks = [texts[i : i + chunk] for i in range(0, len(texts), chunk)]
    try:
        return _parallel(chunks, clean, workers, progress)
    except BrokenProcessPool as err:
        _log.warning("分词进程池异常 (%s), 改为单进程分词", err)
        return [tokenize(text, clean) for text in texts]


def _mp_context() -> multiprocessing.context.BaseContext:
    """``fork`` where available: workers inherit the loaded dictionary and need no importable ``__main__``."""
    method = section("text").get("mp_context")
    if not method:
        method = "fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn"
    return multiprocessing.get_context(method)


def _parallel(chunks: list[list[str]], clean: bool, workers: int, progress: bool) -> list[list[str]]:
    tokenize("预热电费", clean=True)
    results: list[list[str]] = []
    with ProcessPoolExecutor(max_workers=workers, mp_context=_mp_context(), initializer=_worker_init) as pool:
        futures = pool.map(_tokenize_chunk, chunks, [clean] * len(chunks))
        if progress:
            from tqdm import tqdm

            futures = tqdm(futures, total=len(chunks), desc="分词", unit="块")
        for part in futures:
            results.extend(part)
    return results
