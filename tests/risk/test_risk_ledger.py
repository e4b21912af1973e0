"""The ledger on SQLite and PostgreSQL: search, order, assignment, comments and notices in the database."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from pipeline import ledger
from pipeline.slips import SlipActionError, apply_action, record_call
from pipeline.storage import User
from pipeline.text.mask import mask_phone

NIGHT = date(2026, 11, 27)
NOW = datetime(2026, 11, 28, 2, 0, tzinfo=UTC)


def _issue(session, new_call, call_id: str, customer: str, level: str, phone: str | None = None):
    call = new_call(
        call_id, customer=customer, level=level, score={"red": 0.8, "orange": 0.5}.get(level, 0.2)
    )
    call.phone_masked = mask_phone(phone) if phone else None
    session.add(call)
    session.flush()
    return record_call(session, call, NIGHT, now=NOW)


def test_search_order_assignment_comments_and_notices(factory, new_call) -> None:
    with factory() as session:
        red = _issue(session, new_call, "C1", "0531200045678", "red", "13812345678")
        yellow = _issue(session, new_call, "C2", "0531200099999", "yellow", "13900000042")
        session.add(
            User(username="u1", password_hash="x", role="unit", unit="大理供电局", session_generation=0)
        )
        session.add(User(username="p1", password_hash="x", role="province", session_generation=0))
        session.commit()

        def found(q: str) -> list[str]:
            return [s.slip_no for s in ledger.list_slips(session, {"q": q}).items]

        assert found("0042") == [yellow.slip_no]
        assert found("13812345678") == [red.slip_no]
        assert found("0531200099999") == [yellow.slip_no]
        assert found("100%") == []
        order = [s.slip_no for s in ledger.iter_slips(session, {"status": "open"})]
        assert order == [red.slip_no, yellow.slip_no]
        by_due = [s.slip_no for s in ledger.iter_slips(session, {"sort": "due"})]
        assert by_due[0] == red.slip_no, "the red slip is due first (24 h)"

        apply_action(session, red.slip_no, "acknowledge", "u1", None)
        apply_action(session, red.slip_no, "assign", "p1", "交给二班", assignee="u2")
        with pytest.raises(SlipActionError, match="处理人已是"):
            apply_action(session, red.slip_no, "assign", "p1", None, assignee="u2")
        session.commit()
        assert ledger.list_slips(session, {"assignee": "u2"}).total == 1

        ledger.add_comment(session, red, "u1", "已联系村委会")
        session.commit()
        assert [c.body for c in ledger.comments_of(session, red)] == ["已联系村委会"]

        soon = NOW + timedelta(hours=71)
        first = ledger.refresh_notifications(session, now=soon)
        session.commit()
        assert first == 3, "red: province + unit; yellow due within 6 h: unit"
        assert ledger.refresh_notifications(session, now=soon) == 0
        user = session.query(User).filter_by(username="u1").one()
        assert ledger.unread_count(session, user) == 2
        assert ledger.mark_read(session, user) == 2 and ledger.unread_count(session, user) == 0
