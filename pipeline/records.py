"""One 95598 call as the rest of the product sees it, after ingest has validated it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")

REQUIRED_FIELDS: tuple[str, ...] = ("call_id", "call_time", "phone", "unit", "transcript")
OPTIONAL_FIELDS: tuple[str, ...] = ("customer_id", "area", "channel", "duration_s")
LABEL_FIELDS: tuple[str, ...] = ("category", "escalated_12398", "escalated_at")
CONTRACT_FIELDS: tuple[str, ...] = REQUIRED_FIELDS + OPTIONAL_FIELDS + LABEL_FIELDS
EXPORT_FIELDS: tuple[str, ...] = (
    "call_id",
    "call_time",
    "customer_id",
    "phone",
    "unit",
    "area",
    "channel",
    "duration_s",
    "transcript",
)
"""Column order of a call export as the simulator and tests write it (labels not included)."""
CHANNELS: tuple[str, ...] = ("phone", "app", "web", "wechat")


@dataclass
class CallRecord:
    """A validated call record; label fields are set only in training and history data."""

    call_id: str
    call_time: datetime
    phone: str
    unit: str
    transcript: str
    customer_id: str | None = None
    area: str | None = None
    channel: str = "phone"
    duration_s: int | None = None
    extras: dict[str, str] = field(default_factory=dict)
    category: str | None = None
    escalated_12398: bool | None = None
    escalated_at: datetime | None = None

    @property
    def customer_key(self) -> str:
        """Who the caller is: the account number when given, else the phone number."""
        return self.customer_id or self.phone


def night_of(moment: datetime) -> date:
    """The service night a call belongs to: its calendar date in Asia/Shanghai."""
    return moment.astimezone(SHANGHAI).date()
