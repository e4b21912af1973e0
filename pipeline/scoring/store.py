"""Job 3 of scoring: risk for the whole night against its history, slips, and storage.

Idempotent: a call already stored is returned as stored and never scored
twice. Calls are committed in chunks; when a slip was edited in the web app
meanwhile (or another run stored the same call), that chunk is redone call by
call, each in its own transaction.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from datetime import date, datetime, time, timedelta
from typing import Any, Protocol

import numpy as np
import pandas as pd
from sqlalchemy import Engine, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker
from tqdm import tqdm

from pipeline.features import FEATURE_COLUMNS, CallView, History, TextSignals, text_signals
from pipeline.identity import resolve_night
from pipeline.records import SHANGHAI
from pipeline.risk.assess import Assessment, assess
from pipeline.risk.commitments import Commitment, apply_overdue, extract_commitments
from pipeline.risk.config import RiskConfig, risk_config_for
from pipeline.risk.reasons import ranked
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
from pipeline.slips import SlipActionError, record_call, rescore_problem
from pipeline.storage.db import session_factory
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


@dataclass
class Rescored:
    """One open problem re-scored on a night with no call about it."""

    problem_id: str
    unit: str
    escalation_score: float
    risk_level: str
    reasons: list[str]
    slip_no: str | None


def rescore_time(classified: Sequence[ClassifiedCall]) -> datetime | None:
    """When a night is scored: 02:00 (Asia/Shanghai) after its last call, as the nightly run does,
    so a night scored late (a backfill, a rerun) re-scores problems as they stood that morning."""
    if not classified:
        return None
    last = max(c.record.call_time for c in classified).astimezone(SHANGHAI)
    return datetime.combine(last.date() + timedelta(days=1), time(2, 0), tzinfo=SHANGHAI)


def assess_and_store(
    engine_or_session_factory: Engine | sessionmaker[Session],
    classified: Sequence[ClassifiedCall],
    risk_model: RiskModelLike,
    night: date | None,
    *,
    config: RiskConfig | None = None,
    now: datetime | None = None,
    progress: bool = False,
    rescored: list[Rescored] | None = None,
) -> list[ScoredCall]:
    """Score a whole night against its history, open or update slips and store every call, then
    re-score every open problem nobody called about tonight (appended to ``rescored``).

    Tonight's callers are linked to stored customers (:func:`pipeline.identity.resolve_night`) and
    each call joins its problem. Returns one ScoredCall per input call, in input order; calls
    already in the database are returned as stored (a rerun changes nothing).
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
        identity = resolve_night(session, [c.record for c in fresh])
        signals = [c.signals or text_signals(c.record.transcript) for c in fresh]
        views = [
            _view(c, s, identity.customer_of[c.record.call_id]) for c, s in zip(fresh, signals, strict=True)
        ]
        at = rescore_time(fresh)
        history = load_history(session, views, config, now=at)
        session.commit()
    features = [history.features(v, s) for v, s in zip(views, signals, strict=True)]
    tonight = {history.problem_of(v.call_id) for v in views}
    open_ids = history.open_problems(at, config.rescore_days, exclude=tonight) if at else []
    quiet = [history.rescore_features(pid, at) for pid in open_ids] if at else []
    scores = _predict(risk_model, features + quiet)
    probabilities, quiet_scores = scores[: len(features)], scores[len(features) :]
    now = now or utcnow()
    verdicts = [
        _verdict(f, s, p, v, history, config)
        for f, s, p, v in zip(features, signals, probabilities.tolist(), views, strict=True)
    ]
    quiet_verdicts = [
        _quiet_verdict(pid, f, p, history, config, at)
        for pid, f, p in zip(open_ids, quiet, quiet_scores.tolist(), strict=True)
    ]
    _apply_unit_budget(verdicts, quiet_verdicts, views, history, config)
    results: dict[str, ScoredCall] = dict(stored)
    pending = list(zip(fresh, views, verdicts, strict=True))
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
    outcomes = _store_rescored(factory, quiet_verdicts, history, night, config, now)
    if rescored is not None:
        rescored.extend(outcomes)
    return [results[c.record.call_id] for c in classified]


