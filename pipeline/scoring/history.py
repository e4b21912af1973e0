"""Job 2 of scoring: what the database already knows about tonight's customers and areas.

Features need each customer's earlier calls, the calls in the same area around
the night and the latest slip on each problem; this module loads exactly those
(in chunks, so a big night does not build one huge ``IN`` list).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from pipeline.config import horizon_days
from pipeline.features import CallView, History, SlipState
from pipeline.records import SHANGHAI, CallRecord
from pipeline.risk.config import RiskConfig
from pipeline.storage.db import customer_hash
from pipeline.storage.models import Call, Slip
from pipeline.text.mask import mask_account, mask_phone, mask_pii

SQL_CHUNK = 500


def night_of(moment: datetime) -> date:
    """The service night a call belongs to: its calendar date in Asia/Shanghai."""
    return moment.astimezone(SHANGHAI).date()


def masked_customer(record: CallRecord) -> str:
    """The customer as a person may see it: masked account number, else masked phone."""
    return mask_account(record.customer_id) if record.customer_id else mask_phone(record.phone)


def masked_area(area: str | None) -> str | None:
    """The area as stored and shown: free text, so a phone typed into it is masked."""
    return mask_pii(area) if area else area


def call_view(record: CallRecord, category: str, customer_key: str | None = None) -> CallView:
    """Features' view of an input record (customer id replaced by its keyed hash, area masked)."""
    return CallView(
        call_id=record.call_id,
        call_time=record.call_time,
        customer_key=customer_key or customer_hash(record.customer_key),
        unit=record.unit,
        area=masked_area(record.area),
        category=category,
        transcript=record.transcript,
        duration_s=record.duration_s,
    )


def slip_state(slip: Slip) -> SlipState:
    """What features need from a stored slip."""
    unsatisfied = slip.callback_result == "不满意" or any(
        r.get("code") == "unsatisfied_callback" for r in slip.reasons
    )
    return SlipState(slip.status, slip.closed_at, unsatisfied, slip.reopen_count)


def chunks(items: Sequence[Any], size: int = SQL_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def stored_calls(session: Session, call_ids: Sequence[str]) -> dict[str, Call]:
    """The stored rows of these call ids (those that exist)."""
    found: dict[str, Call] = {}
    for chunk in chunks(list(call_ids)):
        for call in session.scalars(select(Call).where(Call.call_id.in_(chunk))):
            found[call.call_id] = call
    return found


def stored_ids(session: Session, call_ids: Sequence[str]) -> set[str]:
    """Which of these call ids are stored (ids only: cheap enough to ask before and after a night)."""
    found: set[str] = set()
    for chunk in chunks(list(call_ids)):
        found.update(session.scalars(select(Call.call_id).where(Call.call_id.in_(chunk))))
    return found


def load_history(session: Session, views: Sequence[CallView], config: RiskConfig) -> History:
    """History for these calls: their customers' earlier calls, calls in their areas around the night,
    and the latest slip on each of their problems; the input calls themselves are added too."""
    history = History(config)
    if not views:
        return history
    input_ids = {v.call_id for v in views}
    lookback = timedelta(days=max(horizon_days(), config.repeat_window_days, config.reopen_days))
    hours = timedelta(hours=config.wide_incident_hours)
    start = min(v.call_time for v in views)
    end = max(v.call_time for v in views)
    customers = sorted({v.customer_key for v in views})
    areas = sorted({v.area for v in views if v.area})
    units = {v.unit for v in views}
    rows: dict[str, Call] = {}
    for chunk in chunks(customers):
        query = select(Call).where(Call.customer_key.in_(chunk), Call.call_time >= start - lookback)
        rows.update({c.call_id: c for c in session.scalars(query)})
    for chunk in chunks(areas):
        query = select(Call).where(
            Call.area.in_(chunk), Call.call_time >= start - hours, Call.call_time <= end + hours
        )
        rows.update({c.call_id: c for c in session.scalars(query) if c.unit in units})
    for call in rows.values():
        if call.call_id in input_ids:
            continue
        history.add_call(
            CallView(call.call_id, call.call_time, call.customer_key, call.unit, call.area, call.category)
        )
    for chunk in chunks(customers):
        query = select(Slip).where(Slip.customer_key.in_(chunk)).order_by(Slip.created_at, Slip.id)
        for slip in session.scalars(query):
            history.set_slip(slip.customer_key, slip.category, slip_state(slip))
    for view in views:
        history.add_call(view)
    return history
