"""Mark the words behind a slip's reasons in a transcript, without opening an XSS hole.

The transcript is untrusted text, so it is escaped piece by piece: the text
between matches and each match are escaped separately and only the <mark>
tags we add are left as markup. Matching runs on the raw text, so a keyword
can never match inside an entity such as ``&lt;``.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from markupsafe import Markup, escape

from pipeline.features import REASON_PATTERNS

TERM_KEYS: tuple[str, ...] = ("keywords", "terms", "matches", "matched", "evidence")


def signal_terms(texts: Iterable[str], reasons: Iterable[Any]) -> list[str]:
    """Words in the texts that the reasons' keyword patterns match (single characters left out as noise)."""
    codes = {r.get("code") for r in reasons or [] if isinstance(r, dict)}
    terms: set[str] = set()
    for code in codes:
        for pattern in REASON_PATTERNS.get(str(code), ()):
            for text in texts:
                terms.update(m.group(0) for m in pattern.finditer(text or "") if len(m.group(0)) > 1)
    return sorted(terms, key=len, reverse=True)


def reason_terms(reasons: Iterable[Any]) -> list[str]:
    """The matched words the scoring stored with each reason (whatever key it used)."""
    terms: list[str] = []
    for reason in reasons or []:
        if not isinstance(reason, dict):
            continue
        for key in TERM_KEYS:
            value = reason.get(key)
            if isinstance(value, str):
                terms.append(value)
            elif isinstance(value, list | tuple):
                terms.extend(str(v) for v in value if isinstance(v, str | int))
    return sorted({t.strip() for t in terms if t and t.strip()}, key=len, reverse=True)


def highlight(text: str | None, terms: Iterable[str]) -> Markup:
    """Escaped text with every occurrence of the terms wrapped in <mark>; longest term wins."""
    text = text or ""
    ordered = sorted({t for t in terms if t}, key=len, reverse=True)
    if not ordered:
        return escape(text)
    pattern = re.compile("|".join(re.escape(t) for t in ordered))
    out: list[str] = []
    last = 0
    for match in pattern.finditer(text):
        out.append(str(escape(text[last : match.start()])))
        out.append(f"<mark>{escape(match.group(0))}</mark>")
        last = match.end()
    out.append(str(escape(text[last:])))
    return Markup("".join(out))
