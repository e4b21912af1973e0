"""Tables of the learning loop: 12398 outcomes as imported, and every label (corrections, outcomes, export codes).

``outcomes_12398`` holds one row per forwarded complaint (keyed by 转办编号),
with only keyed hashes and masked forms of the customer's numbers. ``labels``
is append-only like ``slip_events``: a correction is a new row, never an edit,
so the table is its own audit trail and the newest row of a call and kind wins.
Logic lives in :mod:`pipeline.outcomes` and :mod:`pipeline.corrections`.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Float, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from pipeline.storage.models import AuditImmutableError, Base
from pipeline.storage.types import utcnow

LABEL_KINDS: tuple[str, ...] = ("category", "escalation", "false_alarm")
LABEL_SOURCES: tuple[str, ...] = ("correction", "outcome_12398", "export_coded")


class Outcome12398(Base):
    """One complaint forwarded by the regulator's 12398 hotline and what it was matched to."""

    __tablename__ = "outcomes_12398"

    id: Mapped[int] = mapped_column(primary_key=True)
    ticket_no: Mapped[str] = mapped_column(String(64), unique=True)
    received_at: Mapped[datetime] = mapped_column(index=True)
    unit: Mapped[str] = mapped_column(String(100), index=True)
    account_hash: Mapped[str | None] = mapped_column(String(64))
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    phone_masked: Mapped[str | None] = mapped_column(String(32))
    text_masked: Mapped[str] = mapped_column(Text, default="")
    status: Mapped[str] = mapped_column(String(16))
    slip_id: Mapped[int | None] = mapped_column(ForeignKey("slips.id"), index=True)
    call_id: Mapped[str | None] = mapped_column(String(64))
    problem_ref: Mapped[str | None] = mapped_column(String(64))
    similarity: Mapped[float | None] = mapped_column(Float)
    candidates: Mapped[list[Any]] = mapped_column(default=list)
    source: Mapped[str] = mapped_column(String(500), default="")
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)


class Label(Base):
    """One label on a call: a category, an escalation or a false alarm, with where it came from and who."""

    __tablename__ = "labels"
    __table_args__ = (Index("ix_labels_call_kind", "call_id", "kind"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64))
    slip_id: Mapped[int | None] = mapped_column(ForeignKey("slips.id"), index=True)
    problem_ref: Mapped[str | None] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(16))
    value: Mapped[str] = mapped_column(String(64))
    source: Mapped[str] = mapped_column(String(16), index=True)
    author: Mapped[str] = mapped_column(String(100))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    observed_at: Mapped[datetime | None]
    outcome_id: Mapped[int | None] = mapped_column(ForeignKey("outcomes_12398.id"), index=True)
    note: Mapped[str | None] = mapped_column(Text)

    outcome: Mapped[Outcome12398 | None] = relationship()


@event.listens_for(Label, "before_update")
def _refuse_label_update(mapper: Any, connection: Any, target: Label) -> None:
    raise AuditImmutableError("labels rows are append-only")


@event.listens_for(Label, "before_delete")
def _refuse_label_delete(mapper: Any, connection: Any, target: Label) -> None:
    raise AuditImmutableError("labels rows are append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_label_changes(state: Any) -> None:
    """Bulk ``update(Label)`` / ``delete(Label)`` bypass mapper events; stop them here."""
    if not (state.is_update or state.is_delete):
        return
    for mapper in state.all_mappers:
        if mapper.class_ is Label:
            raise AuditImmutableError("labels rows are append-only")
