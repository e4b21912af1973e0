"""Flow ``nightly-scoring``: one night's 95598 export in, stored scores, warning slips and a report out.

The flow is thin on purpose: every step calls ``pipeline`` code that
``complaints score`` uses too (``pipeline.scoring.classify_records`` per
partition, ``pipeline.scoring.assess_and_store`` for the whole night), so the
command and the flow cannot drift apart. What the flow adds is orchestration:
partitions scored as mapped tasks (thread pool, or Dask with an address),
retries on transient failures, per-partition checkpoints so a killed run
resumes, and Prefect artifacts a person can read in the UI.

Idempotent per night: calls already stored are skipped and slips are created
by ``assess_and_store``, which never duplicates a call or a slip.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner
from sqlalchemy import select

from flows import model_cache, partitions
from flows.notify import notify_after_store
from flows.partitions import Partition
from flows.retries import RETRY
from pipeline import report as night_report
from pipeline import scoring
from pipeline.config import get_settings, section
from pipeline.ingest import IngestError, read_export
from pipeline.records import SHANGHAI
from pipeline.storage import Call, NightRun, session_factory, session_scope, upgrade
from pipeline.storage.types import utcnow

FLOW_NAME = "nightly-scoring"
DEFAULT_PARTITION_SIZE = 1000
NIGHT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class InjectedCrash(RuntimeError):
    """Raised on purpose (``crash_after_partition``) to test that an interrupted night resumes."""


class NightError(Exception):
    """A night that cannot be scored (no input, bad night); the message is one Chinese line."""


def inbox_dir() -> Path:
    """Where nightly exports arrive, one folder per night (``inbox/YYYY-MM-DD/``)."""
    configured = section("flows").get("inbox")
    return Path(configured) if configured else get_settings().home / "inbox"


def previous_night(now: datetime | None = None) -> str:
    """Yesterday in Asia/Shanghai: the night a 02:00 run scores."""
    now = (now or datetime.now(SHANGHAI)).astimezone(SHANGHAI)
    return (now.date() - timedelta(days=1)).isoformat()


def resolve_night(night: str | None, source: str | None) -> tuple[str, Path]:
    """Fill in whichever of night and source is missing: the inbox folder, or the folder's date name."""
    if night is not None:
        try:
            night = date.fromisoformat(str(night)).isoformat()
        except ValueError as exc:
            raise NightError(f"日期格式应为 YYYY-MM-DD: {night}") from exc
    if source is None:
        night = night or previous_night()
        return night, inbox_dir() / night
    path = Path(source).expanduser()
    if night is None:
        for candidate in (path.name, path.parent.name):
            if NIGHT_RE.match(candidate):
                night = candidate
                break
    if night is None:
        raise NightError(f"无法从路径判断日期，请用 --night 指定: {path}")
    return night, path


def resolve_source(night: str | None, source: str | None) -> tuple[str, Path]:
    """Night and export path, or IngestError (one Chinese line) when the export is not there."""
    night, src = resolve_night(night, source)
    if not src.exists():
        raise IngestError(f"找不到 {night} 的导出文件: {src}")
    return night, src


@dataclass
class PreparedNight:
    """What the fan-out needs: the partitions, plus ingest counts for the summary."""

    night: str
    source: str
    partitions: list[Partition]
    counts: dict[str, int] = field(default_factory=dict)


def _night_date(night: str) -> date:
    return date.fromisoformat(night)


