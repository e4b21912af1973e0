"""Power-domain lexicon: what a word says about the category, matched by sound as well as by spelling.

The classifiers learn words from simulated calls; this prior comes from elsewhere
(``data/domain/lexicon.tsv``, written from the domain, not from the simulator), so
it still holds where the simulator's wording does not. Speech recognition
writes power words with characters of the same sound (店费 for 电费, 强修 for
抢修, 跳炸 for 跳闸), so terms are matched on toneless pinyin with the usual
southern mergers (zh/z, ch/c, sh/s, n/l, -ing/-in, -eng/-en). A sound match
must share at least one character with the term, which keeps 一点呀 from
reading as 电压. At each position the longest term wins, so 欠费停电 counts as
billing rather than as an outage.
"""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from functools import cache, lru_cache
from pathlib import Path

import numpy as np
from pypinyin import Style, lazy_pinyin

from pipeline.config import DATA_DIR
from pipeline.labels import LABELS

LEXICON_FILE = DATA_DIR / "domain" / "lexicon.tsv"
SOUND_MATCH_WEIGHT = 0.8
_INITIALS = (("zh", "z"), ("ch", "c"), ("sh", "s"))
_FINALS = (("ing", "in"), ("eng", "en"))


@dataclass(frozen=True)
class Entry:
    term: str
    category: str
    weight: float
    kind: str


@dataclass(frozen=True)
class Match:
    """One term found in a text; ``exact`` is False when it was found by sound only."""

    term: str
    surface: str
    start: int
    end: int
    exact: bool
    entries: tuple[Entry, ...]


def _fuzzy(syllable: str) -> str:
    for long, short in _INITIALS:
        if syllable.startswith(long):
            syllable = short + syllable[len(long) :]
            break
    if syllable.startswith("n") and not syllable.startswith("ng"):
        syllable = "l" + syllable[1:]
    for long, short in _FINALS:
        if syllable.endswith(long):
            syllable = syllable[: -len(long)] + short
    return syllable


@lru_cache(maxsize=65536)
def sound_of(char: str) -> str:
    """The fuzzy toneless syllable of one character (non-Chinese characters stand for themselves)."""
    if not ("\u4e00" <= char <= "\u9fff"):
        return char.lower()
    return _fuzzy(lazy_pinyin(char, style=Style.NORMAL)[0])


def load_entries(path: Path = LEXICON_FILE) -> list[Entry]:
    """Rows of the lexicon file; unknown categories are an error, not silently skipped."""
    entries: list[Entry] = []
    with path.open(encoding="utf-8") as fh:
        rows = csv.reader((line for line in fh if line.strip() and not line.startswith("#")), delimiter="\t")
        for row in rows:
            term, category, weight, kind = (row + ["", "", "1", "term"])[:4]
            if category not in LABELS:
                raise ValueError(f"{path}: 未知类别 {category!r}（词语 {term}）")
            entries.append(Entry(term.strip(), category, float(weight), kind.strip() or "term"))
    return entries


class DomainLexicon:
    """Compiled lexicon: terms indexed by the sound of their first character."""

    def __init__(self, entries: Iterable[Entry]) -> None:
        by_term: dict[str, list[Entry]] = {}
        for entry in entries:
            by_term.setdefault(entry.term, []).append(entry)
        self.terms = {term: tuple(group) for term, group in by_term.items()}
        self._by_sound: dict[str, list[tuple[str, tuple[str, ...]]]] = {}
        for term in sorted(self.terms, key=len, reverse=True):
            sounds = tuple(sound_of(c) for c in term)
            self._by_sound.setdefault(sounds[0], []).append((term, sounds))

    def matches(self, text: str) -> list[Match]:
        """Non-overlapping matches, longest first at each position, left to right."""
        sounds = [sound_of(c) for c in text]
        out: list[Match] = []
        i = 0
        while i < len(text):
            found = None
            for term, term_sounds in self._by_sound.get(sounds[i], ()):
                n = len(term)
                surface = text[i : i + n]
                if len(surface) < n:
                    continue
                if surface == term:
                    found = Match(term, surface, i, i + n, True, self.terms[term])
                    break
                if n >= 2 and tuple(sounds[i : i + n]) == term_sounds and set(surface) & set(term):
                    found = Match(term, surface, i, i + n, False, self.terms[term])
                    break
            if found is None:
                i += 1
            else:
                out.append(found)
                i = found.end
        return out

    def evidence(self, text: str) -> np.ndarray:
        """Summed term weights per label (in ``LABELS`` order); sound-only matches count less."""
        scores = np.zeros(len(LABELS))
        for match in self.matches(text):
            factor = 1.0 if match.exact else SOUND_MATCH_WEIGHT
            for entry in match.entries:
                scores[LABELS.index(entry.category)] += factor * entry.weight
        return scores

    def canonical(self, text: str) -> str:
        """The text with sound-only matches replaced by the term (店费 -> 电费), for display and hints."""
        parts, pos = [], 0
        for match in self.matches(text):
            if not match.exact:
                parts.append(text[pos : match.start])
                parts.append(match.term)
                pos = match.end
        parts.append(text[pos:])
        return "".join(parts)


@cache
def domain_lexicon() -> DomainLexicon:
    """The bundled lexicon, compiled once per process."""
    return DomainLexicon(load_entries())


def lexicon_evidence(text: str) -> np.ndarray:
    """Category evidence of ``text`` from the bundled lexicon."""
    return domain_lexicon().evidence(text)
