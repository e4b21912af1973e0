"""Make transcripts from different channels look alike before anything reads them.

Traditional characters (Hong Kong/Taiwan keyboards, some ASR engines) become
simplified with OpenCC ``t2s``; full-width letters and digits become ASCII so
``１３８`` and ``138`` are one number; emoji, control and zero-width characters
go; ASCII punctuation inside Chinese becomes the Chinese form, so downstream
code sees one comma and one full stop. Line breaks are kept: they separate
speaker turns.
"""

from __future__ import annotations

from functools import cache

import regex

_DROP = regex.compile(
    r"[\p{Extended_Pictographic}\p{Emoji_Modifier}\u200b-\u200d\u2060\ufe0e\ufe0f\ufeff"
    r"\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\U000e0000-\U000e007f]"
)
_CJK = r"\p{Han}"
_SPACES = regex.compile(r"[ \t\u00a0\u2000-\u200a\u202f\u205f]+")
_SPACE_NEAR_CJK = regex.compile(
    rf"(?<={_CJK}|[，。！？：；、）】」』”]) | (?={_CJK}|[，。！？：；、（【「『“])"
)
_PUNCT_TO_ZH = {",": "，", "?": "？", "!": "！", ";": "；", ":": "："}
_ASCII_PUNCT_NEAR_CJK = regex.compile(rf"(?<={_CJK})[,?!;:]|[,?!;:](?={_CJK})")
_PERIOD_AFTER_CJK = regex.compile(rf"(?<={_CJK})\.(?!\d)")
_REPEATED_PUNCT = regex.compile(r"([，。、；：])\1+")
# Full-width forms that have a natural Chinese reading stay full-width; the rest map to ASCII.
_KEEP_FULLWIDTH = set("，！？：；（）")
_HALF = {code: code - 0xFEE0 for code in range(0xFF01, 0xFF5F) if chr(code) not in _KEEP_FULLWIDTH} | {
    0x3000: 0x20
}


@cache
def _converter():
    import opencc

    return opencc.OpenCC("t2s")


def to_simplified(text: str) -> str:
    """Traditional to simplified Chinese with OpenCC (t2s); converter built once per process."""
    return _converter().convert(text)


def normalize(text: str) -> str:
    """Simplified, half-width, emoji- and control-free text with tidy spaces; one turn per line kept."""
    if not text:
        return ""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    text = _DROP.sub("", text)
    text = text.translate(_HALF)
    text = to_simplified(text)
    text = _ASCII_PUNCT_NEAR_CJK.sub(lambda m: _PUNCT_TO_ZH[m.group()], text)
    text = _PERIOD_AFTER_CJK.sub("。", text)
    text = _REPEATED_PUNCT.sub(r"\1", text)
    lines = []
    for line in text.split("\n"):
        line = _SPACES.sub(" ", line).strip()
        line = _SPACE_NEAR_CJK.sub("", line)
        if line:
            lines.append(line)
    return "\n".join(lines)
