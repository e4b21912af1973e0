"""The product's tables as SQLAlchemy 2 ORM classes.

The nightly batch writes calls, slips and quarantine rows; the web app works
slips and owns users and webhook deliveries. Both write the same database, so
slips carry a version column (optimistic locking) and the audit table
``slip_events`` refuses edits and deletes, in the ORM here and by trigger in
the database (see the first migration).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import (
    Boolean,
    Date,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    event,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, relationship

from pipeline.storage.types import JSONType, UTCDateTime, utcnow

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

SLIP_STATUSES: tuple[str, ...] = ("issued", "acknowledged", "in_progress", "callback", "closed")
SLIP_STATUS_ZH: dict[str, str] = {
    "issued": "已下发",
    "acknowledged": "已签收",
    "in_progress": "处理中",
    "callback": "已回访",
    "closed": "已销号",
}
USER_ROLES: tuple[str, ...] = ("province", "unit", "auditor")


class Base(DeclarativeBase):
    """Declarative base with a naming convention so Alembic names constraints predictably."""

    metadata = MetaData(naming_convention=NAMING)
    type_annotation_map = {dict[str, Any]: JSONType, list[Any]: JSONType, datetime: UTCDateTime}


class Call(Base):
    """One scored call: classification, escalation score, level, reasons and its slip."""

    __tablename__ = "calls"
    __table_args__ = (
        Index("ix_calls_problem", "customer_key", "category", "call_time"),
        Index("ix_calls_area", "unit", "area", "call_time"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    call_id: Mapped[str] = mapped_column(String(64), unique=True)
    night: Mapped[date] = mapped_column(Date, index=True)
    call_time: Mapped[datetime]
    customer_key: Mapped[str] = mapped_column(String(64), index=True)
    customer_masked: Mapped[str] = mapped_column(String(64))
    unit: Mapped[str] = mapped_column(String(100))
    area: Mapped[str | None] = mapped_column(String(200))
    channel: Mapped[str] = mapped_column(String(16), default="phone")
    duration_s: Mapped[int | None]
    transcript: Mapped[str] = mapped_column(Text)
    category: Mapped[str] = mapped_column(String(32))
    confidence: Mapped[float] = mapped_column(Float)
    probabilities: Mapped[dict[str, Any]] = mapped_column(default=dict)
    needs_review: Mapped[bool] = mapped_column(Boolean, default=False)
    escalation_score: Mapped[float] = mapped_column(Float)
    risk_level: Mapped[str] = mapped_column(String(8))
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    features: Mapped[dict[str, Any]] = mapped_column(default=dict)
    slip_id: Mapped[int | None] = mapped_column(ForeignKey("slips.id"), index=True)
    classifier_version: Mapped[str | None] = mapped_column(String(100))
    risk_model_version: Mapped[str | None] = mapped_column(String(100))
    scored_at: Mapped[datetime] = mapped_column(default=utcnow)
    phone_masked: Mapped[str | None] = mapped_column(String(32))
    problem_id: Mapped[str | None] = mapped_column(String(64), index=True)
    commitments: Mapped[list[Any]] = mapped_column(default=list)
    coded_category: Mapped[str | None] = mapped_column(String(32))

    slip: Mapped[Slip | None] = relationship(back_populates="primary_calls", foreign_keys=[slip_id])


class Slip(Base):
    """A risk-warning slip (投诉风险预警单): one per customer problem, worked to closure."""

    __tablename__ = "slips"
    __table_args__ = (
        Index("ix_slips_problem", "customer_key", "category"),
        Index("ix_slips_unit_status", "unit", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slip_no: Mapped[str] = mapped_column(String(32), unique=True)
    unit: Mapped[str] = mapped_column(String(100))
    customer_key: Mapped[str] = mapped_column(String(64))
    customer_masked: Mapped[str] = mapped_column(String(64))
    area: Mapped[str | None] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(8))
    score: Mapped[float] = mapped_column(Float)
    reasons: Mapped[list[Any]] = mapped_column(default=list)
    recommended_actions: Mapped[list[Any]] = mapped_column(default=list)
    status: Mapped[str] = mapped_column(String(16), default="issued", index=True)
    due_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)
    closed_at: Mapped[datetime | None]
    first_call_at: Mapped[datetime]
    last_call_at: Mapped[datetime]
    call_count: Mapped[int] = mapped_column(Integer, default=0)
    handling_note: Mapped[str | None] = mapped_column(Text)
    callback_result: Mapped[str | None] = mapped_column(String(16))
    supervised: Mapped[bool] = mapped_column(Boolean, default=False)
    reopen_count: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, nullable=False, default=1)
    assignee: Mapped[str | None] = mapped_column(String(64), index=True)
    problem_id: Mapped[str | None] = mapped_column(String(64), index=True)
    escalated_12398: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    escalated_at: Mapped[datetime | None]
    false_alarm: Mapped[bool] = mapped_column(Boolean, nullable=False, default=False)
    false_alarm_reason: Mapped[str | None] = mapped_column(Text)

    __mapper_args__ = {"version_id_col": version}

    calls: Mapped[list[SlipCall]] = relationship(
        back_populates="slip", cascade="all, delete-orphan", order_by="SlipCall.added_at"
    )
    events: Mapped[list[SlipEvent]] = relationship(
        back_populates="slip", order_by="SlipEvent.id", passive_deletes="all"
    )
    primary_calls: Mapped[list[Call]] = relationship(back_populates="slip", foreign_keys=[Call.slip_id])

    @property
    def is_open(self) -> bool:
        return self.status != "closed"


class SlipCall(Base):
    """Which calls a slip covers; a slip gathers every call on its problem."""

    __tablename__ = "slip_calls"

    slip_id: Mapped[int] = mapped_column(ForeignKey("slips.id", ondelete="CASCADE"), primary_key=True)
    call_id: Mapped[int] = mapped_column(ForeignKey("calls.id"), primary_key=True)
    added_at: Mapped[datetime] = mapped_column(default=utcnow)

    slip: Mapped[Slip] = relationship(back_populates="calls")
    call: Mapped[Call] = relationship()


class SlipEvent(Base):
    """Append-only audit trail of a slip: every change with who, when and why."""

    __tablename__ = "slip_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slip_id: Mapped[int] = mapped_column(ForeignKey("slips.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(100))
    action: Mapped[str] = mapped_column(String(32))
    from_status: Mapped[str | None] = mapped_column(String(16))
    to_status: Mapped[str | None] = mapped_column(String(16))
    note: Mapped[str | None] = mapped_column(Text)
    details: Mapped[dict[str, Any]] = mapped_column(default=dict)

    slip: Mapped[Slip] = relationship(back_populates="events")


class AuditImmutableError(RuntimeError):
    """Raised when code tries to change or delete an audit row."""


@event.listens_for(SlipEvent, "before_update")
def _refuse_event_update(mapper: Any, connection: Any, target: SlipEvent) -> None:
    raise AuditImmutableError("slip_events rows are append-only")


@event.listens_for(SlipEvent, "before_delete")
def _refuse_event_delete(mapper: Any, connection: Any, target: SlipEvent) -> None:
    raise AuditImmutableError("slip_events rows are append-only")


@event.listens_for(Session, "do_orm_execute")
def _refuse_bulk_event_changes(state: Any) -> None:
    """Bulk ``update(SlipEvent)`` / ``delete(SlipEvent)`` bypass mapper events; stop them here."""
    if not (state.is_update or state.is_delete):
        return
    for mapper in state.all_mappers:
        if mapper.class_ is SlipEvent:
            raise AuditImmutableError("slip_events rows are append-only")


class QuarantinedRow(Base):
    """An input row that failed validation, kept (masked) with the reason so a person can fix it."""

    __tablename__ = "quarantine"
    __table_args__ = (UniqueConstraint("night", "source", "row_number", name="uq_quarantine_row"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    night: Mapped[date | None] = mapped_column(Date, index=True)
    source: Mapped[str] = mapped_column(String(500))
    row_number: Mapped[int] = mapped_column(Integer)
    call_id: Mapped[str | None] = mapped_column(String(64))
    reason_code: Mapped[str] = mapped_column(String(64))
    reason: Mapped[str] = mapped_column(Text)
    raw: Mapped[dict[str, Any]] = mapped_column(default=dict)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class NightRun(Base):
    """One nightly batch run as the flows record it."""

    __tablename__ = "night_runs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    night: Mapped[date] = mapped_column(Date, index=True)
    source: Mapped[str] = mapped_column(String(500))
    status: Mapped[str] = mapped_column(String(16), default="running")
    counts: Mapped[dict[str, Any]] = mapped_column(default=dict)
    model_versions: Mapped[dict[str, Any]] = mapped_column(default=dict)
    error: Mapped[str | None] = mapped_column(Text)
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]


class User(Base):
    """A web-app user: province staff, a supply unit's staff, or an auditor (read only)."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    unit: Mapped[str | None] = mapped_column(String(100))
    disabled: Mapped[bool] = mapped_column(Boolean, default=False)
    api_token_hash: Mapped[str | None] = mapped_column(String(255), index=True)
    failed_logins: Mapped[int] = mapped_column(Integer, default=0)
    locked_until: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    session_generation: Mapped[int] = mapped_column(Integer, nullable=False, default=0)


