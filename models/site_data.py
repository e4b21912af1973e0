"""The site's own labelled calls and transcripts, read from the store, for retraining.

The simulator is a cold start; what a site's staff correct and what its exports
code are labels no simulator wrote. A call's label is its newest staff
correction, else the category its export coded. The most recent labels (by call
time) are held out: the gate compares champion and challenger on them, so a
model is judged on the language the site speaks now, not on what it was
trained on. Transcripts are stored masked, so nothing here sees a raw number.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import pandas as pd
from sqlalchemy import inspect, or_, select
from sqlalchemy.engine import make_url

from pipeline.config import section
from pipeline.labels import LABELS
from pipeline.storage import make_engine, session_factory
from pipeline.storage.models import Call
from pipeline.storage.outcomes import Label

COLUMNS: tuple[str, ...] = ("call_id", "transcript", "category", "call_time", "source")


@dataclass(frozen=True)
class LearningSettings:
    """``[learning]`` of complaints.toml with its defaults."""

    use_store: bool = True
    label_weight: int = 3
    holdout_fraction: float = 0.2
    min_holdout: int = 50
    mlm_steps: int = 200
    mlm_min_texts: int = 200
    mlm_max_texts: int = 20_000


def learning_settings() -> LearningSettings:
    """The configured values, the defaults where a key is absent."""
    return LearningSettings(**{k: v for k, v in section("learning").items() if v is not None})


@dataclass
class SiteData:
    """Labelled site calls split by time, and every stored transcript for masked-language pretraining."""

    train: pd.DataFrame
    holdout: pd.DataFrame
    transcripts: list[str]

    @property
    def labelled(self) -> int:
        return len(self.train) + len(self.holdout)

    def summary(self) -> str:
        """One Chinese line for the run log."""
        if not self.labelled and not self.transcripts:
            return "库中尚无现场数据"
        since = f"，留出 {self.holdout['call_time'].min():%Y-%m-%d} 之后" if len(self.holdout) else ""
        return (
            f"现场标注 {self.labelled} 条（训练 {len(self.train)}，按时间留出最近 {len(self.holdout)}{since}），"
            f"现场转写 {len(self.transcripts)} 条"
        )


def database_exists(db_url: str) -> bool:
    """A SQLite file that is not there is no store (opening it would create an empty one)."""
    url = make_url(db_url)
    if url.get_backend_name() != "sqlite" or not url.database or url.database == ":memory:":
        return True
    return Path(url.database).exists()


def site_labels(session) -> pd.DataFrame:
    """One row per labelled call: the newest correction, else the export's coded category."""
    corrections = select(Label.call_id, Label.value).where(
        Label.kind == "category", Label.source == "correction"
    )
    corrected = dict(session.execute(corrections.order_by(Label.id)).all())
    query = select(Call.call_id, Call.transcript, Call.call_time, Call.coded_category).where(
        or_(Call.coded_category.is_not(None), Call.call_id.in_(corrections.with_only_columns(Label.call_id)))
    )
    out = []
    for call_id, transcript, call_time, coded in session.execute(query.execution_options(yield_per=2000)):
        category, source = (
            (corrected[call_id], "correction") if call_id in corrected else (coded, "export_coded")
        )
        if category in LABELS and transcript and transcript.strip():
            out.append((call_id, transcript, category, call_time, source))
    return pd.DataFrame(out, columns=list(COLUMNS)).sort_values(["call_time", "call_id"], ignore_index=True)


def time_holdout(
    labelled: pd.DataFrame, fraction: float, min_holdout: int
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The oldest labels to train on, the newest ``fraction`` held out; no holdout below ``min_holdout``."""
    ordered = labelled.sort_values(["call_time", "call_id"], ignore_index=True)
    n_holdout = int(round(len(ordered) * fraction))
    if n_holdout < min_holdout:
        return ordered, ordered.iloc[0:0]
    cut = len(ordered) - n_holdout
    return ordered.iloc[:cut].reset_index(drop=True), ordered.iloc[cut:].reset_index(drop=True)


def site_transcripts(session, limit: int) -> list[str]:
    """The most recent stored (masked) transcripts, newest first, for continued pretraining."""
    query = select(Call.transcript).order_by(Call.call_time.desc()).limit(limit)
    return [t for t in session.scalars(query) if t and t.strip()]


def load_site(db_url: str | None, settings: LearningSettings | None = None) -> SiteData | None:
    """What the store holds for training, or None without a usable store (none configured, none there)."""
    settings = settings or learning_settings()
    if not db_url or not database_exists(db_url):
        return None
    engine = make_engine(db_url)
    try:
        if not inspect(engine).has_table("calls"):
            return None
        with session_factory(engine)() as session:
            labelled = site_labels(session)
            transcripts = site_transcripts(session, settings.mlm_max_texts)
    finally:
        engine.dispose()
    train, holdout = time_holdout(labelled, settings.holdout_fraction, settings.min_holdout)
    return SiteData(train, holdout, transcripts)


def weighted(simulated: pd.DataFrame, site: pd.DataFrame, weight: int) -> pd.DataFrame:
    """Simulated rows plus each site row ``weight`` times: a real label counts more than a simulated one."""
    if site.empty:
        return simulated
    copies = [
        site.assign(call_id=site["call_id"].astype(str) + (f"#w{k}" if k else ""))[list(simulated.columns)]
        for k in range(weight)
    ]
    return pd.concat([simulated, *copies], ignore_index=True)
