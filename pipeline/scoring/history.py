"""Job 2 of scoring: what the database already knows about tonight's customers and areas.

Features need each customer's earlier calls, the calls in the same area around
the night and the latest slip on each problem; this module loads exactly those
(in chunks, so a big night does not build one huge ``IN`` list).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import Select, select
from sqlalchemy.orm import Session, load_only

from pipeline.config import horizon_days
from pipeline.features import TEXT_FLAGS, CallView, History, SlipState
from pipeline.identity import aliases
from pipeline.records import SHANGHAI, CallRecord
from pipeline.risk.commitments import Commitment
from pipeline.risk.config import RiskConfig
from pipeline.storage.db import customer_hash
from pipeline.storage.models import Call, Slip
from pipeline.text.mask import mask_account, mask_phone, mask_pii

SQL_CHUNK = 500
_HISTORY_FIELDS = (
    Call.call_id,
    Call.call_time,
    Call.customer_key,
    Call.unit,
    Call.area,
    Call.category,
    Call.probabilities,
    Call.features,
    Call.commitments,
    Call.problem_id,
)
"""What history reads of a stored call (never the transcript: a night may load weeks of calls)."""


def _calls() -> Select[tuple[Call]]:
    return select(Call).options(load_only(*_HISTORY_FIELDS))


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


def stored_view(call: Call, customer: str | None = None) -> CallView:
    """Features' view of a stored call: its problem, probabilities, text flags and promises as stored."""
    return CallView(
        call.call_id,
        call.call_time,
        customer or call.customer_key,
        call.unit,
        call.area,
        call.category,
        probabilities=call.probabilities or None,
        flags={flag: int(call.features.get(flag, 0)) for flag in TEXT_FLAGS} if call.features else None,
        commitments=tuple(Commitment.from_dict(c) for c in (call.commitments or [])),
        problem_id=call.problem_id,
    )


def _add_stored(history: History, calls: Iterable[Call], canonical: dict[str, str], skip: set[str]) -> None:
    for call in sorted(calls, key=lambda c: (c.call_time, c.call_id)):
        if call.call_id not in skip:
            history.add_call(stored_view(call, canonical.get(call.customer_key)))


def _add_slips(history: History, slips: Iterable[Slip], canonical: dict[str, str]) -> None:
    """Slip states onto their problems; a slip from before problems were stored finds its problem
    through its calls."""
    for slip in slips:
        problem_id = slip.problem_id
        if problem_id is None:
            problem_id = next(
                (history.problem_of(link.call_id) for link in slip.calls if history.problem_of(link.call_id)),
                None,
            )
        if problem_id is not None:
            history.set_slip(problem_id, slip_state(slip))


def load_history(
    session: Session,
    views: Sequence[CallView],
    config: RiskConfig,
    *,
    now: datetime | None = None,
    quiet_days: int | None = None,
) -> History:
    """History for these calls: their customers' earlier calls (under every id identity merged into
    theirs), calls in their areas around the night, the latest slip on each problem; the input
    calls themselves are added too. With ``now``, also every open problem of the store
    (:func:`load_open_problems`), so a night re-scores problems nobody called about."""
    history = History(config)
    if not views and now is None:
        return history
    input_ids = {v.call_id for v in views}
    lookback = timedelta(days=max(horizon_days(), config.repeat_window_days, config.reopen_days))
    hours = timedelta(hours=config.wide_incident_hours)
    rows: dict[str, Call] = {}
    canonical: dict[str, str] = {}
    if views:
        start = min(v.call_time for v in views)
        end = max(v.call_time for v in views)
        known = aliases(session, sorted({v.customer_key for v in views}))
        canonical = {alias: cid for cid, ids in known.items() for alias in ids}
        areas = sorted({v.area for v in views if v.area})
        units = {v.unit for v in views}
        for chunk in chunks(sorted(canonical)):
            query = _calls().where(Call.customer_key.in_(chunk), Call.call_time >= start - lookback)
            rows.update({c.call_id: c for c in session.scalars(query)})
        for chunk in chunks(areas):
            query = _calls().where(
                Call.area.in_(chunk), Call.call_time >= start - hours, Call.call_time <= end + hours
            )
            rows.update({c.call_id: c for c in session.scalars(query) if c.unit in units})
    if now is not None:
        rows.update(load_open_problems(session, now, quiet_days or config.rescore_days, lookback))
    _add_stored(history, rows.values(), canonical, input_ids)
    keys = sorted(set(canonical) | {c.customer_key for c in rows.values()})
    for chunk in chunks(keys):
        query = select(Slip).where(Slip.customer_key.in_(chunk)).order_by(Slip.created_at, Slip.id)
        _add_slips(history, session.scalars(query), canonical)
    for view in sorted(views, key=lambda v: (v.call_time, v.call_id)):
        history.add_call(view)
    return history


def load_open_problems(
    session: Session, now: datetime, quiet_days: int, lookback: timedelta
) -> dict[str, Call]:
    """Every call of the store's open problems: those with a call in the last ``quiet_days`` or an open
    slip, each with all its calls within ``lookback``."""
    since = now - timedelta(days=quiet_days)
    problem_ids = set(
        session.scalars(select(Call.problem_id).where(Call.call_time >= since, Call.problem_id.is_not(None)))
    )
    problem_ids |= set(
        session.scalars(select(Slip.problem_id).where(Slip.status != "closed", Slip.problem_id.is_not(None)))
    )
    rows: dict[str, Call] = {}
    for chunk in chunks(sorted(problem_ids)):
        query = _calls().where(Call.problem_id.in_(chunk), Call.call_time >= now - lookback)
        rows.update({c.call_id: c for c in session.scalars(query)})
    return rows
