"""Map dialect words and speech-recognition slips to standard Mandarin before tokenizing.

Lexicon files are tab-separated ``wrong<TAB>right`` lines. A line with one
word only *protects* that word: it maps to itself, so that longest-match
replacement does not break a correct word containing a shorter entry (``系统``
stays ``系统`` although ``系`` → ``是`` is an entry for Cantonese-influenced
speech). At each position the longest entry wins; replaced text is not
scanned again, so the mapping is applied once and is idempotent as long as no
right-hand side contains a left-hand side (a test checks that).
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from pipeline.text.resources import lexicon_files, read_lines


def load_lexicon(paths: list[Path] | None = None) -> dict[str, str]:
    """Entries of the given files (default: bundled then user files); later files win."""
    entries: dict[str, str] = {}
    for path in paths if paths is not None else lexicon_files():
        for line in read_lines(path):
            parts = [p.strip() for p in line.split("\t") if p.strip()]
            if len(parts) == 1:
                entries[parts[0]] = parts[0]
            elif len(parts) >= 2:
                entries[parts[0]] = parts[1]
    return entries


class Lexicon:
    """A compiled longest-match replacer over one set of entries."""

    def __init__(self, entries: dict[str, str]) -> None:
        self.entries = dict(entries)
        keys = sorted(self.entries, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, keys))) if keys else None

    def apply(self, text: str) -> str:
        if not text or self._pattern is None:
            return text
        return self._pattern.sub(lambda m: self.entries[m.group()], text)


@cache
def default_lexicon() -> Lexicon:
    """The bundled plus user lexicon, compiled once per process."""
    return Lexicon(load_lexicon())


def apply_lexicon(text: str) -> str:
    """Replace dialect words and ASR errors with their standard form (longest match first)."""
    return default_lexicon().apply(text)