class WebhookDelivery(Base):
    """An outgoing notification about a slip, retried until delivered or given up."""

    __tablename__ = "webhook_deliveries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slip_id: Mapped[int | None] = mapped_column(ForeignKey("slips.id"), index=True)
    url: Mapped[str] = mapped_column(String(1000))
    payload: Mapped[dict[str, Any]] = mapped_column(default=dict)
    status: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    delivered_at: Mapped[datetime | None]


class SlipComment(Base):
    """A remark on a slip by a person (not a status change), kept like the audit trail."""

    __tablename__ = "slip_comments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slip_id: Mapped[int] = mapped_column(ForeignKey("slips.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(100))
    body: Mapped[str] = mapped_column(Text)


class SlipAttachment(Base):
    """A file (site photo) on a slip; the bytes live on disk under the data home, named by ``stored_name``."""

    __tablename__ = "slip_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    slip_id: Mapped[int] = mapped_column(ForeignKey("slips.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    by: Mapped[str] = mapped_column(String(100))
    filename: Mapped[str] = mapped_column(String(200))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    stored_name: Mapped[str] = mapped_column(String(100), unique=True)


class Notification(Base):
    """An in-app notice for one user about one slip (new red slip, about to be overdue)."""

    __tablename__ = "notifications"
    __table_args__ = (UniqueConstraint("user_id", "slip_id", "kind", name="uq_notifications_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id"), index=True)
    slip_id: Mapped[int] = mapped_column(ForeignKey("slips.id"))
    kind: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(String(300))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    read_at: Mapped[datetime | None]
