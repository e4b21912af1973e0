"""Partitions scored on a two-worker Dask cluster give exactly the local run's results."""

from __future__ import annotations

import pytest
from distributed import LocalCluster

from flows.nightly import run_nightly

pytestmark = pytest.mark.usefixtures("prefect_server")

NIGHT = "2026-11-21"


def test_dask_cluster_matches_local_run(product_env, champion, make_night, db_snapshot, tmp_path) -> None:
    tiny = make_night(tmp_path / "inbox", NIGHT, n=40)
    local_db = f"sqlite:///{tmp_path / 'local.db'}"
    dask_db = f"sqlite:///{tmp_path / 'dask.db'}"
    local = run_nightly(source=str(tiny.folder), db_url=local_db, partition_size=10)

    with LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None) as cluster:
        distributed = run_nightly(
            dask_address=cluster.scheduler_address, source=str(tiny.folder), db_url=dask_db, partition_size=10
        )
        assert len(cluster.workers) == 2

    local_calls, local_slips = db_snapshot(local_db, NIGHT)
    dask_calls, dask_slips = db_snapshot(dask_db, NIGHT)
    assert len(dask_calls) == len(tiny.good_ids)
    assert dask_calls == local_calls
    assert dask_slips == local_slips
    assert distributed["slips"] == local["slips"]
