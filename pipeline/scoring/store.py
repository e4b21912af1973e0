"""Job 3 of scoring: risk for the whole night against its history, slips, and storage.

Idempotent: a call already stored is returned as stored and never scored
twice. Calls are committed in chunks; when a slip was edited in the web app
meanwhile (or another run stored the same call), that chunk is redone call by
call, each in its own transaction.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from datetime import date, datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from pipeline.features import FEATURE_COLUMNS, CallView, History, TextSignals, text_signals
from pipeline.risk.assess import assess
from pipeline.risk.config import RiskConfig, risk_config_for
from pipeline.scoring.classify import ClassifiedCall
from pipeline.scoring.history import (
    call_view,
    chunks,
    load_history,
    masked_customer,
    night_of,
    slip_state,
    stored_calls,
)
from pipeline.slips import SlipActionError, record_call
from pipeline.storage.db import customer_hash, session_factory
from pipeline.storage.models import Call, QuarantinedRow, Slip
from pipeline.storage.types import utcnow
from pipeline.text.mask import mask_phone, mask_pii

STORE_RETRIES = 3
COMMIT_EVERY = 200


class RiskModelLike(Protocol):
    version: str

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray: ...


@dataclass
class ScoredCall:
    """One output line of scoring."""

    call_id: str
    category: str
    confidence: float
    escalation_score: float
    risk_level: str
    reasons: list[str]
    slip_no: str | None
    needs_review: bool = False

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def scored_from_row(call: Call) -> ScoredCall:
    """The output line of a stored call."""
    return ScoredCall(
        call_id=call.call_id,
        category=call.category,
        confidence=call.confidence,
        escalation_score=round(call.escalation_score, 6),
        risk_level=call.risk_level,
        reasons=[r["text"] for r in call.reasons],
        slip_no=call.slip.slip_no if call.slip is not None else None,
        needs_review=call.needs_review,
    )


def _feature_frame(rows: list[dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(FEATURE_COLUMNS))


def _as_factory(target: Engine | sessionmaker[Session]) -> sessionmaker[Session]:
    return session_factory(target) if isinstance(target, Engine) else target


def assess_and_store(
    engine_or_session_factory: Engine | sessionmaker[Session],
    classified: Sequence[ClassifiedCall],
    risk_model: RiskModelLike,
    night: date | None,
    *,
    config: RiskConfig | None = None,
    now: datetime | None = None,
    progress: bool = False,
) -> list[ScoredCall]:
    """Score a whole night against its history, open or update slips and store every call.

    Returns one ScoredCall per input call, in input order. Calls already in the
    database are returned as stored.
    """
    config = config or risk_config_for(risk_model)
    factory = _as_factory(engine_or_session_factory)
    with factory() as session:
        stored = {
            cid: scored_from_row(c)
            for cid, c in stored_calls(session, [c.record.call_id for c in classified]).items()
        }
        fresh = sorted(
            (c for c in classified if c.record.call_id not in stored), key=lambda c: c.record.call_time
        )
        keys = {c.record.call_id: customer_hash(c.record.customer_key) for c in fresh}
        views = [call_view(c.record, c.category, keys[c.record.call_id]) for c in fresh]
        history = load_history(session, views, config)
    signals = [c.signals or text_signals(v.transcript) for c, v in zip(fresh, views, strict=True)]
    features = [history.features(v, s) for v, s in zip(views, signals, strict=True)]
    probabilities = (
        np.asarray(risk_model.predict_proba(_feature_frame(features)), dtype=float).reshape(-1)
        if features
        else np.zeros(0)
    )
    now = now or utcnow()
    results: dict[str, ScoredCall] = dict(stored)
    pending = list(zip(fresh, views, signals, probabilities.tolist(), strict=True))
    with tqdm(total=len(pending), desc="风险评估", disable=not progress, unit="通") as bar:
        for chunk in chunks(pending, COMMIT_EVERY):
            snapshot = history.slip_snapshot()
            try:
                done = _store_chunk(factory, chunk, risk_model, night, config, now, history)
            except (IntegrityError, SlipActionError):
                history.restore_slips(snapshot)
                done = [_store_one(factory, p, risk_model, night, config, now, history) for p in chunk]
            results.update({s.call_id: s for s in done})
            bar.update(len(chunk))
    return [results[c.record.call_id] for c in classified]


_Pending = tuple[ClassifiedCall, CallView, TextSignals, float]


def _new_call(
    pending: _Pending,
    risk_model: RiskModelLike,
    night: date | None,
    config: RiskConfig,
    now: datetime,
    history: History,
) -> Call:
    """The Call row of one assessed call (features read from history as it stands now)."""
    item, view, signals, probability = pending
    features = history.features(view, signals)
    verdict = assess(features, signals, probability, category=view.category, area=view.area, config=config)
    record = item.record
    return Call(
        call_id=record.call_id,
        night=night or night_of(record.call_time),
        call_time=record.call_time,
        customer_key=view.customer_key,
        customer_masked=masked_customer(record),
        phone_masked=mask_phone(record.phone) if record.phone else None,
        unit=record.unit,
        area=view.area,
        channel=record.channel,
        duration_s=record.duration_s,
        transcript=item.masked_transcript
        if item.masked_transcript is not None
        else mask_pii(record.transcript),
        category=item.category,
        confidence=item.confidence,
        probabilities=item.probabilities,
        needs_review=item.needs_review,
        escalation_score=probability,
        risk_level=verdict.level,
        reasons=verdict.reason_dicts(),
        features=features,
        classifier_version=item.classifier_version,
        risk_model_version=str(getattr(risk_model, "version", "unknown")),
        scored_at=now,
    )


def _attach(session: Session, call: Call, history: History, config: RiskConfig, now: datetime) -> Slip | None:
    """``record_call``, skipped for a no-risk call on a problem that has no slip at all.

    Most calls of a night are such calls; history already holds every slip of
    these customers (loaded at the start, updated as slips are issued), so the
    per-call slip lookup, and the flush it forces, is only paid where a slip
    exists or may be issued.
    """
    if call.risk_level == "none" and history.slip(call.customer_key, call.category) is None:
        return None
    return record_call(session, call, call.night, now=now, config=config)


def _store_chunk(
    factory: sessionmaker[Session],
    chunk: Sequence[_Pending],
    risk_model: RiskModelLike,
    night: date | None,
    config: RiskConfig,
    now: datetime,
    history: History,
) -> list[ScoredCall]:
    """Store many calls in one transaction (fast path); any conflict aborts the whole chunk."""
    with factory() as session:
        calls = []
        for pending in chunk:
            call = _new_call(pending, risk_model, night, config, now, history)
            session.add(call)
            slip = _attach(session, call, history, config, now)
            if slip is not None:
                history.set_slip(slip.customer_key, slip.category, slip_state(slip))
            calls.append(call)
        try:
            session.commit()
        except Exception:
            session.rollback()
            raise
        return [scored_from_row(call) for call in calls]


def _store_one(
    factory: sessionmaker[Session],
    pending: _Pending,
    risk_model: RiskModelLike,
    night: date | None,
    config: RiskConfig,
    now: datetime,
    history: History,
) -> ScoredCall:
    """Store one call in its own transaction, retrying when a slip changed meanwhile (slow path)."""
    call_id = pending[0].record.call_id
    for attempt in range(STORE_RETRIES):
        with factory() as session:
            call = _new_call(pending, risk_model, night, config, now, history)
            session.add(call)
            try:
                slip = _attach(session, call, history, config, now)
                session.commit()
            except IntegrityError:
                session.rollback()
                existing = stored_calls(session, [call_id]).get(call_id)
                if existing is not None:
                    return scored_from_row(existing)
                if attempt == STORE_RETRIES - 1:
                    raise
                continue
            except SlipActionError:
                session.rollback()
                if attempt == STORE_RETRIES - 1:
                    raise
                continue
            if slip is not None:
                history.set_slip(slip.customer_key, slip.category, slip_state(slip))
            return scored_from_row(call)
    raise RuntimeError("unreachable")


def store_quarantine(
    factory: sessionmaker[Session], rows: Iterable[Any], night: date | None, source: str
) -> int:
    """Store quarantined rows once, as the operator view (masked, only what fixing a row needs).

    Returns how many of ``rows`` the table now holds (added now or by an earlier run):
    the count identity of a night is checked against it.
    """
    from pipeline.ingest import operator_view

    held = 0
    with factory() as session:
        for row in rows:
            view = operator_view(row)
            row_source = view["source"] or source[:500]
            exists = session.scalar(
                select(QuarantinedRow.id).where(
                    QuarantinedRow.night == night if night else QuarantinedRow.night.is_(None),
                    QuarantinedRow.source == row_source,
                    QuarantinedRow.row_number == row.row_number,
                )
            )
            held += 1
            if exists:
                continue
            session.add(
                QuarantinedRow(
                    night=night,
                    source=row_source,
                    row_number=row.row_number,
                    call_id=view["call_id"],
                    reason_code=view["reason_code"],
                    reason=view["reason"],
                    raw=view["fields"],
                )
            )
        session.commit()
    return held
