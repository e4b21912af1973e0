"""Diversity figures of simulated calls: what the 1% sentence rule and the benchmark measure.

A "customer sentence" is a piece of customer speech between sentence marks
(。！？；, line breaks) with at least ``MIN_SENTENCE_CHARS`` characters once spaces
and commas are removed; back-channel words (嗯, 对, 好的) are shorter and exempt.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterable

MIN_SENTENCE_CHARS = 6
_LABEL = re.compile(r"(坐席|座席|客服|话务员|客户|用户|来电人)[：:]")
_CUSTOMER = {"客户", "用户", "来电人"}
_SENT = re.compile(r"[。！？!?；;\n]+")
_STRIP = re.compile(r"[\s，,、…]+")


def customer_speech(transcript: str) -> str:
    """Customer speech as generated: free text counts whole; line breaks stay sentence boundaries.

    Unlike ``pipeline.text.customer_text`` nothing is normalized or corrected, because the
    figures measure the generator's raw variety.
    """
    marks = list(_LABEL.finditer(transcript))
    if not marks:
        return transcript
    parts = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(transcript)
        if m.group(1) in _CUSTOMER:
            parts.append(transcript[m.end() : end].strip())
    return "\n".join(parts)


def sentences(text: str) -> list[str]:
    """Customer sentences of at least ``MIN_SENTENCE_CHARS`` characters, normalised for counting."""
    out = []
    for piece in _SENT.split(text):
        s = _STRIP.sub("", piece)
        if len(s) >= MIN_SENTENCE_CHARS:
            out.append(s)
    return out


def sentence_call_counts(transcripts: Iterable[str]) -> tuple[Counter[str], int]:
    """How many calls each customer sentence appears in, and the number of calls."""
    counts: Counter[str] = Counter()
    n = 0
    for t in transcripts:
        n += 1
        counts.update(set(sentences(customer_speech(t))))
    return counts, n


def char_ngrams(transcripts: Iterable[str], n: int = 4) -> set[str]:
    """Distinct character n-grams of customer speech."""
    grams: set[str] = set()
    for t in transcripts:
        text = _STRIP.sub("", customer_speech(t))
        grams.update(text[i : i + n] for i in range(len(text) - n + 1))
    return grams


def agent_speech(transcript: str) -> str:
    """The agent's turns of a labelled transcript (empty for free text)."""
    marks = list(_LABEL.finditer(transcript))
    parts = []
    for i, m in enumerate(marks):
        end = marks[i + 1].start() if i + 1 < len(marks) else len(transcript)
        if m.group(1) not in _CUSTOMER:
            parts.append(transcript[m.end() : end].strip())
    return "\n".join(parts)


def agent_naming_share(transcripts: Iterable[str], category_names: Iterable[str]) -> float:
    """Share of calls with agent turns in which the agent says one of the category names."""
    pattern = re.compile("|".join(map(re.escape, sorted(set(category_names), key=len, reverse=True))))
    with_agent = named = 0
    for transcript in transcripts:
        agent = agent_speech(transcript)
        if agent:
            with_agent += 1
            named += bool(pattern.search(agent))
    return named / with_agent if with_agent else 0.0
