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

TERM_KEYS: tuple[str, ...] = ("keywords", "terms", "matches", "matched", "evidence")

# Which keyword patterns of pipeline.features stand behind each reason code. The scoring stores
# reasons as sentences without the matched words, so the words are found again here with the
# very patterns that produced the reason.
REASON_PATTERNS: dict[str, tuple[str, ...]] = {
    "threat_regulator": ("_THREAT_REGULATOR",),
    "threat_other": ("_THREAT_OTHER",),
    "unsatisfied_callback": ("_CALLBACK_UNSATISFIED",),
    "missed_commitment": ("_MISSED_COMMITMENT",),
    "repeat": ("_EARLIER",),
    "earlier_mention": ("_EARLIER",),
    "reopened": ("_EARLIER",),
    "wide_incident": ("_WIDE_TEXT",),
    "vulnerable": ("_VULNERABLE",),
    "loss": ("_LOSS",),
    "anger": ("_ANGER",),
    "urgency": ("_URGENCY",),
}


def _patterns(code: str) -> list[re.Pattern[str]]:
    from pipeline import features

    found: list[re.Pattern[str]] = []
    for name in REASON_PATTERNS.get(code, ()):
        value = getattr(features, name, None)
        if isinstance(value, re.Pattern):
            found.append(value)
        elif isinstance(value, dict):
            found.extend(v for v in value.values() if isinstance(v, re.Pattern))
    return found


def signal_terms(texts: Iterable[str], reasons: Iterable[Any]) -> list[str]:
    """Words in the texts that the reasons' keyword patterns match (single characters left out as noise)."""
    codes = {r.get("code") for r in reasons or [] if isinstance(r, dict)}
    terms: set[str] = set()
    for code in codes:
        for pattern in _patterns(str(code)):
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


def reason_text(reason: Any) -> str:
    """The Chinese sentence of a reason, whether stored as a string or a dict."""
    if isinstance(reason, str):
        return reason
    if isinstance(reason, dict):
        for key in ("text", "reason", "zh", "message", "label"):
            if isinstance(reason.get(key), str):
                return reason[key]
    return str(reason)
