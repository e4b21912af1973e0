"""Task ``notify``: after the nightly store step, tell people about new red slips and slips about to be overdue.

Two channels, both idempotent: in-app notices (``pipeline.ledger.refresh_notifications``)
and the red-slip webhook (``pipeline.notify.notify_new_red_slips``, outbox with retries).
A receiver that is down must not fail the night: the outbox keeps the message and the web
app's timer sends it later, so a failure here is logged and counted, not raised.
"""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any

from prefect import get_run_logger, task

import pipeline.notify as notify
from pipeline import ledger
from pipeline.storage import open_engine, session_factory


def _logger() -> Any:
    try:
        return get_run_logger()
    except Exception:
        return logging.getLogger(__name__)


@task(name="notify")
def notify_after_store(db_url: str, now: datetime | None = None) -> dict[str, Any]:
    """In-app notices, then the red-slip webhook; returns how many of each were queued."""
    logger = _logger()
    engine = open_engine(db_url)
    counts: dict[str, Any] = {"notified": 0, "notified_in_app": 0}
    try:
        factory = session_factory(engine)
        with factory() as session:
            counts["notified_in_app"] = ledger.refresh_notifications(session, now=now)
            session.commit()
        try:
            result = notify.notify_new_red_slips(factory)
        except Exception as exc:
            logger.warning("红色预警推送失败，消息已留在待发表，网页服务运行时会继续重试: %s", exc)
            counts["notify_error"] = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        else:
            counts["notified"] = getattr(result, "queued", 0)
    finally:
        engine.dispose()
    logger.info("通知：站内 %d 条，Webhook 排队 %d 条", counts["notified_in_app"], counts["notified"])
    return counts
