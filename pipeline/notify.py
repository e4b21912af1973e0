"""Webhook notifications for red slips, through an outbox table so none is ever lost.

Each red slip gets one row in ``webhook_deliveries`` holding the payload; the
row is written first and sent afterwards, so a crash, a dead receiver or a
network failure only delays the notification. Failed sends are retried with
exponential backoff (capped, never given up) and logged. The nightly flow
calls :func:`notify_new_red_slips` after storing slips; the web app calls the
same function on a timer, which also covers slips raised to red by a person.

Configuration: ``[webhook]`` in complaints.toml (``url``, ``secret``,
``timeout_s``, ``backoff_s``, ``backoff_max_s``, ``public_url``) or the
variables COMPLAINTS_WEBHOOK_URL / COMPLAINTS_WEBHOOK_SECRET. With no URL
nothing is queued. With a secret, each request carries
``X-Complaints-Signature: sha256=<HMAC of the body>``.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import os
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import httpx
from sqlalchemy import exists, or_, select, update
from sqlalchemy.orm import Session, sessionmaker

from pipeline.config import section
from pipeline.labels import LABEL_ZH, RISK_LEVEL_ZH
from pipeline.records import SHANGHAI
from pipeline.storage.models import Slip, WebhookDelivery
from pipeline.storage.types import utcnow

log = logging.getLogger(__name__)

EVENT = "red_slip"
BATCH = 100


@dataclass(frozen=True)
class WebhookSettings:
    """Where and how to send notifications."""

    url: str
    secret: str | None = None
    timeout_s: float = 10.0
    backoff_s: float = 30.0
    backoff_max_s: float = 3600.0
    public_url: str | None = None


@dataclass
class NotifyResult:
    """What one notification round did."""

    queued: int = 0
    delivered: int = 0
    failed: int = 0


def webhook_settings() -> WebhookSettings | None:
    """The configured webhook, or None when no URL is set (notifications off)."""
    table = section("webhook")
    url = os.environ.get("COMPLAINTS_WEBHOOK_URL") or table.get("url")
    if not url:
        return None
    return WebhookSettings(
        url=str(url),
        secret=os.environ.get("COMPLAINTS_WEBHOOK_SECRET") or table.get("secret"),
        timeout_s=float(table.get("timeout_s", 10.0)),
        backoff_s=float(table.get("backoff_s", 30.0)),
        backoff_max_s=float(table.get("backoff_max_s", 3600.0)),
        public_url=table.get("public_url"),
    )


def payload_for(slip: Slip, public_url: str | None = None) -> dict[str, Any]:
    """What the receiver gets: enough to act on, no personal data beyond the masked customer."""
    data: dict[str, Any] = {
        "event": EVENT,
        "slip_no": slip.slip_no,
        "unit": slip.unit,
        "area": slip.area,
        "category": slip.category,
        "category_zh": LABEL_ZH.get(slip.category, slip.category),
        "level": slip.level,
        "level_zh": RISK_LEVEL_ZH.get(slip.level, slip.level),
        "score": round(slip.score, 4),
        "customer": slip.customer_masked,
        "reasons": [r.get("text", "") if isinstance(r, dict) else str(r) for r in slip.reasons or []],
        "recommended_actions": list(slip.recommended_actions or []),
        "created_at": slip.created_at.isoformat(),
        "due_at": slip.due_at.isoformat(),
        "text": f"【{RISK_LEVEL_ZH.get(slip.level, slip.level)}预警】{slip.unit} {slip.slip_no}"
        f" {LABEL_ZH.get(slip.category, slip.category)}，请在 {slip.due_at.astimezone(SHANGHAI):%Y-%m-%d %H:%M} 前办结",
    }
    if public_url:
        data["link"] = f"{public_url.rstrip('/')}/slips/{slip.slip_no}"
    return data


def enqueue_red_slips(session: Session, settings: WebhookSettings, now: datetime | None = None) -> int:
    """Queue one delivery for every open red slip that has none for this URL yet; the caller commits."""
    now = now or utcnow()
    already = exists().where(WebhookDelivery.slip_id == Slip.id, WebhookDelivery.url == settings.url)
    slips = session.scalars(
        select(Slip).where(Slip.level == "red", Slip.status != "closed", ~already).order_by(Slip.id)
    ).all()
    for slip in slips:
        session.add(
            WebhookDelivery(
                slip_id=slip.id,
                url=settings.url,
                payload=payload_for(slip, settings.public_url),
                status="pending",
                attempts=0,
                next_attempt_at=now,
                created_at=now,
            )
        )
    session.flush()
    return len(slips)


def backoff_delay(attempts: int, settings: WebhookSettings) -> timedelta:
    """Wait before the next try: backoff_s, doubling per failed attempt, capped at backoff_max_s."""
    return timedelta(seconds=min(settings.backoff_s * 2 ** max(0, attempts - 1), settings.backoff_max_s))


def _claim(session: Session, delivery: WebhookDelivery, now: datetime, lease: timedelta) -> bool:
    """Take the row for this process: a conditional UPDATE, so two senders never send it twice at once."""
    result = session.execute(
        update(WebhookDelivery)
        .where(
            WebhookDelivery.id == delivery.id,
            WebhookDelivery.status != "delivered",
            WebhookDelivery.attempts == delivery.attempts,
            or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
        )
        .values(next_attempt_at=now + lease)
        .execution_options(synchronize_session=False)
    )
    session.commit()
    return result.rowcount == 1


def _send(client: httpx.Client, delivery: WebhookDelivery, settings: WebhookSettings) -> str | None:
    """POST the payload; None on a 2xx answer, else a one-line error."""
    body = json.dumps(delivery.payload, ensure_ascii=False).encode("utf-8")
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "X-Complaints-Event": EVENT,
        "X-Complaints-Delivery": str(delivery.id),
    }
    if settings.secret:
        digest = hmac.new(settings.secret.encode("utf-8"), body, hashlib.sha256).hexdigest()
        headers["X-Complaints-Signature"] = f"sha256={digest}"
    try:
        response = client.post(delivery.url, content=body, headers=headers)
    except httpx.HTTPError as exc:
        return f"{type(exc).__name__}: {exc}".splitlines()[0][:500]
    if 200 <= response.status_code < 300:
        return None
    return f"HTTP {response.status_code}"


def deliver_pending(
    factory: sessionmaker[Session],
    settings: WebhookSettings,
    now: datetime | None = None,
    client: httpx.Client | None = None,
) -> NotifyResult:
    """Send every queued delivery that is due; each outcome is committed at once."""
    now = now or utcnow()
    result = NotifyResult()
    own_client = client is None
    client = client or httpx.Client(timeout=settings.timeout_s, follow_redirects=False)
    lease = timedelta(seconds=settings.timeout_s * 3)
    try:
        with factory() as session:
            due = session.scalars(
                select(WebhookDelivery)
                .where(
                    WebhookDelivery.status != "delivered",
                    or_(WebhookDelivery.next_attempt_at.is_(None), WebhookDelivery.next_attempt_at <= now),
                )
                .order_by(WebhookDelivery.id)
                .limit(BATCH)
            ).all()
            for delivery in due:
                if not _claim(session, delivery, now, lease):
                    continue
                error = _send(client, delivery, settings)
                session.refresh(delivery)
                delivery.attempts += 1
                slip_no = delivery.payload.get("slip_no", delivery.slip_id)
                if error is None:
                    delivery.status = "delivered"
                    delivery.delivered_at = utcnow()
                    delivery.last_error = None
                    delivery.next_attempt_at = None
                    result.delivered += 1
                else:
                    delivery.status = "retry"
                    delivery.last_error = error
                    delivery.next_attempt_at = now + backoff_delay(delivery.attempts, settings)
                    result.failed += 1
                    log.warning(
                        "webhook for slip %s failed (attempt %d, next at %s): %s",
                        slip_no,
                        delivery.attempts,
                        delivery.next_attempt_at.isoformat(),
                        error,
                    )
                session.commit()
    finally:
        if own_client:
            client.close()
    return result


def notify_new_red_slips(
    session_factory: sessionmaker[Session],
    now: datetime | None = None,
    settings: WebhookSettings | None = None,
    client: httpx.Client | None = None,
) -> NotifyResult:
    """Queue a webhook for each new red slip and send what is due; a no-op when no webhook is configured.

    Call it after slips are committed (the nightly flow does, the web app runs it on a timer).
    """
    settings = settings or webhook_settings()
    if settings is None:
        return NotifyResult()
    now = now or utcnow()
    with session_factory() as session:
        queued = enqueue_red_slips(session, settings, now)
        session.commit()
    result = deliver_pending(session_factory, settings, now=now, client=client)
    result.queued = queued
    if queued or result.delivered or result.failed:
        log.info(
            "webhook: %d queued, %d delivered, %d failed", result.queued, result.delivered, result.failed
        )
    return result
