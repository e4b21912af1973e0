"""Training data: labelled nights replayed in date order through the production feature code.

Each night's calls join the in-memory :class:`pipeline.features.History` before
that night is scored (the nightly batch sees the whole night); labels travel
alongside but never enter features. The target ``y`` is "this problem reaches
12398 within ``horizon_days`` (default 30) after this call".
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
from tqdm import tqdm

from pipeline.config import horizon_days
from pipeline.features import CallView, History, text_signals
from pipeline.records import CallRecord, night_of
from pipeline.risk.config import RiskConfig
from pipeline.risk.rules import forcing_rules
from pipeline.text.mask import mask_pii


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


def replay_view(record: CallRecord, category: str, customer_key: str | None = None) -> CallView:
    """Features' view of a training record, as scoring builds it (area masked like the stored one);
    the customer key stays in memory, so it needs no keyed hash."""
    return CallView(
        call_id=record.call_id,
        call_time=record.call_time,
        customer_key=customer_key or record.customer_key,
        unit=record.unit,
        area=mask_pii(record.area) if record.area else None,
        category=category,
        transcript=record.transcript,
        duration_s=record.duration_s,
    )


def replay(
    records: Sequence[CallRecord],
    config: RiskConfig,
    problem_ids: dict[str, str] | None = None,
    progress: bool = False,
) -> pd.DataFrame:
    """Features of every call, computed night by night in date order as production would."""
    by_night: dict[date, list[CallRecord]] = {}
    for record in sorted(records, key=lambda r: r.call_time):
        by_night.setdefault(night_of(record.call_time), []).append(record)
    history = History(config)
    horizon = timedelta(days=horizon_days())
    rows: list[dict[str, Any]] = []
    for night in tqdm(sorted(by_night), desc="回放历史", unit="夜", disable=not progress):
        views = [replay_view(r, r.category or "other") for r in by_night[night]]
        for view in views:
            history.add_call(view)
        for record, view in zip(by_night[night], views, strict=True):
            features = history.features(view, text_signals(view.transcript))
            escalated_at = record.escalated_at
            positive = (
                escalated_at is not None and record.call_time < escalated_at <= record.call_time + horizon
            )
            rows.append(
                {
                    **features,
                    "call_id": record.call_id,
                    "call_time": record.call_time,
                    "night": night,
                    "slip_key": f"{view.customer_key}:{view.category}",
                    "problem_id": (problem_ids or {}).get(
                        record.call_id, f"{view.customer_key}:{view.category}"
                    ),
                    "escalated_at": escalated_at,
                    "y": int(positive),
                    "forced": bool(forcing_rules(features, config)),
                }
            )
    return pd.DataFrame(rows)


def load_replay(data_dir: Path, config: RiskConfig, progress: bool = False) -> pd.DataFrame:
    """Replay a simulator output folder; calls made after their problem escalated are dropped
    (the customer no longer waits on 95598, and their label would be meaningless)."""
    from pipeline.simulator import load_labeled

    df = load_labeled(data_dir)
    frame = replay(
        records_from_labeled(df), config, dict(zip(df["call_id"], df["problem_id"], strict=True)), progress
    )
    after = frame["escalated_at"].notna() & (frame["call_time"] >= frame["escalated_at"])
    return frame.loc[~after].reset_index(drop=True)
