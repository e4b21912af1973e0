"""Deployments carry the right schedules; the deploy path uses a configured server instead of starting one."""

from __future__ import annotations

from datetime import datetime

import pytest
from typer.testing import CliRunner

from flows.deploy import build_deployments, ensure_server
from flows.nightly import previous_night, resolve_night
from pipeline.records import SHANGHAI

pytestmark = pytest.mark.usefixtures("prefect_server")


def test_nightly_runs_at_two_shanghai_time_and_retraining_weekly(product_env) -> None:
    nightly, weekly = build_deployments()
    assert nightly.name == "nightly" and weekly.name == "weekly"
    (n_schedule,) = nightly.schedules
    (w_schedule,) = weekly.schedules
    assert n_schedule.schedule.cron == "0 2 * * *"
    assert n_schedule.schedule.timezone == "Asia/Shanghai"
    assert w_schedule.schedule.timezone == "Asia/Shanghai"
    assert w_schedule.schedule.cron.split()[-1] != "*"
    assert nightly.parameters == {}


def test_scheduled_run_scores_yesterdays_inbox_folder(product_env) -> None:
    two_am = datetime(2026, 11, 21, 2, 0, tzinfo=SHANGHAI)
    assert previous_night(two_am) == "2026-11-20"
    night, source = resolve_night(None, None)
    assert source == product_env / "inbox" / night


def test_ensure_server_uses_the_configured_api(product_env) -> None:
    server = ensure_server()
    assert server.started is False
    assert server.api_url.endswith("/api")


def test_run_nightly_with_missing_source_is_a_one_line_error(product_env, tmp_path) -> None:
    from cli.main import app

    result = CliRunner().invoke(app, ["run-nightly", "--source", str(tmp_path / "nope" / "2026-11-20")])
    assert result.exit_code == 2
    assert "错误" in result.output and "Traceback" not in result.output
    assert len(result.output.strip().splitlines()) == 1