@task(name="ingest", **RETRY)
def ingest_night(night: str, source: str, db_url: str, partition_size: int) -> PreparedNight:
    """Read and validate the export, store quarantined rows, and cut new calls into partitions."""
    logger = get_run_logger()
    src = Path(source)
    fingerprint = partitions.source_fingerprint(src) if src.exists() else ""
    result = read_export(src)
    engine = upgrade(db_url)
    try:
        factory = session_factory(engine)
        scoring.store_quarantine(factory, result.quarantined, _night_date(night), str(src))
        ids = [r.call_id for r in result.records]
        stored: set[str] = set()
        with factory() as session:
            for start in range(0, len(ids), 500):
                chunk = ids[start : start + 500]
                stored.update(session.scalars(select(Call.call_id).where(Call.call_id.in_(chunk))))
    finally:
        engine.dispose()
    new_records = [r for r in result.records if r.call_id not in stored]
    counts = {
        "rows_read": result.rows_read,
        "records": len(result.records),
        "quarantined": len(result.quarantined),
        "duplicates": len(result.duplicates),
        "already_stored": len(stored),
        "to_score": len(new_records),
    }
    manifest = partitions.read_manifest(night)
    if manifest and manifest.get("fingerprint") == fingerprint and manifest.get("size") == partition_size:
        parts = partitions.existing_partitions(night, manifest)
        logger.info("续跑 %s: 复用 %d 个分区", night, len(parts))
    else:
        parts = partitions.write_partitions(
            night, new_records, partition_size, {"fingerprint": fingerprint, "source": str(src)}
        )
    logger.info(
        "%s: 读入 %d 行，隔离 %d 行，已入库 %d 条，待评分 %d 条，分 %d 个分区",
        night,
        result.rows_read,
        len(result.quarantined),
        len(stored),
        len(new_records),
        len(parts),
    )
    return PreparedNight(night, str(src), parts, counts)


@task(name="classify-partition", **RETRY)
def classify_partition(
    part: Partition, classifier_uri: str, classifier_version: str, crash_after_partition: int | None = None
) -> dict[str, Any]:
    """Classify one partition with the pinned champion, or reuse its checkpoint from an earlier run."""
    if crash_after_partition is not None and part.index > crash_after_partition:
        raise InjectedCrash(f"injected crash before partition {part.index}")
    if partitions.load_checkpoint(part, classifier_version) is not None:
        return {"index": part.index, "reused": True}
    records = partitions.load_records(part)
    classified = scoring.classify_records(records, model_cache.classifier(classifier_uri))
    partitions.save_checkpoint(part, classifier_version, classified)
    return {"index": part.index, "reused": False, "calls": len(records)}


@task(name="assess-and-store", **RETRY)
def store_night(
    prepared: PreparedNight, classifier_version: str, risk_uri: str | None, db_url: str
) -> dict[str, Any]:
    """Risk, slips and storage for the whole night at once (history across partitions matters)."""
    classified = []
    for part in prepared.partitions:
        saved = partitions.load_checkpoint(part, classifier_version)
        if saved is None:
            raise RuntimeError(f"partition {part.index} has no predictions")
        classified.extend(saved)
    engine = upgrade(db_url)
    try:
        scored = scoring.assess_and_store(
            engine, classified, model_cache.risk_model(risk_uri), _night_date(prepared.night), progress=True
        )
    finally:
        engine.dispose()
    levels = Counter(s.risk_level for s in scored)
    return {"scored": len(scored), **{f"level_{k}": v for k, v in levels.items()}}


@task(name="report", **RETRY)
def publish_report(prepared: PreparedNight, db_url: str) -> dict[str, Any]:
    """Write the report from what is stored for the night, and publish it as Prefect artifacts."""
    engine = upgrade(db_url)
    try:
        with session_scope(session_factory(engine)) as session:
            summary = night_report.load_summary(session, prepared.night)
    finally:
        engine.dispose()
    summary.rows_read = prepared.counts.get("rows_read")
    summary.duplicates = prepared.counts.get("duplicates", 0)
    written = night_report.write_report(summary)
    key = f"nightly-{prepared.night}"
    create_markdown_artifact(
        night_report.summary_markdown(summary), key=f"{key}-summary", description="夜间评分摘要"
    )
    table = summary.category_by_unit().reset_index()
    create_table_artifact(
        [
            {str(k): (v if isinstance(v, str) else int(v)) for k, v in row.items()}
            for row in table.to_dict("records")
        ],
        key=f"{key}-units",
        description="各单位来电类别",
    )
    create_link_artifact(written.markdown.resolve().as_uri(), link_text="夜间报告", key=f"{key}-report")
    return {
        "report": str(written.markdown),
        "calls": len(summary.calls),
        "slips": summary.slips_by_level(),
        "quarantined": summary.quarantined,
        "model_versions": summary.model_versions,
    }


