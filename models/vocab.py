"""Character vocabulary for the compact Chinese BERT.

Characters come from the dictionary the installed jieba package ships (word
frequencies summed per character), so the vocabulary covers common Chinese, not
only what the simulator happens to say; the file is read in place, never copied.
"""

from __future__ import annotations

import string
import unicodedata
from collections import Counter
from collections.abc import Iterable
from pathlib import Path

import jieba

SPECIAL_TOKENS: tuple[str, ...] = ("[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]")
CJK_PUNCTUATION = "，。！？；：、“”‘’（）《》【】—…·～％＋－／＝"


def jieba_dict_path() -> Path:
    """dict.txt inside the installed jieba package (word, frequency, part of speech per line)."""
    return Path(jieba.__file__).resolve().parent / "dict.txt"


def is_cjk(char: str) -> bool:
    return "\u4e00" <= char <= "\u9fff" or "\u3400" <= char <= "\u4dbf"


def jieba_words(min_freq: int = 1) -> list[tuple[str, int]]:
    """(word, frequency) pairs from jieba's dictionary."""
    out: list[tuple[str, int]] = []
    with jieba_dict_path().open(encoding="utf-8") as fh:
        for line in fh:
            parts = line.split()
            if len(parts) >= 2 and parts[1].isdigit() and int(parts[1]) >= min_freq:
                out.append((parts[0], int(parts[1])))
    return out


def common_chinese_chars(limit: int = 7500) -> list[str]:
    """The ``limit`` most frequent CJK characters, weighted by jieba word frequency."""
    counts: Counter[str] = Counter()
    for word, freq in jieba_words():
        for char in word:
            if is_cjk(char):
                counts[char] += freq
    return [c for c, _ in counts.most_common(limit)]


def build_vocab(extra_texts: Iterable[str] = (), limit: int = 7500, extra_min_count: int = 2) -> list[str]:
    """Special tokens, ASCII (with ## continuations for WordPiece), punctuation, common characters.

    Characters seen at least ``extra_min_count`` times in ``extra_texts`` (the
    pretraining corpus) are appended so domain characters are never [UNK].
    """
    tokens: list[str] = list(SPECIAL_TOKENS)
    ascii_chars = [c for c in string.printable if c not in string.whitespace and not c.isupper()]
    tokens += ascii_chars
    tokens += ["##" + c for c in string.ascii_lowercase + string.digits]
    tokens += list(CJK_PUNCTUATION)
    tokens += common_chinese_chars(limit)
    seen = set(tokens)
    counts: Counter[str] = Counter()
    for text in extra_texts:
        counts.update(unicodedata.normalize("NFKC", text).lower())
    for char, n in counts.most_common():
        if n >= extra_min_count and char not in seen and not char.isspace():
            tokens.append(char)
            seen.add(char)
    return tokens


def write_vocab(tokens: list[str], path: str | Path) -> Path:
    path = Path(path)
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path
