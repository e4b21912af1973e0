"""Issue 13 defect 9: the nightly flow sends the red-slip webhook (and in-app notices) after storing slips."""

from __future__ import annotations

import pytest

from flows.nightly import nightly_scoring

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_nightly_flow_notifies_after_the_store_step(product_env, champion, make_night, tmp_path, monkeypatch):
    import pipeline.notify

    calls: list[object] = []
    monkeypatch.setattr(pipeline.notify, "notify_new_red_slips", lambda factory: calls.append(factory))
    tiny = make_night(tmp_path / "inbox", "2026-11-21")
    db_url = f"sqlite:///{tmp_path / 'night.db'}"
    result = nightly_scoring(source=str(tiny.folder), db_url=db_url, partition_size=20)
    assert len(calls) == 1, "notify_new_red_slips runs once per night, after the slips are stored"
    assert "notified" in result["counts"]
