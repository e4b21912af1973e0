"""Write one night's export (contract fields only) and its labels, as the nightly job would find them."""

from __future__ import annotations

import csv
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from pipeline.records import EXPORT_FIELDS

CALL_COLUMNS: tuple[str, ...] = EXPORT_FIELDS
LABEL_COLUMNS: tuple[str, ...] = (
    "call_id",
    "category",
    "escalated_12398",
    "escalated_at",
    "problem_id",
    "event_id",
    "customer_key",
    "phrasing_split",
    "commitment",
    "commitment_due",
    "commitment_kept",
    "missed_at_call",
    "callback_at",
    "callback_result",
    "escalation_trigger",
)
"""Label columns; from ``commitment`` on, the world's commitments and callbacks (docs/simulator.md)."""


@dataclass(frozen=True)
class CallRow:
    """One output row: the export part and the truth part."""

    call_id: str
    call_time: datetime
    customer_id: str
    phone: str
    unit: str
    area: str
    channel: str
    duration_s: int | None
    transcript: str
    category: str
    escalated_at: datetime | None
    problem_id: str
    event_id: str
    customer_key: str
    phrasing_split: str
    commitment: str = ""
    commitment_due: datetime | None = None
    commitment_kept: bool | None = None
    missed_at_call: bool = False
    callback_at: datetime | None = None
    callback_result: str = ""
    escalation_trigger: str = ""


def _iso(t: datetime | None) -> str:
    return "" if t is None else t.isoformat(timespec="seconds")


def _flag(value: bool | None) -> str:
    return "" if value is None else "true" if value else "false"


def write_night(night_dir: Path, rows: Iterable[CallRow]) -> int:
    """Write ``calls.csv`` and ``labels.csv`` into ``night_dir``; returns the number of calls."""
    night_dir.mkdir(parents=True, exist_ok=True)
    n = 0
    with (
        (night_dir / "calls.csv").open("w", encoding="utf-8", newline="") as calls_fh,
        (night_dir / "labels.csv").open("w", encoding="utf-8", newline="") as labels_fh,
    ):
        calls = csv.writer(calls_fh, lineterminator="\n")
        labels = csv.writer(labels_fh, lineterminator="\n")
        calls.writerow(CALL_COLUMNS)
        labels.writerow(LABEL_COLUMNS)
        for r in rows:
            calls.writerow(
                (
                    r.call_id,
                    _iso(r.call_time),
                    r.customer_id,
                    r.phone,
                    r.unit,
                    r.area,
                    r.channel,
                    "" if r.duration_s is None else r.duration_s,
                    r.transcript,
                )
            )
            labels.writerow(
                (
                    r.call_id,
                    r.category,
                    "true" if r.escalated_at is not None else "false",
                    _iso(r.escalated_at),
                    r.problem_id,
                    r.event_id,
                    r.customer_key,
                    r.phrasing_split,
                    r.commitment,
                    _iso(r.commitment_due),
                    _flag(r.commitment_kept),
                    _flag(r.missed_at_call),
                    _iso(r.callback_at),
                    r.callback_result,
                    r.escalation_trigger,
                )
            )
            n += 1
    return n