def _view(item: ClassifiedCall, signals: TextSignals, customer: str) -> CallView:
    record = item.record
    promises = extract_commitments(record.transcript, record.call_time, record.call_id)
    view = call_view(record, item.category, customer)
    return replace(
        view, probabilities=item.probabilities or None, flags=signals.flags, commitments=tuple(promises)
    )


def _predict(risk_model: RiskModelLike, rows: list[dict[str, float]]) -> np.ndarray:
    if not rows:
        return np.zeros(0)
    return np.asarray(risk_model.predict_proba(_feature_frame(rows)), dtype=float).reshape(-1)


@dataclass
class _Verdict:
    """The night's decision on one call or quiet problem, before storage."""

    problem_id: str
    features: dict[str, float]
    probability: float
    assessment: Assessment
    model_only: bool
    cut: bool = False
    """Cut by the unit's alert budget: stored with no level unless a rule fires when it is stored."""


def _with_overdue(
    assessment: Assessment,
    features: dict[str, float],
    history: History,
    problem_id: str,
    at: datetime,
    config: RiskConfig,
) -> Assessment:
    overdue = apply_overdue(assessment.level, history.commitments(problem_id), at, config)
    if not overdue.overdue:
        return assessment
    strained = any(features.get(column, 0) for column in STRAIN_COLUMNS)
    level = overdue.level if strained else assessment.level
    if level == "none":
        return assessment
    reasons = ranked([*assessment.reasons, *overdue.reasons], config.max_reasons)
    forced = assessment.forced_by + (["commitment_overdue"] if overdue.raised and strained else [])
    return Assessment(assessment.score, level, reasons, forced)


def _verdict(
    features: dict[str, float],
    signals: TextSignals,
    probability: float,
    view: CallView,
    history: History,
    config: RiskConfig,
) -> _Verdict:
    problem_id = history.problem_of(view.call_id) or view.call_id
    base = assess(features, signals, probability, category=view.category, area=view.area, config=config)
    assessment = _with_overdue(base, features, history, problem_id, view.call_time, config)
    model_only = not assessment.forced_by and not features["called_after_closure"]
    return _Verdict(problem_id, features, probability, assessment, model_only)


def _quiet_verdict(
    problem_id: str,
    features: dict[str, float],
    probability: float,
    history: History,
    config: RiskConfig,
    at: datetime,
) -> _Verdict:
    problem = history.problem(problem_id)
    base = assess(
        features, _NO_WORDS, probability, category=problem.category, area=problem.area, config=config
    )
    base = Assessment(base.score, base.level, base.reasons, [])
    assessment = _with_overdue(base, features, history, problem_id, at, config)
    return _Verdict(problem_id, features, probability, assessment, not assessment.forced_by)


STRAIN_COLUMNS: tuple[str, ...] = (
    "missed_commitment",
    "said_missed",
    "prior_missed_commitment",
    "prior_said_missed",
    "prior_threat_regulator",
    "prior_threat_other",
    "prior_anger",
    "prior_said_angry",
)
"""What makes an overdue promise a warning on its own: the customer said a promise was broken, or
threatened, or was angry. A second call alone is not (most customers who call back about a crew
and then fall silent had it fixed)."""

_NO_WORDS = TextSignals(flags={}, matches={}, anger_hits=0, length=0, free_text=False)


def _apply_unit_budget(
    verdicts: list[_Verdict],
    quiet: list[_Verdict],
    views: Sequence[CallView],
    history: History,
    config: RiskConfig,
) -> None:
    """Levels from an alert budget per unit and night: of the new slips only the model asks for
    (no practice rule fired, no slip on the problem yet), each unit gets at most
    ``alert_budget_per_1000`` per 1,000 of its calls tonight (at least ``unit_budget_floor``),
    highest scores first; the rest are cut to no level. The practice rules are a floor, never cut."""
    calls_per_unit = Counter(v.unit for v in views)
    units = [v.unit for v in views] + [history.problem_unit(q.problem_id) for q in quiet]
    items = list(zip([*verdicts, *quiet], units, strict=True))
    forced = {v.problem_id for v, _ in items if v.assessment.level != "none" and not v.model_only}
    ranked_by_unit: dict[str, list[_Verdict]] = {}
    for verdict, unit in items:
        if verdict.assessment.level == "none" or not verdict.model_only:
            continue
        if verdict.problem_id in forced or history.slip(verdict.problem_id) is not None:
            continue
        ranked_by_unit.setdefault(unit, []).append(verdict)
    for unit, candidates in ranked_by_unit.items():
        allowed = max(
            config.unit_budget_floor, math.ceil(config.alert_budget_per_1000 * calls_per_unit[unit] / 1000)
        )
        kept: list[str] = []
        for verdict in sorted(candidates, key=lambda v: (-v.probability, v.problem_id)):
            if verdict.problem_id not in kept and len(kept) < allowed:
                kept.append(verdict.problem_id)
            if verdict.problem_id not in kept:
                verdict.cut = True


