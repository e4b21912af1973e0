"""The one scoring path shared by ``complaints score`` and the nightly flow.

Three steps the flow can map separately:

1. :func:`classify_records` - category per call; pure, so it can run per partition.
2. :func:`assess_and_store` - the whole night at once: history from the database
   plus earlier calls in the same input, features, risk model, forcing rules,
   levels, reasons, slips, and storage. Idempotent: a call already stored is
   returned as stored and never scored twice.
3. :func:`score_export` - ingest + quarantine storage + 1 + 2 + JSONL output.

Models arrive as duck-typed objects (docs/architecture.md); this module never
imports ``models``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from pipeline.features import FEATURE_COLUMNS, CallView, History, SlipState, TextSignals, text_signals
from pipeline.records import SHANGHAI, CallRecord
from pipeline.risk.assess import assess
from pipeline.risk.config import RiskConfig, risk_config_for
from pipeline.slips import SlipActionError, record_call
from pipeline.storage.db import customer_hash, session_factory, upgrade
from pipeline.storage.models import Call, QuarantinedRow, Slip
from pipeline.storage.types import utcnow
from pipeline.text.mask import mask_account, mask_phone, mask_pii

SQL_CHUNK = 500
STORE_RETRIES = 3
COMMIT_EVERY = 200


class ClassifierLike(Protocol):
    version: str

    def predict(self, transcripts: list[str]) -> list[Any]: ...


class RiskModelLike(Protocol):
    version: str

    def predict_proba(self, features: pd.DataFrame) -> np.ndarray: ...


@dataclass
class ClassifiedCall:
    """A validated call with its predicted category."""

    record: CallRecord
    category: str
    confidence: float
    probabilities: dict[str, float]
    needs_review: bool
    classifier_version: str
    signals: TextSignals | None = None
    masked_transcript: str | None = None


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


@dataclass
class ScoreSummary:
    """What one ``score_export`` run did."""

    rows_read: int
    scored: list[ScoredCall]
    quarantined: int
    already_stored: int
    output: Path | None
    nights: list[date] = field(default_factory=list)

    def levels(self) -> Counter[str]:
        return Counter(s.risk_level for s in self.scored)


def classify_records(
    records: Sequence[CallRecord], classifier: ClassifierLike, batch_size: int = 2000
) -> list[ClassifiedCall]:
    """Predict the category of every record (batched); safe to run per partition.

    The per-call text work of the risk step (keyword signals, masked transcript)
    is done here too: this step runs per partition, in parallel, while the risk
    step has to see the whole night at once.
    """
    out: list[ClassifiedCall] = []
    version = str(getattr(classifier, "version", "unknown"))
    for start in range(0, len(records), batch_size):
        batch = records[start : start + batch_size]
        predictions = classifier.predict([r.transcript for r in batch])
        for record, pred in zip(batch, predictions, strict=True):
            out.append(
                ClassifiedCall(
                    record=record,
                    category=pred.category,
                    confidence=float(pred.confidence),
                    probabilities={k: float(v) for k, v in pred.probabilities.items()},
                    needs_review=bool(pred.needs_review),
                    classifier_version=version,
                    signals=text_signals(record.transcript),
                    masked_transcript=mask_pii(record.transcript),
                )
            )
    return out


def night_of(moment: datetime) -> date:
    """The service night a call belongs to: its calendar date in Asia/Shanghai."""
    return moment.astimezone(SHANGHAI).date()


def masked_customer(record: CallRecord) -> str:
    """The customer as a person may see it: masked account number, else masked phone."""
    return mask_account(record.customer_id) if record.customer_id else mask_phone(record.phone)


def call_view(record: CallRecord, category: str, customer_key: str | None = None) -> CallView:
    """Features' view of an input record (customer id replaced by its keyed hash)."""
    return CallView(
        call_id=record.call_id,
        call_time=record.call_time,
        customer_key=customer_key or customer_hash(record.customer_key),
        unit=record.unit,
        area=record.area,
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


def _chunks(items: Sequence[Any], size: int = SQL_CHUNK) -> Iterable[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _stored(session: Session, call_ids: Sequence[str]) -> dict[str, Call]:
    found: dict[str, Call] = {}
    for chunk in _chunks(list(call_ids)):
        for call in session.scalars(select(Call).where(Call.call_id.in_(chunk))):
            found[call.call_id] = call
    return found


def load_history(session: Session, views: Sequence[CallView], config: RiskConfig) -> History:
    """History for these calls: their customers' earlier calls, calls in their areas around the night,
    and the latest slip on each of their problems; the input calls themselves are added too."""
    history = History(config)
    if not views:
        return history
    input_ids = {v.call_id for v in views}
    lookback = timedelta(days=max(30, config.repeat_window_days, config.reopen_days))
    hours = timedelta(hours=config.wide_incident_hours)
    start = min(v.call_time for v in views)
    end = max(v.call_time for v in views)
    customers = sorted({v.customer_key for v in views})
    areas = sorted({v.area for v in views if v.area})
    units = {v.unit for v in views}
    rows: dict[str, Call] = {}
    for chunk in _chunks(customers):
        query = select(Call).where(Call.customer_key.in_(chunk), Call.call_time >= start - lookback)
        rows.update({c.call_id: c for c in session.scalars(query)})
    for chunk in _chunks(areas):
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
    for chunk in _chunks(customers):
        query = select(Slip).where(Slip.customer_key.in_(chunk)).order_by(Slip.created_at, Slip.id)
        for slip in session.scalars(query):
            history.set_slip(slip.customer_key, slip.category, slip_state(slip))
    for view in views:
        history.add_call(view)
    return history


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
    database are returned as stored. Calls are committed in chunks; when a slip
    was edited in the web app meanwhile (or another run stored the same call),
    that chunk is redone call by call, each in its own transaction.
    """
    config = config or risk_config_for(risk_model)
    factory = _as_factory(engine_or_session_factory)
    with factory() as session:
        stored = {
            cid: scored_from_row(c)
            for cid, c in _stored(session, [c.record.call_id for c in classified]).items()
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
        for chunk in _chunks(pending, COMMIT_EVERY):
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
        area=record.area,
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
                existing = _stored(session, [call_id]).get(call_id)
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


def _mask_raw(raw: dict[str, Any]) -> dict[str, Any]:
    masked: dict[str, Any] = {}
    for key, value in raw.items():
        text = "" if value is None else str(value)
        if key == "phone":
            masked[key] = mask_phone(text)
        elif key == "customer_id":
            masked[key] = mask_account(text)
        else:
            masked[key] = mask_pii(text)
    return masked


def store_quarantine(
    factory: sessionmaker[Session], rows: Iterable[Any], night: date | None, source: str
) -> int:
    """Store quarantined rows (masked) once: rows already stored for this night/source/row are skipped."""
    rows = list(rows)
    added = 0
    with factory() as session:
        for row in rows:
            row_source = str(getattr(row, "source", "") or source)
            exists = session.scalar(
                select(QuarantinedRow.id).where(
                    QuarantinedRow.night == night if night else QuarantinedRow.night.is_(None),
                    QuarantinedRow.source == row_source,
                    QuarantinedRow.row_number == row.row_number,
                )
            )
            if exists:
                continue
            session.add(
                QuarantinedRow(
                    night=night,
                    source=row_source,
                    row_number=row.row_number,
                    call_id=row.call_id,
                    reason_code=row.reason_code,
                    reason=row.reason,
                    raw=_mask_raw(row.raw),
                )
            )
            added += 1
        session.commit()
    return added


def _main_night(records: Sequence[CallRecord]) -> date | None:
    if not records:
        return None
    return Counter(night_of(r.call_time) for r in records).most_common(1)[0][0]


def write_jsonl(scored: Iterable[ScoredCall], output: Path) -> Path:
    """One JSON object per call, UTF-8, Chinese kept readable."""
    output.parent.mkdir(parents=True, exist_ok=True)
    with output.open("w", encoding="utf-8") as fh:
        for item in scored:
            fh.write(json.dumps(item.to_dict(), ensure_ascii=False) + "\n")
    return output


def score_export(
    path: str | Path,
    db_url: str | None,
    classifier: ClassifierLike,
    risk_model: RiskModelLike,
    output: str | Path | None = None,
    *,
    config: RiskConfig | None = None,
    progress: bool = False,
) -> ScoreSummary:
    """Ingest an export, store its quarantine, classify, assess, store, and write JSONL if asked.

    Raises ``pipeline.ingest.IngestError`` or ``pipeline.storage.DatabaseError``
    (one-line Chinese messages) for input or database that cannot be used.
    """
    from pipeline.ingest import read_export

    result = read_export(path)
    engine = upgrade(db_url)
    try:
        factory = session_factory(engine)
        night = _main_night(result.records)
        store_quarantine(factory, result.quarantined, night, str(path))
        classified = classify_records(result.records, classifier)
        with factory() as session:
            already = len(_stored(session, [r.call_id for r in result.records]))
        scored = assess_and_store(factory, classified, risk_model, None, config=config, progress=progress)
    finally:
        engine.dispose()
    out_path = write_jsonl(scored, Path(output)) if output else None
    return ScoreSummary(
        rows_read=result.rows_read,
        scored=scored,
        quarantined=len(result.quarantined),
        already_stored=already,
        output=out_path,
        nights=sorted({night_of(r.call_time) for r in result.records}),
    )
