"""The nightly-scoring flow end to end on a tiny night: stored calls, quarantine, slips, report, artifacts,
idempotent reruns and resuming after a crash."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from prefect.artifacts import Artifact
from sqlalchemy import select

from flows import partitions
from flows.nightly import nightly_scoring
from pipeline.storage import Call, NightRun, QuarantinedRow, Slip, make_engine

pytestmark = pytest.mark.usefixtures("prefect_server")

NIGHT = "2026-11-20"


class InjectedCrash(RuntimeError):
    """Raised by the test, standing in for a killed run."""


@pytest.fixture
def crash_after():
    """Make partitions after ``index`` fail as if the run had been killed (the flow never knows)."""
    patcher = pytest.MonkeyPatch()

    def arm(index: int) -> None:
        real = partitions.load_records

        def load(part):
            if part.index > index:
                raise InjectedCrash(f"injected crash before partition {part.index}")
            return real(part)

        patcher.setattr(partitions, "load_records", load)

    arm.disarm = patcher.undo
    yield arm
    patcher.undo()


def test_nightly_scores_every_good_row_and_quarantines_the_bad(
    product_env, champion, make_night, db_snapshot, db_count, tmp_path
) -> None:
    tiny = make_night(tmp_path / "inbox", NIGHT)
    db_url = f"sqlite:///{tmp_path / 'night.db'}"
    result = nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=10)

    calls = db_snapshot(db_url, NIGHT)[0]
    assert sorted(calls) == sorted(tiny.good_ids)
    assert {v[4] for v in calls.values()} == {champion}
    assert result["counts"]["partitions"] == 4
    assert result["counts"]["quarantined"] == tiny.bad_rows == db_count(db_url, QuarantinedRow.id)
    assert result["calls"] == len(tiny.good_ids)
    assert sum(result["slips"].values()) == db_count(db_url, Slip.id)

    report = Path(result["report"])
    text = report.read_text(encoding="utf-8")
    assert f"评分来电: {len(tiny.good_ids)} 条" in text
    assert f"隔离行: {tiny.bad_rows} 条" in text
    assert (report.parent / "slips_by_unit.png").stat().st_size > 0
    assert result["counts"]["drift"] == "too_few_calls" and result["counts"]["retrain_triggered"] is False
    assert "## 语言漂移检查" in text and "少于 min_calls 200，不作漂移判断" in text
    assert report.parent == product_env / "reports" / NIGHT

    engine = make_engine(db_url)
    with engine.connect() as conn:
        run = conn.execute(select(NightRun.status, NightRun.counts)).one()
    engine.dispose()
    assert run.status == "done" and run.counts["to_score"] == len(tiny.good_ids)

    summary = Artifact.get(f"nightly-{NIGHT}-summary")
    assert summary is not None and f"评分来电: {len(tiny.good_ids)} 条" in str(summary.data)
    assert champion in str(summary.data)
    assert Artifact.get(f"nightly-{NIGHT}-units") is not None
    assert Artifact.get(f"nightly-{NIGHT}-report") is not None
    assert not partitions.work_dir(NIGHT).exists()


def test_rerun_of_a_night_changes_nothing(
    product_env, champion, make_night, db_snapshot, db_count, tmp_path
) -> None:
    tiny = make_night(tmp_path / "inbox", NIGHT)
    db_url = f"sqlite:///{tmp_path / 'night.db'}"
    first = nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=10)
    calls, slips = db_snapshot(db_url, NIGHT)[0], db_snapshot(db_url, NIGHT)[1]
    second = nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=10)

    assert second["counts"]["to_score"] == 0
    assert second["counts"]["already_stored"] == len(tiny.good_ids)
    assert db_snapshot(db_url, NIGHT)[0] == calls
    assert db_snapshot(db_url, NIGHT)[1] == slips
    assert db_count(db_url, Call.id) == len(tiny.good_ids)
    assert db_count(db_url, QuarantinedRow.id) == tiny.bad_rows
    assert second["slips"] == first["slips"] and second["calls"] == first["calls"]


def test_crashed_run_resumes_without_losing_or_repeating_work(
    product_env, champion, make_night, db_snapshot, db_count, tmp_path, crash_after
) -> None:
    tiny = make_night(tmp_path / "inbox", NIGHT)
    db_url = f"sqlite:///{tmp_path / 'night.db'}"
    crash_after(1)
    with pytest.raises(InjectedCrash):
        nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=10)
    crash_after.disarm()
    assert db_snapshot(db_url, NIGHT)[0] == {}
    done = sorted(p.name for p in partitions.work_dir(NIGHT).glob("*/predictions/*.pkl"))
    assert done == ["part-00000.pkl", "part-00001.pkl"]

    result = nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=10)
    assert result["counts"]["partitions_reused"] == 2
    resumed = db_snapshot(db_url, NIGHT)[0]
    assert sorted(resumed) == sorted(tiny.good_ids)

    clean_db = f"sqlite:///{tmp_path / 'clean.db'}"
    nightly_scoring(source=str(tiny.folder), db_url=clean_db, partition_size=10)
    assert resumed == db_snapshot(clean_db, NIGHT)[0]
    assert db_snapshot(db_url, NIGHT)[1] == db_snapshot(clean_db, NIGHT)[1]


def test_partitions_of_a_killed_run_are_not_reused_by_a_run_into_another_database(
    product_env, champion, make_night, db_snapshot, tmp_path, crash_after
) -> None:
    tiny = make_night(tmp_path / "inbox", NIGHT)
    first_db = f"sqlite:///{tmp_path / 'first.db'}"
    half = tmp_path / "half" / "calls.csv"
    half.parent.mkdir()
    lines = (tiny.folder / "calls.csv").read_text(encoding="utf-8").splitlines(keepends=True)
    half.write_text("".join(lines[:21]), encoding="utf-8")
    nightly_scoring(source=str(half.parent), night=NIGHT, db_url=first_db, partition_size=10)
    crash_after(0)
    with pytest.raises(InjectedCrash):
        nightly_scoring(source=str(tiny.folder), db_url=first_db, partition_size=10)
    crash_after.disarm()

    other_db = f"sqlite:///{tmp_path / 'other.db'}"
    nightly_scoring(source=str(tiny.folder), db_url=other_db, partition_size=10)
    assert sorted(db_snapshot(other_db, NIGHT)[0]) == sorted(tiny.good_ids)


def test_a_failed_run_leaves_no_raw_records_and_checkpoints_hold_no_phone(
    product_env, champion, make_night, tmp_path, crash_after
) -> None:
    tiny = make_night(tmp_path / "inbox", NIGHT)
    db_url = f"sqlite:///{tmp_path / 'night.db'}"
    crash_after(1)
    with pytest.raises(InjectedCrash):
        nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=10)
    left = sorted(
        p.relative_to(partitions.work_dir(NIGHT)) for p in partitions.work_dir(NIGHT).rglob("*.pkl")
    )
    assert left and all(p.parts[1] == "predictions" for p in left)
    with (tiny.folder / "calls.csv").open(encoding="utf-8", newline="") as fh:
        phones = {row["phone"] for row in csv.DictReader(fh) if row["phone"]}
    assert len(phones) > 5
    for path in partitions.work_dir(NIGHT).rglob("*.pkl"):
        assert (path.stat().st_mode & 0o777) == 0o600
        data = path.read_bytes()
        assert not any(phone.encode() in data for phone in phones)


def test_a_stale_running_row_is_marked_abandoned_by_the_next_run(
    product_env, champion, make_night, tmp_path
) -> None:
    from datetime import date

    from pipeline.storage import open_engine, session_factory

    tiny = make_night(tmp_path / "inbox", NIGHT)
    db_url = f"sqlite:///{tmp_path / 'night.db'}"
    engine = open_engine(db_url, create_if_empty=True)
    with session_factory(engine)() as session:
        dead = NightRun(
            night=date.fromisoformat(NIGHT),
            source=str(tiny.folder),
            status="running",
            counts={"_owner": {"host": __import__("socket").gethostname(), "pid": 2**22 + 12345}},
        )
        session.add(dead)
        session.commit()
    engine.dispose()
    nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=10)
    engine = make_engine(db_url)
    with engine.connect() as conn:
        statuses = [
            tuple(r) for r in conn.execute(select(NightRun.id, NightRun.status).order_by(NightRun.id))
        ]
    engine.dispose()
    assert [s for _, s in statuses] == ["abandoned", "done"]


def test_the_count_identity_is_in_the_result_and_the_artifacts(
    product_env, champion, make_night, tmp_path
) -> None:
    tiny = make_night(tmp_path / "inbox", NIGHT)
    db_url = f"sqlite:///{tmp_path / 'night.db'}"
    result = nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=10)
    (counted,) = result["counts"]["files"]
    assert counted["rows_read"] == len(tiny.good_ids) + tiny.bad_rows
    assert counted["stored"] == len(tiny.good_ids) and counted["quarantined"] == tiny.bad_rows
    assert "核对: 读入 42 = 入库 40 + 已入库 0 + 隔离 2 + 重复 0" in result["counts"]["identity"]
    assert Artifact.get(f"nightly-{NIGHT}-counts") is not None
    assert "行数核对" in Path(result["report"]).read_text(encoding="utf-8")
    again = nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=10)
    assert "已入库 40" in again["counts"]["identity"]
