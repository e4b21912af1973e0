"""The nightly language-drift check and the retrain it asks Prefect for.

The comparison itself is ``pipeline.drift``; this module adds what needs
Prefect: reading the champion's profile (MLflow), creating a flow run of the
retrain deployment (``[drift] retrain_deployment``, default ``retrain/weekly``,
registered by ``complaints deploy``) tagged ``drift``, and the cooldown, which
asks the Prefect API for drift-tagged runs of that deployment instead of
keeping state of its own. The run is created with ``timeout=0``: the night never
waits for a retrain; the process serving the deployment picks it up.

A drift check must never cost a night its report: a missing deployment is a
warning and a line in the report, and any other failure of the check is
reported as ``error`` while the night finishes.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from prefect import get_run_logger, task
from prefect.artifacts import create_markdown_artifact
from prefect.client.orchestration import get_client
from prefect.client.schemas.filters import (
    FlowRunFilter,
    FlowRunFilterDeploymentId,
    FlowRunFilterExpectedStartTime,
    FlowRunFilterTags,
)
from prefect.client.schemas.sorting import FlowRunSort
from prefect.deployments import run_deployment
from prefect.exceptions import MissingContextError, ObjectNotFound

from flows.retries import RETRY
from pipeline.drift import DriftOutcome, DriftSettings, TrainingProfile, compare, stored_night_stats
from pipeline.nights import first_line
from pipeline.storage import make_engine, session_factory

DRIFT_TAG = "drift"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@dataclass
class TriggerResult:
    """Whether a retrain run was created, and the report's line about it."""

    triggered: bool
    message: str
    run_name: str | None = None
    run_id: str | None = None


def _logger() -> Any:
    """The run logger inside a flow or task (the Prefect UI shows it), else this module's."""
    try:
        return get_run_logger()
    except MissingContextError:
        return logging.getLogger(__name__)


def missing_deployment(name: str) -> str:
    return f"未找到重训练部署 {name}，请运行 complaints deploy 后重试"


def recent_drift_run(client: Any, deployment_id: Any, cooldown_days: int) -> Any | None:
    """The newest drift-tagged run of the deployment created within ``cooldown_days``, or None."""
    if cooldown_days <= 0:
        return None
    since = datetime.now(UTC) - timedelta(days=cooldown_days)
    runs = client.read_flow_runs(
        flow_run_filter=FlowRunFilter(
            tags=FlowRunFilterTags(all_=[DRIFT_TAG]),
            deployment_id=FlowRunFilterDeploymentId(any_=[deployment_id]),
            expected_start_time=FlowRunFilterExpectedStartTime(after_=since),
        ),
        sort=FlowRunSort.EXPECTED_START_TIME_DESC,
        limit=1,
    )
    return runs[0] if runs else None


def trigger_retrain(night: str, settings: DriftSettings) -> TriggerResult:
    """Create one retrain run tagged ``drift`` unless one was created within the cooldown."""
    name = settings.retrain_deployment
    with get_client(sync_client=True) as client:
        try:
            deployment = client.read_deployment_by_name(name)
        except ObjectNotFound:
            _logger().warning(missing_deployment(name))
            return TriggerResult(False, missing_deployment(name))
        recent = recent_drift_run(client, deployment.id, settings.cooldown_days)
    if recent is not None:
        when = recent.expected_start_time.astimezone(SHANGHAI).strftime("%Y-%m-%d %H:%M")
        return TriggerResult(
            False,
            f"{settings.cooldown_days} 天内已有漂移触发的重训练 {recent.name}（{when} 创建），本次不再触发",
            recent.name,
            str(recent.id),
        )
    run = run_deployment(
        name=name,
        timeout=0,
        tags=[DRIFT_TAG],
        idempotency_key=f"drift-{night}",
        flow_run_name=f"retrain-drift-{night}",
        as_subflow=False,
    )
    return TriggerResult(
        True,
        f"已触发重训练：部署 {name} 的流程运行 {run.name}（标签 {DRIFT_TAG}），可在 Prefect 界面查看",
        run.name,
        str(run.id),
    )


def night_outcome(
    night: str, db_url: str, profile: TrainingProfile | None, settings: DriftSettings
) -> DriftOutcome:
    """Compare the stored night with ``profile`` and, past a threshold, ask for a retrain."""
    if profile is None:
        outcome = DriftOutcome.no_profile()
        _logger().warning(outcome.notes[0])
        return outcome
    engine = make_engine(db_url)
    try:
        with session_factory(engine)() as session:
            stats = stored_night_stats(session, night, profile)
    finally:
        engine.dispose()
    check = compare(profile, stats, settings)
    outcome = DriftOutcome(check.status, check)
    if not check.drifted:
        return outcome
    if not settings.trigger_retrain:
        outcome.notes.append("已超过阈值，但 [drift] trigger_retrain = false，未触发重训练")
        return outcome
    result = trigger_retrain(night, settings)
    outcome.notes.append(result.message)
    _logger().info(result.message)
    outcome.retrain_triggered = result.triggered
    outcome.retrain_run = result.run_id
    return outcome


@task(name="drift-check", **RETRY)
def check_drift(night: str, db_url: str, classifier_uri: str) -> DriftOutcome:
    """The drift check of the night against the profile of the classifier version that scored it."""
    from models import registry
    from models.drift_profile import load_profile

    registry.configure_mlflow()
    outcome = night_outcome(night, db_url, load_profile(classifier_uri), DriftSettings.from_config())
    if outcome.check is not None:
        _logger().info(outcome.check.summary())
    create_markdown_artifact(
        f"# {night} 语言漂移检查\n\n{outcome.markdown()}\n",
        key=f"nightly-{night}-drift",
        description="语言漂移检查",
    )
    return outcome


def run_drift_check(night: str, db_url: str, classifier_uri: str) -> DriftOutcome:
    """:func:`check_drift`, with any failure turned into an ``error`` outcome so the night still finishes."""
    try:
        return check_drift(night, db_url, classifier_uri)
    except Exception as exc:
        message = f"漂移检查出错：{first_line(exc)}"
        _logger().warning(message)
        return DriftOutcome("error", None, [message])
