"""Which night a run scores, where its export lies, and the ``night_runs`` bookkeeping.

Kept out of the Prefect flow so the flow only orchestrates: ``complaints
run-nightly`` checks the night and source before a flow run starts, and the
same code records, finishes and abandons runs.

A run killed outright (``kill -9``, a lost machine) cannot mark its own row;
the next run of the same night does: a ``running`` row whose process is gone
(same host) or that started more than :data:`STALE_AFTER` ago (another host)
becomes ``abandoned``.
"""

from __future__ import annotations

import os
import re
import socket
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import select

from pipeline.config import get_settings, section
from pipeline.records import SHANGHAI
from pipeline.storage import NightRun, make_engine, session_factory, session_scope
from pipeline.storage.types import utcnow

NIGHT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
STALE_AFTER = timedelta(hours=12)


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
    from pipeline.ingest import IngestError

    night, src = resolve_night(night, source)
    if not src.exists():
        raise IngestError(f"找不到 {night} 的导出文件: {src}")
    return night, src


def night_date(night: str) -> date:
    return date.fromisoformat(night)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _is_stale(run: NightRun, host: str, now: datetime) -> bool:
    owner = run.counts.get("_owner", {}) if isinstance(run.counts, dict) else {}
    if owner.get("host") == host and isinstance(owner.get("pid"), int):
        return owner["pid"] != os.getpid() and not _pid_alive(owner["pid"])
    return now - run.started_at > STALE_AFTER


def abandon_stale_runs(db_url: str, night: str, now: datetime | None = None) -> list[int]:
    """Mark ``running`` rows of this night whose run is gone as ``abandoned``; returns their ids."""
    now = now or utcnow()
    host = socket.gethostname()
    engine = make_engine(db_url)
    try:
        with session_scope(session_factory(engine)) as session:
            rows = session.scalars(
                select(NightRun).where(NightRun.night == night_date(night), NightRun.status == "running")
            ).all()
            stale = [run for run in rows if _is_stale(run, host, now)]
            for run in stale:
                run.status = "abandoned"
                run.error = "运行中断（进程已不存在），未能记录结束状态；由后续运行接替"
                run.finished_at = now
            return [run.id for run in stale]
    finally:
        engine.dispose()


def record_run(db_url: str, night: str, source: str) -> int:
    """A ``running`` row for this run (after abandoning stale ones); returns its id."""
    abandon_stale_runs(db_url, night)
    engine = make_engine(db_url)
    try:
        with session_scope(session_factory(engine)) as session:
            owner = {"host": socket.gethostname(), "pid": os.getpid()}
            run = NightRun(night=night_date(night), source=source, status="running", counts={"_owner": owner})
            session.add(run)
            session.flush()
            return run.id
    finally:
        engine.dispose()


def finish_run(
    db_url: str,
    run_id: int,
    status: str,
    counts: dict[str, Any],
    versions: dict[str, Any],
    error: str | None,
) -> None:
    """Close a run's row with its status, counts, model versions and (first line of) error."""
    engine = make_engine(db_url)
    try:
        with session_scope(session_factory(engine)) as session:
            run = session.get(NightRun, run_id)
            if run is not None:
                run.status, run.counts, run.model_versions = status, counts, versions
                run.error, run.finished_at = error, utcnow()
    finally:
        engine.dispose()


def first_line(exc: BaseException) -> str:
    """An exception as one line, never its SQL parameters (engines hide them too)."""
    text = str(exc).strip()
    return text.splitlines()[0][:500] if text else type(exc).__name__
