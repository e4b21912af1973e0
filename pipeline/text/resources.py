"""Where the text resources live: bundled files under data/, plus users' own files from ``[text]``.

Users extend rather than replace: ``user_dict``, ``lexicon`` and ``stopwords``
in the ``[text]`` table of complaints.toml each take a path or a list of paths
that are loaded after the bundled ones (so a user's lexicon entry wins).
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pipeline.config import DATA_DIR, section

DICT_DIR = DATA_DIR / "dict"
LEXICON_DIR = DATA_DIR / "lexicon"
STOPWORDS_FILE = DATA_DIR / "stopwords.txt"


def _user_paths(key: str) -> list[Path]:
    value = section("text").get(key)
    if not value:
        return []
    items = [value] if isinstance(value, str) else list(value)
    return [Path(item).expanduser() for item in items]


def _existing(paths: list[Path], what: str) -> list[Path]:
    missing = [p for p in paths if not p.is_file()]
    if missing:
        raise FileNotFoundError(f"{what}文件不存在: {missing[0]}")
    return paths


def dict_files() -> list[Path]:
    """jieba user dictionaries: bundled ``data/dict/*.txt`` then ``[text] user_dict``."""
    return sorted(DICT_DIR.glob("*.txt")) + _existing(_user_paths("user_dict"), "用户词典")


def lexicon_files() -> list[Path]:
    """Dialect / ASR-error mappings: bundled ``data/lexicon/*.tsv`` then ``[text] lexicon``."""
    return sorted(LEXICON_DIR.glob("*.tsv")) + _existing(_user_paths("lexicon"), "纠错词表")


def stopword_files() -> list[Path]:
    """Stopword lists: bundled ``data/stopwords.txt`` then ``[text] stopwords``."""
    bundled = [STOPWORDS_FILE] if STOPWORDS_FILE.is_file() else []
    return bundled + _existing(_user_paths("stopwords"), "停用词")


def read_lines(path: Path) -> list[str]:
    """Non-empty lines of a resource file, ``#`` comments dropped."""
    lines = []
    for line in path.read_text(encoding="utf-8-sig").splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            lines.append(line)
    return lines


@cache
def stopwords() -> frozenset[str]:
    """All stopwords, loaded once per process."""
    words: set[str] = set()
    for path in stopword_files():
        words.update(read_lines(path))
    return frozenset(words)


@cache
def domain_terms() -> frozenset[str]:
    """Words of the user dictionaries: what makes a sentence informative for this domain."""
    terms: set[str] = set()
    for path in dict_files():
        for line in read_lines(path):
            word = line.split()[0]
            if len(word) >= 2:
                terms.add(word)
    return frozenset(terms)
