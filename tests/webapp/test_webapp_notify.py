"""Red-slip webhooks: queued in the outbox, retried with backoff against a real local HTTP server."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import threading
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from sqlalchemy import select

from pipeline.notify import WebhookSettings, backoff_delay, notify_new_red_slips, webhook_settings
from pipeline.slips import apply_action
from pipeline.storage.models import WebhookDelivery


class Receiver:
    """A webhook receiver on 127.0.0.1 that answers 500 to the first ``fail_first`` requests."""

    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.requests: list[tuple[dict[str, str], bytes]] = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.requests.append((dict(self.headers), body))
                status = 500 if len(receiver.requests) <= receiver.fail_first else 204
                self.send_response(status)
                self.send_header("Content-Length", "0")
                self.end_headers()

            def log_message(self, *args: object) -> None:
                return None

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    r = Receiver(fail_first=1)
    yield r
    r.close()


def _deliveries(world) -> list[WebhookDelivery]:
    with world.factory() as session:
        return list(session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id)))


def test_failed_delivery_is_retried_with_backoff_then_delivered(world, receiver, caplog) -> None:
    settings = WebhookSettings(url=receiver.url, secret="s3cret", backoff_s=60, backoff_max_s=600)
    t0 = datetime.now(UTC)
    with caplog.at_level(logging.WARNING, logger="pipeline.notify"):
        first = notify_new_red_slips(world.factory, now=t0, settings=settings)
    assert (first.queued, first.delivered, first.failed) == (1, 0, 1)
    assert "HTTP 500" in caplog.text and world.slips["dali_red"] in caplog.text
    [row] = _deliveries(world)
    assert row.status == "retry" and row.attempts == 1 and row.last_error == "HTTP 500"
    assert row.next_attempt_at == t0 + timedelta(seconds=60)

    early = notify_new_red_slips(world.factory, now=t0 + timedelta(seconds=30), settings=settings)
    assert (early.queued, early.delivered, early.failed) == (0, 0, 0), "not retried before the backoff"
    assert len(receiver.requests) == 1

    later = notify_new_red_slips(world.factory, now=t0 + timedelta(seconds=61), settings=settings)
    assert (later.queued, later.delivered) == (0, 1)
    [row] = _deliveries(world)
    assert row.status == "delivered" and row.attempts == 2 and row.delivered_at is not None
    assert len(receiver.requests) == 2

    headers, body = receiver.requests[-1]
    payload = json.loads(body)
    assert payload["slip_no"] == world.slips["dali_red"] and payload["level"] == "red"
    assert payload["unit"] == "大理供电局" and "13812345678" not in body.decode()
    expected = hmac.new(b"s3cret", body, hashlib.sha256).hexdigest()
    assert headers["X-Complaints-Signature"] == f"sha256={expected}"

    again = notify_new_red_slips(world.factory, now=t0 + timedelta(hours=1), settings=settings)
    assert (again.queued, again.delivered) == (0, 0), "one notification per red slip"


def test_slip_raised_to_red_is_notified(world, receiver) -> None:
    receiver.fail_first = 0
    settings = WebhookSettings(url=receiver.url)
    notify_new_red_slips(world.factory, settings=settings)
    with world.factory() as session:
        apply_action(session, world.slips["km_yellow"], "escalate", "prov", "省公司督办")
        session.commit()
    assert world.slip("km_yellow").level == "orange", "raised, but not to red: no webhook"
    with world.factory() as session:
        apply_action(session, world.slips["km_orange"], "escalate", "prov", "督办")
        session.commit()
    result = notify_new_red_slips(world.factory, settings=settings)
    assert result.queued == 1 and result.delivered == 1
    assert json.loads(receiver.requests[-1][1])["slip_no"] == world.slips["km_orange"]


def test_unreachable_receiver_keeps_the_delivery(world) -> None:
    settings = WebhookSettings(url="http://127.0.0.1:9/none", timeout_s=2, backoff_s=10, backoff_max_s=40)
    t0 = datetime.now(UTC)
    for i in range(4):
        notify_new_red_slips(world.factory, now=t0 + timedelta(hours=i), settings=settings)
    [row] = _deliveries(world)
    assert row.status == "retry" and row.attempts == 4 and row.last_error
    assert row.payload["slip_no"] == world.slips["dali_red"]
    assert backoff_delay(1, settings) == timedelta(seconds=10)
    assert backoff_delay(3, settings) == timedelta(seconds=40)
    assert backoff_delay(10, settings) == timedelta(seconds=40)


def test_no_url_means_nothing_queued(world, monkeypatch) -> None:
    monkeypatch.delenv("COMPLAINTS_WEBHOOK_URL", raising=False)
    monkeypatch.setattr("pipeline.notify.section", lambda name: {})
    assert webhook_settings() is None
    result = notify_new_red_slips(world.factory)
    assert (result.queued, result.delivered) == (0, 0) and _deliveries(world) == []
    monkeypatch.setenv("COMPLAINTS_WEBHOOK_URL", "http://127.0.0.1:1/x")
    assert webhook_settings().url == "http://127.0.0.1:1/x"


def test_running_web_app_sends_red_slip_webhooks(world, receiver, monkeypatch) -> None:
    import time

    from fastapi.testclient import TestClient

    from webapp.app import create_app
    from webapp.config import load_web_config

    receiver.fail_first = 0
    monkeypatch.setenv("COMPLAINTS_WEBHOOK_URL", receiver.url)
    app = create_app(engine=world.app.state.engine, config=load_web_config(secret_key="k", webhook_poll_s=1))
    with TestClient(app):
        deadline = time.monotonic() + 20
        while not receiver.requests and time.monotonic() < deadline:
            time.sleep(0.1)
    assert receiver.requests, "the app's webhook loop delivered nothing"
    assert json.loads(receiver.requests[0][1])["slip_no"] == world.slips["dali_red"]
    assert [d.status for d in _deliveries(world)] == ["delivered"]
