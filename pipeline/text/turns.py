"""Split a transcript into agent and customer turns.

Exports prefix turns with ``坐席：`` / ``客户：``, but other systems write 客服,
话务员, 工作人员, 用户, 来电人 or 顾客, with full- or half-width colons, sometimes
several turns on one line and sometimes lines with no label at all. A line
without a label continues the previous speaker; a first line without one is
the agent when it sounds like the set greeting, else the customer. Text with
no labels anywhere (app, web, WeChat messages) is one customer turn.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

Speaker = Literal["agent", "customer"]

AGENT_LABELS: tuple[str, ...] = (
    "坐席",
    "座席",
    "客服人员",
    "客服",
    "话务员",
    "工作人员",
    "接线员",
    "服务人员",
    "员工",
)
CUSTOMER_LABELS: tuple[str, ...] = ("客户", "用户", "来电人", "来电者", "来电客户", "顾客", "市民")

_LABELS = sorted(AGENT_LABELS + CUSTOMER_LABELS, key=len, reverse=True)
_MARKER = re.compile(
    r"(?:^|(?<=[\s。！？!?；;，,]))[\[【(（]?(" + "|".join(_LABELS) + r")[\]】)）]?\s*[：:]\s*",
    re.MULTILINE,
)
_GREETING = re.compile(r"95598|很高兴为您服务|请问有什么可以帮|国家电网|南方电网|供电服务热线|工号")


@dataclass(frozen=True)
class Turn:
    """One speaker's uninterrupted words."""

    speaker: Speaker
    text: str


def _speaker(label: str) -> Speaker:
    return "agent" if label in AGENT_LABELS else "customer"


def _guess(text: str) -> Speaker:
    return "agent" if _GREETING.search(text) else "customer"


def split_turns(transcript: str, merge: bool = True) -> list[Turn]:
    """Turns in spoken order; consecutive pieces of the same speaker are merged unless ``merge`` is False
    (the slip page shows every labelled line, ``座席：`` as much as ``坐席：``, as its own bubble)."""
    text = (transcript or "").strip()
    if not text:
        return []
    markers = list(_MARKER.finditer(text))
    if not markers:
        return [Turn("customer", " ".join(line.strip() for line in text.splitlines() if line.strip()))]
    pieces: list[tuple[Speaker, str]] = []
    head = text[: markers[0].start()].strip()
    if head:
        pieces.append((_guess(head), head))
    for i, match in enumerate(markers):
        end = markers[i + 1].start() if i + 1 < len(markers) else len(text)
        pieces.append((_speaker(match.group(1)), text[match.end() : end].strip()))
    turns: list[Turn] = []
    for speaker, body in pieces:
        body = " ".join(line.strip() for line in body.splitlines() if line.strip())
        if not body:
            continue
        if merge and turns and turns[-1].speaker == speaker:
            turns[-1] = Turn(speaker, _join(turns[-1].text, body))
        else:
            turns.append(Turn(speaker, body))
    return turns


def strip_speaker_labels(text: str) -> str:
    """The transcript with ``坐席：``-style labels removed, for code that wants the words only."""
    return _MARKER.sub(" ", text or "")


def _join(first: str, second: str) -> str:
    return f"{first}{second}" if first.endswith(tuple("。！？，；!?,;")) else f"{first} {second}"
