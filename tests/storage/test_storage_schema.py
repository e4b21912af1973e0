"""The migration chain, the audit trail guard, timestamps and optimistic locking, on every database."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import delete, inspect, select, text, update
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from pipeline.storage import (
    AuditImmutableError,
    DatabaseError,
    Slip,
    SlipEvent,
    customer_hash,
    upgrade,
)
from pipeline.storage.db import current_revision, head_revision

EXPECTED_TABLES = {
    "calls",
    "slips",
    "slip_calls",
    "slip_events",
    "quarantine",
    "night_runs",
    "users",
    "webhook_deliveries",
}


def _slip(no: str = "YJ20261127-0001") -> Slip:
    now = datetime(2026, 11, 27, 20, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
    return Slip(
        slip_no=no,
        unit="大理供电局",
        customer_key=customer_hash("5300123456"),
        customer_masked="530****456",
        area="上关镇河尾村",
        category="outage",
        level="yellow",
        score=0.3,
        reasons=[{"code": "repeat", "text": "同一问题30天内第3次来电", "weight": 0.5}],
        recommended_actions=["回访"],
        status="issued",
        due_at=now + timedelta(hours=24),
        first_call_at=now,
        last_call_at=now,
        call_count=1,
    )


def test_upgrade_creates_every_table_and_is_repeatable(engine, db_url):
    assert EXPECTED_TABLES <= set(inspect(engine).get_table_names())
    assert current_revision(engine) == head_revision()
    upgrade(db_url).dispose()
    assert current_revision(engine) == head_revision()


def test_sqlite_runs_in_wal_mode_with_busy_timeout(engine):
    if engine.dialect.name != "sqlite":
        pytest.skip("SQLite only")
    with engine.connect() as connection:
        assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() >= 10_000


def test_unreachable_database_gives_one_line_error(tmp_path):
    with pytest.raises(DatabaseError) as info:
        upgrade("postgresql+psycopg://nobody:secret@127.0.0.1:1/none")
    assert "\n" not in str(info.value)
    assert "secret" not in str(info.value)


def test_timestamps_come_back_aware_and_equal(factory):
    with factory() as session:
        slip = _slip()
        session.add(slip)
        session.commit()
        stored_due = slip.due_at
    with factory() as session:
        loaded = session.scalars(select(Slip)).one()
        assert loaded.due_at.tzinfo is not None
        assert loaded.due_at == stored_due
        assert loaded.due_at.astimezone(UTC).hour == 12


def test_audit_rows_cannot_be_edited_or_deleted_through_the_orm(factory):
    with factory() as session:
        slip = _slip()
        session.add(slip)
        session.flush()
        session.add(SlipEvent(slip_id=slip.id, by="张三", action="acknowledge", note="签收"))
        session.commit()
        event = session.scalars(select(SlipEvent)).one()
        event.note = "改过"
        with pytest.raises(AuditImmutableError):
            session.flush()
        session.rollback()
        session.delete(session.scalars(select(SlipEvent)).one())
        with pytest.raises(AuditImmutableError):
            session.flush()
        session.rollback()
        with pytest.raises(AuditImmutableError):
            session.execute(update(SlipEvent).values(note="批量改"))
        with pytest.raises(AuditImmutableError):
            session.execute(delete(SlipEvent))


def test_audit_rows_cannot_be_edited_or_deleted_in_sql(factory, engine):
    with factory() as session:
        slip = _slip()
        session.add(slip)
        session.flush()
        session.add(SlipEvent(slip_id=slip.id, by="张三", action="acknowledge", note="签收"))
        session.commit()
    for statement in ("UPDATE slip_events SET note = 'x'", "DELETE FROM slip_events"):
        with pytest.raises((IntegrityError, DBAPIError)) as info, engine.begin() as connection:
            connection.execute(text(statement))
        assert "append-only" in str(info.value)
    with engine.connect() as connection:
        assert connection.execute(text("SELECT note FROM slip_events")).scalar_one() == "签收"


def test_concurrent_slip_edits_are_detected(factory):
    with factory() as session:
        session.add(_slip())
        session.commit()
    first, second = factory(), factory()
    try:
        a = first.scalars(select(Slip)).one()
        b = second.scalars(select(Slip)).one()
        a.status = "acknowledged"
        first.commit()
        b.status = "in_progress"
        with pytest.raises(StaleDataError):
            second.commit()
    finally:
        first.close()
        second.close()
    with factory() as session:
        slip = session.scalars(select(Slip)).one()
        assert (slip.status, slip.version) == ("acknowledged", 2)


def test_slip_numbers_are_unique(factory):
    with factory() as session:
        session.add(_slip())
        session.commit()
        session.add(_slip())
        with pytest.raises(IntegrityError):
            session.commit()


def test_customer_hash_is_keyed_stable_and_hides_the_id():
    digest = customer_hash("13812345678")
    assert digest == customer_hash("138 1234 5678")
    assert digest != customer_hash("13812345679")
    assert "13812345678" not in digest and len(digest) == 64
