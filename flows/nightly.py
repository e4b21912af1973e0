"""Flow ``nightly-scoring``: one night's 95598 export in, stored scores, warning slips and a report out.

The flow only orchestrates: night resolution and run bookkeeping live in
``pipeline.nights``, the scoring jobs in ``pipeline.scoring`` (classify per
partition, history + risk + storage for the whole night), the count identity in
``pipeline.counting``. What the flow adds: partitions scored as mapped tasks
(thread pool, or Dask with an address), retries on transient failures,
per-partition checkpoints so a killed run resumes, and Prefect artifacts a
person can read in the UI. After the report's numbers are stored, the night's
language is compared with the champion's training data (``flows.drift_trigger``);
past a ``[drift]`` threshold a retrain run is requested from Prefect.

Idempotent per night: calls already stored are skipped and slips are created
by ``assess_and_store``, which never duplicates a call or a slip. Every run
proves ``rows read = stored + already stored + quarantined + duplicates`` per
file against the database and fails loudly when it does not hold.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from prefect import flow, get_run_logger, task
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner

from flows import model_cache, partitions
from flows.drift_trigger import run_drift_check
from flows.notify import notify_after_store
from flows.partitions import Partition
from flows.retries import RETRY
from pipeline import counting, scoring
from pipeline import report as night_report
from pipeline.config import get_settings
from pipeline.drift import DriftOutcome
from pipeline.ingest import read_export
from pipeline.nights import (
    NIGHT_RE,
    NightError,
    finish_run,
    first_line,
    inbox_dir,
    night_date,
    previous_night,
    record_run,
    resolve_night,
    resolve_source,
)
from pipeline.storage import make_engine, open_engine, require_customer_secret, session_factory, session_scope

FLOW_NAME = "nightly-scoring"
DEFAULT_PARTITION_SIZE = 1000

__all__ = [
    "FLOW_NAME",
    "NIGHT_RE",
    "NightError",
    "PreparedNight",
    "inbox_dir",
    "nightly_scoring",
    "previous_night",
    "resolve_night",
    "resolve_source",
    "run_nightly",
    "task_runner",
]


@dataclass
class PreparedNight:
    """What the fan-out needs: the partitions and their run key, plus ingest counts for the summary."""

    night: str
    source: str
    key: str
    partitions: list[Partition]
    counts: dict[str, Any] = field(default_factory=dict)
    stored_before: list[str] = field(default_factory=list)
    quarantine_held: int = 0
    ledger: counting.Ledger | None = None


@task(name="ingest", **RETRY)
def ingest_night(night: str, source: str, db_url: str, partition_size: int) -> PreparedNight:
    """Read and validate the export, store quarantined rows, and cut new calls into partitions."""
    logger = get_run_logger()
    src = Path(source)
    fingerprint = partitions.source_fingerprint(src) if src.exists() else ""
    result = read_export(src, progress=True)
    engine = make_engine(db_url)
    try:
        factory = session_factory(engine)
        held = scoring.store_quarantine(factory, result.quarantined, night_date(night), str(src))
        with factory() as session:
            stored = scoring.stored_ids(session, [r.call_id for r in result.records])
    finally:
        engine.dispose()
    new_records = [r for r in result.records if r.call_id not in stored]
    key = partitions.run_key(db_url, fingerprint, partition_size)
    for orphan in partitions.remove_orphaned_records(night):
        logger.info("已删除中断运行 %s 留下的原始记录文件", orphan)
    parts = partitions.write_partitions(
        night, key, new_records, partition_size, {"fingerprint": fingerprint, "source": str(src)}
    )
    counts: dict[str, Any] = {
        "rows_read": result.rows_read,
        "records": len(result.records),
        "quarantined": len(result.quarantined) - len(result.duplicates) - len(result.bad_files),
        "duplicates": len(result.duplicates),
        "already_stored": len(stored),
        "to_score": len(new_records),
        "files": [counting.FileCount(s, rows).to_dict() for s, rows in result.rows_by_file.items()],
        "bad_files": [{"source": b.source, "reason": b.reason} for b in result.bad_files],
        "unknown_files": [str(p) for p in result.unknown_files],
        "unknown_channels": dict(result.unknown_channels),
    }
    for bad in result.bad_files:
        logger.warning("整文件隔离 %s: %s", bad.source, bad.reason)
    for unknown in result.unknown_files:
        logger.warning("未识别的文件（未读取）: %s", unknown)
    logger.info(
        "%s: 读入 %d 行，隔离 %d 行，重复 %d 行，已入库 %d 条，待评分 %d 条，分 %d 个分区",
        night,
        result.rows_read,
        counts["quarantined"],
        len(result.duplicates),
        len(stored),
        len(new_records),
        len(parts),
    )
    ledger = counting.Ledger.of(result)
    return PreparedNight(night, str(src), key, parts, counts, sorted(stored), held, ledger)


@task(name="classify-partition", **RETRY)
def classify_partition(part: Partition, classifier_uri: str, classifier_version: str) -> dict[str, Any]:
    """Classify one partition with the pinned champion, or reuse its checkpoint from an earlier run."""
    if partitions.has_checkpoint(part, classifier_version):
        return {"index": part.index, "reused": True}
    records = partitions.load_records(part)
    classified = scoring.classify_records(records, model_cache.classifier(classifier_uri))
    partitions.save_checkpoint(part, classifier_version, scoring.prepare_risk_text(classified))
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
    engine = make_engine(db_url)
    rescored: list[scoring.Rescored] = []
    try:
        scored = scoring.assess_and_store(
            engine,
            classified,
            model_cache.risk_model(risk_uri),
            night_date(prepared.night),
            progress=True,
            rescored=rescored,
        )
    finally:
        engine.dispose()
    levels = Counter(s.risk_level for s in scored)
    raised = sum(1 for r in rescored if r.slip_no)
    print(f"夜间复评：今晚无来电的未办结问题 {len(rescored)} 个，其中 {raised} 个新发或提级预警单")
    return {
        "scored": len(scored),
        **{f"level_{k}": v for k, v in levels.items()},
        "rescored_problems": len(rescored),
        "rescored_slips": raised,
    }


def prove_counts(prepared: PreparedNight, db_url: str) -> list[counting.FileCount]:
    """Per-file counts read back from the database; raises ``CountMismatch`` when a row is unaccounted."""
    ledger = prepared.ledger
    assert ledger is not None
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as session:
            present = scoring.stored_ids(session, list(ledger.sources))
    finally:
        engine.dispose()
    files = counting.count_files(ledger, set(prepared.stored_before), present)
    counting.check(files)
    if prepared.quarantine_held != len(ledger.quarantined):
        raise counting.CountMismatch(
            f"隔离行入库核对失败: 应有 {len(ledger.quarantined)} 行，数据库中 {prepared.quarantine_held} 行"
        )
    return files


@task(name="report", **RETRY)
def publish_report(
    prepared: PreparedNight, db_url: str, files: list[dict[str, Any]], drift: DriftOutcome | None = None
) -> dict[str, Any]:
    """Write the report from what is stored for the night (and its drift check), publish it as artifacts."""
    engine = make_engine(db_url)
    try:
        with session_scope(session_factory(engine)) as session:
            summary = night_report.load_summary(session, prepared.night)
    finally:
        engine.dispose()
    counts = [counting.FileCount(**f) for f in files]
    summary.rows_read = prepared.counts.get("rows_read")
    summary.duplicates = prepared.counts.get("duplicates", 0)
    summary.identity = counting.identity_markdown(counts)
    summary.drift = drift
    summary.notes = [
        *(f"整文件隔离: {b['source']}（{b['reason']}）" for b in prepared.counts.get("bad_files", [])),
        *(f"未识别的文件（未读取）: {u}" for u in prepared.counts.get("unknown_files", [])),
        *(
            [
                "未知渠道（照常评分）: "
                + "，".join(f"{k} {v}" for k, v in prepared.counts["unknown_channels"].items())
            ]
            if prepared.counts.get("unknown_channels")
            else []
        ),
    ]
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
    create_table_artifact(
        [f.to_dict() for f in counts], key=f"{key}-counts", description="行数核对（逐文件）"
    )
    create_link_artifact(written.markdown.resolve().as_uri(), link_text="夜间报告", key=f"{key}-report")
    return {
        "report": str(written.markdown),
        "calls": len(summary.calls),
        "slips": summary.slips_by_level(),
        "quarantined": summary.quarantined,
        "model_versions": summary.model_versions,
    }


@flow(name=FLOW_NAME, log_prints=True, task_runner=ThreadPoolTaskRunner(max_workers=2))
def nightly_scoring(
    night: str | None = None,
    source: str | None = None,
    db_url: str | None = None,
    partition_size: int = DEFAULT_PARTITION_SIZE,
    classifier_uri: str | None = None,
    risk_model_uri: str | None = None,
) -> dict[str, Any]:
    """Score one night. Without night and source: yesterday (Asia/Shanghai) from the inbox folder."""
    night, src = resolve_source(night, source)
    db_url = db_url or get_settings().db_url
    require_customer_secret()
    open_engine(db_url, create_if_empty=True).dispose()
    versions = model_cache.pinned_versions(classifier_uri, risk_model_uri)
    run_id = record_run(db_url, night, str(src))
    counts: dict[str, Any] = {}
    prepared: PreparedNight | None = None
    try:
        prepared = ingest_night(night, str(src), db_url, partition_size)
        counts.update(prepared.counts)
        done = classify_partition.map(
            prepared.partitions,
            classifier_uri=versions["classifier_uri"],
            classifier_version=versions["classifier"],
        ).result()
        counts["partitions"] = len(done)
        counts["partitions_reused"] = sum(1 for d in done if d["reused"])
        stored = store_night(prepared, versions["classifier"], versions.get("risk_uri"), db_url)
        counts.update({k: v for k, v in stored.items() if isinstance(v, int | float | str)})
        counts.update(notify_after_store(db_url))
        files = [f.to_dict() for f in prove_counts(prepared, db_url)]
        counts["files"] = files
        counts["identity"] = counting.identity_line([counting.FileCount(**f) for f in files])
        drift = run_drift_check(night, db_url, versions["classifier_uri"])
        counts["drift"] = drift.status
        counts["retrain_triggered"] = drift.retrain_triggered
        published = publish_report(prepared, db_url, files, drift)
    except BaseException as exc:
        if prepared is not None:
            partitions.remove_records(night, prepared.key)
        finish_run(db_url, run_id, "failed", counts, versions, first_line(exc))
        raise
    partitions.clear(night, prepared.key)
    finish_run(db_url, run_id, "done", counts, versions, None)
    return {"night": night, "source": str(src), "counts": counts, "drift": drift.line(), **published}


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

    A missing export, champion or customer-key secret is reported before a flow
    run starts: one line, not a failed run.
    """
    resolve_source(parameters.get("night"), parameters.get("source"))
    require_customer_secret()
    open_engine(parameters.get("db_url") or get_settings().db_url, create_if_empty=True).dispose()
    model_cache.pinned_versions(parameters.get("classifier_uri"), parameters.get("risk_model_uri"))
    chosen = nightly_scoring.with_options(task_runner=task_runner(dask_address, runner, workers))
    return chosen(**parameters)
