"""The nightly-scoring flow end to end on a tiny night: stored calls, quarantine, slips, report, artifacts,
idempotent reruns and resuming after a crash."""

from __future__ import annotations

from pathlib import Path

import pytest
from prefect.artifacts import Artifact
from sqlalchemy import select

from flows import partitions
from flows.nightly import InjectedCrash, nightly_scoring
from pipeline.storage import Call, NightRun, QuarantinedRow, Slip, make_engine

pytestmark = pytest.mark.usefixtures("prefect_server")

NIGHT = "2026-11-20"


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
    product_env, champion, make_night, db_snapshot, db_count, tmp_path
) -> None:
    tiny = make_night(tmp_path / "inbox", NIGHT)
    db_url = f"sqlite:///{tmp_path / 'night.db'}"
    with pytest.raises(InjectedCrash):
        nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=10, crash_after_partition=1)
    assert db_snapshot(db_url, NIGHT)[0] == {}
    done = sorted(p.name for p in partitions.work_dir(NIGHT).glob("predictions/*.pkl"))
    assert done == ["part-00000.pkl", "part-00001.pkl"]

    result = nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=10)
    assert result["counts"]["partitions_reused"] == 2
    resumed = db_snapshot(db_url, NIGHT)[0]
    assert sorted(resumed) == sorted(tiny.good_ids)

    clean_db = f"sqlite:///{tmp_path / 'clean.db'}"
    nightly_scoring(source=str(tiny.folder), db_url=clean_db, partition_size=10)
    assert resumed == db_snapshot(clean_db, NIGHT)[0]
    assert db_snapshot(db_url, NIGHT)[1] == db_snapshot(clean_db, NIGHT)[1]
