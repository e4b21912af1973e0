"""Training rows for the risk model from the site's store: scored calls and the 12398 outcomes that followed.

Each stored call keeps the feature row it was scored with, so the store
replays itself: the same columns, computed by the same code, at the time the
night was scored. Its label is the replay's: did the call's problem reach 12398
within ``hazard_days`` after the scoring? Only calls whose whole window lies
before the newest imported complaint count; for later ones the answer is not
known yet, and counting them as "never escalated" would teach the model that
recent problems are safe.
"""

from __future__ import annotations

from datetime import timedelta

import pandas as pd
from sqlalchemy import func, inspect, select

from models.risk.features import RISK_COLUMNS
from models.site_data import database_exists
from pipeline.risk.config import RiskConfig
from pipeline.storage import make_engine, session_factory
from pipeline.storage.models import Call
from pipeline.storage.outcomes import Label, Outcome12398

FEATURE_NEEDED: tuple[str, ...] = tuple(c for c in RISK_COLUMNS if c != "keyword_score")


def site_risk_rows(db_url: str | None, config: RiskConfig) -> pd.DataFrame:
    """One row per stored call whose 12398 outcome is known: the risk features, ``y``, ``night``, ``rescore``."""
    empty = pd.DataFrame(columns=list(dict.fromkeys([*FEATURE_NEEDED, "y", "night", "rescore"])))
    if not db_url or not database_exists(db_url):
        return empty
    engine = make_engine(db_url)
    try:
        if not inspect(engine).has_table("outcomes_12398"):
            return empty
        with session_factory(engine)() as session:
            known_until = session.scalar(select(func.max(Outcome12398.received_at)))
            if known_until is None:
                return empty
            horizon = timedelta(days=config.hazard_days)
            escalated = dict(
                session.execute(
                    select(Label.call_id, func.min(Label.observed_at))
                    .where(Label.kind == "escalation", Label.source == "outcome_12398")
                    .group_by(Label.call_id)
                ).all()
            )
            query = select(Call.call_id, Call.night, Call.scored_at, Call.features).where(
                Call.scored_at <= known_until - horizon
            )
            rows = []
            for call_id, night, scored_at, features in session.execute(
                query.execution_options(yield_per=2000)
            ):
                if not features or any(c not in features for c in FEATURE_NEEDED):
                    continue
                at = escalated.get(call_id)
                y = int(at is not None and scored_at < at <= scored_at + horizon)
                rows.append(
                    {**{c: float(features[c]) for c in FEATURE_NEEDED}, "y": y, "night": night, "rescore": 0}
                )
    finally:
        engine.dispose()
    return pd.DataFrame(rows, columns=empty.columns) if rows else empty
