"""Hand-written multi-night customer storylines (data/eval/independent/storylines/) as labelled calls.

Written by writers who never read the simulator (docs/writers/evaluation-writer-brief.md): each
storyline is one customer's problem over 1-5 contacts and whether, and when, it reached 12398.
``dev`` decides (thresholds, choices); ``test`` is sealed (``SHA256SUMS``) and decides nothing.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.config import DATA_DIR
from pipeline.records import SHANGHAI, CallRecord

STORYLINES_DIR = DATA_DIR / "eval" / "independent" / "storylines"
SPLITS: tuple[str, ...] = ("dev", "test")


@dataclass(frozen=True)
class Storylines:
    """The calls of a split, the storyline of each call, and each storyline's outcome."""

    records: list[CallRecord]
    problem_of: dict[str, str]
    escalated_at: dict[str, datetime | None]
    register: dict[str, str]


def _local(text: str) -> datetime:
    moment = datetime.fromisoformat(text)
    return moment if moment.tzinfo else moment.replace(tzinfo=SHANGHAI)


def load_storylines(split: str = "dev", folder: Path = STORYLINES_DIR) -> Storylines:
    """Every storyline of ``split`` as call records labelled with the storyline's outcome."""
    if split not in SPLITS:
        raise ValueError(f"未知的数据划分 {split}，可选 {'/'.join(SPLITS)}")
    records: list[CallRecord] = []
    problem_of: dict[str, str] = {}
    escalated: dict[str, datetime | None] = {}
    register: dict[str, str] = {}
    for path in sorted((folder / split).glob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip():
                continue
            story = json.loads(line)
            sid = story["id"]
            at = (
                _local(story["escalated_at"])
                if story.get("escalated_12398") and story.get("escalated_at")
                else None
            )
            escalated[sid] = at
            register[sid] = story.get("register", "")
            for number, contact in enumerate(story["contacts"], start=1):
                call_id = f"{sid}-{number}"
                records.append(
                    CallRecord(
                        call_id=call_id,
                        call_time=_local(contact["call_time"]),
                        phone=contact.get("phone") or "",
                        unit=story["unit"],
                        area=story.get("area") or None,
                        channel=contact.get("channel") or "phone",
                        duration_s=contact.get("duration_s"),
                        transcript=contact["transcript"],
                        customer_id=contact.get("customer_id") or None,
                        category=story["category"],
                        escalated_12398=at is not None,
                        escalated_at=at,
                    )
                )
                problem_of[call_id] = sid
    return Storylines(records, problem_of, escalated, register)