_Pending = tuple[ClassifiedCall, CallView, _Verdict]


def _new_call(
    pending: _Pending,
    risk_model: RiskModelLike,
    night: date | None,
    config: RiskConfig,
    now: datetime,
    history: History,
) -> Call:
    """The Call row of one assessed call (slip features read from history as it stands now, so a
    second call tonight sees the slip the first one opened)."""
    item, view, verdict = pending
    record = item.record
    signals = item.signals or text_signals(record.transcript)
    features = history.features(view, signals)
    base = assess(
        features, signals, verdict.probability, category=view.category, area=view.area, config=config
    )
    assessment = _with_overdue(base, features, history, verdict.problem_id, view.call_time, config)
    if verdict.cut and not assessment.forced_by and not features["called_after_closure"]:
        assessment = Assessment(assessment.score, "none", assessment.reasons, [])
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
        escalation_score=verdict.probability,
        risk_level=assessment.level,
        reasons=assessment.reason_dicts(),
        features=features,
        classifier_version=item.classifier_version,
        risk_model_version=str(getattr(risk_model, "version", "unknown")),
        scored_at=now,
        problem_id=verdict.problem_id,
        commitments=[_masked_promise(c) for c in view.commitments],
        coded_category=record.category,
    )


def _masked_promise(commitment: Commitment) -> dict[str, Any]:
    data = commitment.as_dict()
    data["quote"] = mask_pii(str(data["quote"]))
    return data


def _attach(session: Session, call: Call, history: History, config: RiskConfig, now: datetime) -> Slip | None:
    """``record_call``, skipped for a no-risk call on a problem that has no slip at all.

    Most calls of a night are such calls; history already holds every slip of
    these problems (loaded at the start, updated as slips are issued), so the
    per-call slip lookup, and the flush it forces, is only paid where a slip
    exists or may be issued.
    """
    if call.risk_level == "none" and history.slip(call.problem_id) is None:
        return None
    known = call.problem_id is not None and call.problem_id in history.problem_ids()
    category = history.problem(call.problem_id).category if known else call.category
    return record_call(session, call, call.night, now=now, config=config, problem_category=category)


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
                history.set_slip(pending[2].problem_id, slip_state(slip))
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
                history.set_slip(pending[2].problem_id, slip_state(slip))
            return scored_from_row(call)
    raise RuntimeError("unreachable")


def _store_rescored(
    factory: sessionmaker[Session],
    verdicts: Sequence[_Verdict],
    history: History,
    night: date | None,
    config: RiskConfig,
    now: datetime,
) -> list[Rescored]:
    """Raise or issue the slips of quiet problems whose re-score calls for it, each in its own
    transaction (a slip someone is saving right now is left for the next night)."""
    out: list[Rescored] = []
    for verdict in verdicts:
        level = "none" if verdict.cut else verdict.assessment.level
        problem = history.problem(verdict.problem_id)
        slip_no = None
        if level != "none":
            with factory() as session:
                try:
                    slip = rescore_problem(
                        session,
                        verdict.problem_id,
                        level=level,
                        score=verdict.probability,
                        reasons=verdict.assessment.reason_dicts(),
                        category=problem.category,
                        night=night,
                        now=now,
                        config=config,
                    )
                    session.commit()
                except SlipActionError:
                    session.rollback()
                    slip = None
                if slip is not None:
                    history.set_slip(verdict.problem_id, slip_state(slip))
                    slip_no = slip.slip_no
        out.append(
            Rescored(
                verdict.problem_id,
                history.problem_unit(verdict.problem_id),
                round(verdict.probability, 6),
                level,
                [r.text for r in verdict.assessment.reasons],
                slip_no,
            )
        )
    return out


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
