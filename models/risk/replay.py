"""Training data: labelled nights replayed in date order through the production feature code.

Each night goes through what the nightly batch does: callers are linked to
known customers (:func:`pipeline.identity.link_calls`, in memory), each call
joins its problem by the *classifier's* probabilities (or, without a
classifier, the true category), the night's calls join the in-memory
:class:`pipeline.features.History`, and at 02:00 the next morning every call is
scored and every open problem nobody called about is re-scored (``rescore``
rows). Labels travel alongside but never enter features. The target ``y`` is
"this problem reaches 12398 within ``hazard_days`` after this scoring" (a
discrete-time hazard); rows scored after their problem escalated are dropped.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime, time, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from tqdm import tqdm

from pipeline.features import CallView, History, TextSignals, text_signals, text_signals_many
from pipeline.identity import StoredLink, link_calls
from pipeline.labels import LABELS
from pipeline.records import SHANGHAI, CallRecord, night_of
from pipeline.risk.commitments import extract_commitments
from pipeline.risk.config import RiskConfig
from pipeline.risk.rules import forcing_rules
from pipeline.text import customer_text
from pipeline.text.domain_lexicon import lexicon_evidence
from pipeline.text.mask import mask_pii

Classify = Callable[[list[str]], list[dict[str, float]]]
"""Category probabilities per transcript (a registered classifier's ``predict``, adapted)."""


def records_from_labeled(df: pd.DataFrame) -> list[CallRecord]:
    """CallRecords (with labels) from ``pipeline.simulator.load_labeled`` output."""
    records = []
    for row in df.itertuples(index=False):
        escalated_at = row.escalated_at if pd.notna(row.escalated_at) else None
        records.append(
            CallRecord(
                call_id=row.call_id,
                call_time=row.call_time.to_pydatetime(),
                phone=row.phone,
                unit=row.unit,
                transcript=row.transcript,
                customer_id=row.customer_id if isinstance(row.customer_id, str) and row.customer_id else None,
                area=row.area if isinstance(row.area, str) and row.area else None,
                channel=row.channel or "phone",
                duration_s=int(row.duration_s) if pd.notna(row.duration_s) else None,
                category=row.category,
                escalated_12398=bool(row.escalated_12398),
                escalated_at=escalated_at.to_pydatetime() if escalated_at is not None else None,
            )
        )
    return records


def replay_view(
    record: CallRecord,
    category: str,
    customer_key: str | None = None,
    probabilities: dict[str, float] | None = None,
    signals: TextSignals | None = None,
) -> CallView:
    """Features' view of a training record, as scoring builds it (area masked like the stored one,
    text flags and promises read the same way); the customer id stays in memory, unhashed."""
    signals = signals or text_signals(record.transcript)
    return CallView(
        call_id=record.call_id,
        call_time=record.call_time,
        customer_key=customer_key or record.customer_key,
        unit=record.unit,
        area=mask_pii(record.area) if record.area else None,
        category=category,
        transcript=record.transcript,
        duration_s=record.duration_s,
        probabilities=probabilities,
        flags=signals.flags,
        commitments=tuple(extract_commitments(record.transcript, record.call_time, record.call_id)),
    )


def lexicon_probabilities(transcripts: list[str]) -> list[dict[str, float]]:
    """Category probabilities from the domain lexicon alone (no simulator in it): what replay groups
    calls by when no classifier is given, so training sees problems split and joined by an
    imperfect reader, as production does, instead of the simulator's true categories."""
    out = []
    for text in transcripts:
        evidence = lexicon_evidence(customer_text(text))
        logits = 1.5 * evidence + np.where(np.asarray(LABELS) == "other", 0.5, 0.0)
        weights = np.exp(logits - logits.max())
        weights /= weights.sum()
        out.append({label: float(w) for label, w in zip(LABELS, weights, strict=True)})
    return out


def scoring_time(night: date) -> datetime:
    """02:00 Asia/Shanghai after the night: when the nightly batch scores it."""
    return datetime.combine(night + timedelta(days=1), time(2, 0), tzinfo=SHANGHAI)


def _plain(key: str) -> str:
    return key


def replay(
    records: Sequence[CallRecord],
    config: RiskConfig,
    problem_ids: dict[str, str] | None = None,
    progress: bool = False,
    classify: Classify | None = None,
) -> pd.DataFrame:
    """Feature rows of every call and every quiet open problem, night by night, as production scores them.

    Calls are grouped by ``classify`` (default :func:`lexicon_probabilities`); the row's
    category one-hot is the top predicted label, as in production.

    ``problem_ids`` (call id -> true problem) label the rows; the history's own problems
    (``slip_key``) are what production would key slips by.
    """
    by_night: dict[date, list[CallRecord]] = {}
    for record in sorted(records, key=lambda r: (r.call_time, r.call_id)):
        by_night.setdefault(night_of(record.call_time), []).append(record)
    truth = problem_ids or {}
    history = History(config)
    links: dict[str, StoredLink] = {}
    escalated_at: dict[str, datetime] = {}
    first_call_of: dict[str, str] = {}
    horizon = timedelta(days=config.hazard_days)
    rows: list[dict[str, Any]] = []
    for night in tqdm(sorted(by_night), desc="回放历史", unit="夜", disable=not progress):
        tonight = by_night[night]
        resolution = link_calls(tonight, links, _plain)
        links = resolution.links
        for old, new in resolution.merged.items():
            history.merge_customer(old, new)
        predicted = (classify or lexicon_probabilities)([r.transcript for r in tonight])
        said = text_signals_many([r.transcript for r in tonight])
        views = []
        for record, probabilities, signals in zip(tonight, predicted, said, strict=True):
            category = max(probabilities, key=probabilities.__getitem__)
            customer = resolution.customer_of[record.call_id]
            views.append(replay_view(record, category, customer, probabilities, signals))
            problem = truth.get(record.call_id, record.call_id)
            if record.escalated_at is not None:
                escalated_at.setdefault(problem, record.escalated_at)
        for view in views:
            history.add_call(view)
        at = scoring_time(night)
        called = set()
        for record, view, signals in zip(tonight, views, said, strict=True):
            features = history.features(view, signals)
            problem_key = history.problem_of(view.call_id) or view.call_id
            called.add(problem_key)
            first_call_of.setdefault(problem_key, record.call_id)
            problem = truth.get(record.call_id, problem_key)
            rows.append(
                _row(
                    features,
                    record.call_id,
                    record.call_time,
                    at,
                    night,
                    record.unit,
                    problem_key,
                    problem,
                    escalated_at.get(problem),
                    horizon,
                    config,
                )
            )
        for problem_key in history.open_problems(at, config.rescore_days, exclude=called):
            problem = truth.get(first_call_of.get(problem_key, problem_key), problem_key)
            features = history.rescore_features(problem_key, at)
            rows.append(
                _row(
                    features,
                    None,
                    at,
                    at,
                    night,
                    history.problem_unit(problem_key),
                    problem_key,
                    problem,
                    escalated_at.get(problem),
                    horizon,
                    config,
                )
            )
    return pd.DataFrame(rows)


def _row(
    features: dict[str, float],
    call_id: str | None,
    call_time: datetime,
    at: datetime,
    night: date,
    unit: str,
    problem_key: str,
    problem: str,
    escalated: datetime | None,
    horizon: timedelta,
    config: RiskConfig,
) -> dict[str, Any]:
    return {
        **features,
        "call_id": call_id,
        "call_time": call_time,
        "scored_at": at,
        "night": night,
        "unit": unit,
        "slip_key": problem_key,
        "problem_id": problem,
        "escalated_at": escalated,
        "y": int(escalated is not None and at < escalated <= at + horizon),
        "forced": bool(forcing_rules(features, config)) and not features["rescore"],
    }


def load_replay(
    data_dir: Path, config: RiskConfig, progress: bool = False, classify: Classify | None = None
) -> pd.DataFrame:
    """Replay a simulator output folder; rows scored at or after their problem escalated are dropped
    (the complaint is made; the customer no longer waits on 95598, and a label would be meaningless)."""
    from pipeline.simulator import load_labeled

    df = load_labeled(data_dir)
    frame = replay(
        records_from_labeled(df),
        config,
        dict(zip(df["call_id"], df["problem_id"], strict=True)),
        progress,
        classify,
    )
    after = frame["escalated_at"].notna() & (frame["scored_at"] >= frame["escalated_at"])
    return frame.loc[~after].reset_index(drop=True)