def _record_run(db_url: str, night: str, source: str) -> int:
    engine = upgrade(db_url)
    try:
        with session_scope(session_factory(engine)) as session:
            run = NightRun(night=_night_date(night), source=source, status="running")
            session.add(run)
            session.flush()
            return run.id
    finally:
        engine.dispose()


def _finish_run(
    db_url: str, run_id: int, status: str, counts: dict[str, Any], versions: dict, error: str | None
):
    engine = upgrade(db_url)
    try:
        with session_scope(session_factory(engine)) as session:
            run = session.get(NightRun, run_id)
            if run is not None:
                run.status, run.counts, run.model_versions = status, counts, versions
                run.error, run.finished_at = error, utcnow()
    finally:
        engine.dispose()


@flow(name=FLOW_NAME, log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=2))
def nightly_scoring(
    night: str | None = None,
    source: str | None = None,
    db_url: str | None = None,
    partition_size: int = DEFAULT_PARTITION_SIZE,
    classifier_uri: str | None = None,
    risk_model_uri: str | None = None,
    crash_after_partition: int | None = None,
) -> dict[str, Any]:
    """Score one night. Without night and source: yesterday (Asia/Shanghai) from the inbox folder.

    ``crash_after_partition`` exists for resume tests: partitions after that
    index fail without being retried, as if the run had been killed.
    """
    night, src = resolve_source(night, source)
    db_url = db_url or get_settings().db_url
    versions = model_cache.pinned_versions(classifier_uri, risk_model_uri)
    run_id = _record_run(db_url, night, str(src))
    counts: dict[str, Any] = {}
    try:
        prepared = ingest_night(night, str(src), db_url, partition_size)
        counts.update(prepared.counts)
        done = classify_partition.map(
            prepared.partitions,
            classifier_uri=versions["classifier_uri"],
            classifier_version=versions["classifier"],
            crash_after_partition=crash_after_partition,
        ).result()
        counts["partitions"] = len(done)
        counts["partitions_reused"] = sum(1 for d in done if d["reused"])
        stored = store_night(prepared, versions["classifier"], versions.get("risk_uri"), db_url)
        counts.update({k: v for k, v in stored.items() if isinstance(v, int | float | str)})
        counts.update(notify_after_store(db_url))
        published = publish_report(prepared, db_url)
    except BaseException as exc:
        _finish_run(
            db_url, run_id, "failed", counts, versions, str(exc).splitlines()[0] if str(exc) else repr(exc)
        )
        raise
    partitions.clear(night)
    _finish_run(db_url, run_id, "done", counts, versions, None)
    return {"night": night, "source": str(src), "counts": counts, **published}


def task_runner(dask_address: str | None = None, runner: str = "threads", workers: int = 2) -> Any:
    """Threads by default (see docs/operations.md for why), a process pool, or an existing Dask cluster."""
    if dask_address:
        from prefect_dask import DaskTaskRunner

        return DaskTaskRunner(address=dask_address)
    if runner == "processes":
        return ProcessPoolTaskRunner(max_workers=workers)
    return ThreadPoolTaskRunner(max_workers=workers)


def run_nightly(
    dask_address: str | None = None, runner: str = "threads", workers: int = 2, **parameters: Any
) -> dict[str, Any]:
    """Run the flow with the chosen task runner; keyword arguments are the flow's parameters.

    A missing export or champion is reported before a flow run starts: one line, not a failed run.
    """
    resolve_source(parameters.get("night"), parameters.get("source"))
    model_cache.pinned_versions(parameters.get("classifier_uri"), parameters.get("risk_model_uri"))
    chosen = nightly_scoring.with_options(task_runner=task_runner(dask_address, runner, workers))
    return chosen(**parameters)
