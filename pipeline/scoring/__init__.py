"""The one scoring path shared by ``complaints score`` and the nightly flow, split by job.

- :mod:`pipeline.scoring.classify` - category per call (:func:`classify_records`) and, as its own
  step, the per-call text work of the risk step (:func:`prepare_risk_text`); pure, per partition.
- :mod:`pipeline.scoring.history` - what the database knows about tonight's customers and areas.
- :mod:`pipeline.scoring.store` - the whole night at once (:func:`assess_and_store`): features,
  risk model, forcing rules, levels, reasons, slips, storage; and quarantine storage.

:func:`score_export` composes ingest, quarantine storage, the three jobs, the count identity
and JSONL output for ``complaints score``. Models arrive as duck-typed objects
(docs/architecture.md); this package never imports ``models``.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

from pipeline.counting import CountMismatch, FileCount, check, count_files, totals
from pipeline.records import CallRecord
from pipeline.risk.config import RiskConfig
from pipeline.scoring.classify import (
    ClassifiedCall,
    ClassifierLike,
    classify_and_prepare,
    classify_records,
    prepare_risk_text,
)
from pipeline.scoring.history import (
    call_view,
    load_history,
    masked_area,
    masked_customer,
    night_of,
    slip_state,
    stored_calls,
    stored_ids,
)
from pipeline.scoring.store import (
    COMMIT_EVERY,
    STORE_RETRIES,
    Rescored,
    RiskModelLike,
    ScoredCall,
    _attach,
    assess_and_store,
    scored_from_row,
    store_quarantine,
)
from pipeline.storage.db import open_engine, session_factory

_stored = stored_calls

__all__ = [
    "COMMIT_EVERY",
    "STORE_RETRIES",
    "ClassifiedCall",
    "ClassifierLike",
    "Rescored",
    "RiskModelLike",
    "ScoreSummary",
    "ScoredCall",
    "_attach",
    "assess_and_store",
    "call_view",
    "classify_and_prepare",
    "classify_records",
    "load_history",
    "masked_area",
    "masked_customer",
    "night_of",
    "prepare_risk_text",
    "score_export",
    "scored_from_row",
    "slip_state",
    "store_quarantine",
    "stored_calls",
    "stored_ids",
    "write_jsonl",
]


@dataclass
class ScoreSummary:
    """What one ``score_export`` run did, with the per-file count identity."""

    rows_read: int
    scored: list[ScoredCall]
    quarantined: int
    already_stored: int
    output: Path | None
    nights: list[date] = field(default_factory=list)
    duplicates: int = 0
    files: list[FileCount] = field(default_factory=list)
    unknown_files: list[str] = field(default_factory=list)
    unknown_channels: dict[str, int] = field(default_factory=dict)
    rescored: list[Rescored] = field(default_factory=list)

    def levels(self) -> Counter[str]:
        return Counter(s.risk_level for s in self.scored)


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
    """Ingest an export, store its quarantine, classify, assess, store, prove the count, write JSONL.

    Raises ``pipeline.ingest.IngestError`` or ``pipeline.storage.DatabaseError``
    (one-line Chinese messages) for input or database that cannot be used, and
    ``pipeline.counting.CountMismatch`` when a row was neither stored nor quarantined.
    """
    from pipeline.ingest import read_export

    result = read_export(path, progress=progress)
    engine = open_engine(db_url, create_if_empty=True)
    try:
        factory = session_factory(engine)
        night = _main_night(result.records)
        held = store_quarantine(factory, result.quarantined, night, str(path))
        ids = [r.call_id for r in result.records]
        with factory() as session:
            before = stored_ids(session, ids)
        classified = prepare_risk_text(classify_records(result.records, classifier, progress=progress))
        rescored: list[Rescored] = []
        scored = assess_and_store(
            factory, classified, risk_model, None, config=config, progress=progress, rescored=rescored
        )
        with factory() as session:
            after = stored_ids(session, ids)
    finally:
        engine.dispose()
    files = count_files(result, before, after)
    check(files)
    if held != len(result.quarantined):
        raise CountMismatch(f"隔离行入库核对失败: 应有 {len(result.quarantined)} 行，数据库中 {held} 行")
    out_path = write_jsonl(scored, Path(output)) if output else None
    return ScoreSummary(
        rows_read=result.rows_read,
        scored=scored,
        quarantined=totals(files).quarantined,
        already_stored=len(before),
        output=out_path,
        nights=sorted({night_of(r.call_time) for r in result.records}),
        duplicates=len(result.duplicates),
        files=files,
        unknown_files=[str(p) for p in result.unknown_files],
        unknown_channels=dict(result.unknown_channels),
        rescored=rescored,
    )
