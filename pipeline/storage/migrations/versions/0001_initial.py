"""Initial schema: calls, slips and their audit trail, quarantine, night runs, users, webhooks.

slip_events is append-only: besides the ORM guard, a trigger refuses UPDATE and
DELETE in the database itself (SQLite and PostgreSQL), so no client can rewrite
the audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-11-28
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")

APPEND_ONLY_MESSAGE = "slip_events is append-only"


def upgrade() -> None:
    op.create_table(
        "night_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("counts", JSON, nullable=False),
        sa.Column("model_versions", JSON, nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_night_runs")),
    )
    with op.batch_alter_table("night_runs", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_night_runs_night"), ["night"], unique=False)

    op.create_table(
        "quarantine",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("night", sa.Date(), nullable=True),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("row_number", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("reason_code", sa.String(length=64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("raw", JSON, nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quarantine")),
        sa.UniqueConstraint("night", "source", "row_number", name="uq_quarantine_row"),
    )
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_quarantine_night"), ["night"], unique=False)

    op.create_table(
        "slips",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slip_no", sa.String(length=32), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("customer_key", sa.String(length=64), nullable=False),
        sa.Column("customer_masked", sa.String(length=64), nullable=False),
        sa.Column("area", sa.String(length=200), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("level", sa.String(length=8), nullable=False),
        sa.Column("score", sa.Float(), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("recommended_actions", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("first_call_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_call_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("call_count", sa.Integer(), nullable=False),
        sa.Column("handling_note", sa.Text(), nullable=True),
        sa.Column("callback_result", sa.String(length=16), nullable=True),
        sa.Column("supervised", sa.Boolean(), nullable=False),
        sa.Column("reopen_count", sa.Integer(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slips")),
        sa.UniqueConstraint("slip_no", name=op.f("uq_slips_slip_no")),
    )
    with op.batch_alter_table("slips", schema=None) as batch_op:
        batch_op.create_index("ix_slips_problem", ["customer_key", "category"], unique=False)
        batch_op.create_index(batch_op.f("ix_slips_status"), ["status"], unique=False)
        batch_op.create_index("ix_slips_unit_status", ["unit", "status"], unique=False)

    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("username", sa.String(length=64), nullable=False),
        sa.Column("password_hash", sa.String(length=255), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=True),
        sa.Column("disabled", sa.Boolean(), nullable=False),
        sa.Column("api_token_hash", sa.String(length=255), nullable=True),
        sa.Column("failed_logins", sa.Integer(), nullable=False),
        sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("username", name=op.f("uq_users_username")),
    )
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_users_api_token_hash"), ["api_token_hash"], unique=False)

    op.create_table(
        "calls",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("night", sa.Date(), nullable=False),
        sa.Column("call_time", sa.DateTime(timezone=True), nullable=False),
        sa.Column("customer_key", sa.String(length=64), nullable=False),
        sa.Column("customer_masked", sa.String(length=64), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("area", sa.String(length=200), nullable=True),
        sa.Column("channel", sa.String(length=16), nullable=False),
        sa.Column("duration_s", sa.Integer(), nullable=True),
        sa.Column("transcript", sa.Text(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=False),
        sa.Column("confidence", sa.Float(), nullable=False),
        sa.Column("probabilities", JSON, nullable=False),
        sa.Column("needs_review", sa.Boolean(), nullable=False),
        sa.Column("escalation_score", sa.Float(), nullable=False),
        sa.Column("risk_level", sa.String(length=8), nullable=False),
        sa.Column("reasons", JSON, nullable=False),
        sa.Column("features", JSON, nullable=False),
        sa.Column("slip_id", sa.Integer(), nullable=True),
        sa.Column("classifier_version", sa.String(length=100), nullable=True),
        sa.Column("risk_model_version", sa.String(length=100), nullable=True),
        sa.Column("scored_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["slip_id"], ["slips.id"], name=op.f("fk_calls_slip_id_slips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_calls")),
        sa.UniqueConstraint("call_id", name=op.f("uq_calls_call_id")),
    )
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.create_index("ix_calls_area", ["unit", "area", "call_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_customer_key"), ["customer_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_night"), ["night"], unique=False)
        batch_op.create_index("ix_calls_problem", ["customer_key", "category", "call_time"], unique=False)
        batch_op.create_index(batch_op.f("ix_calls_slip_id"), ["slip_id"], unique=False)

    op.create_table(
        "slip_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slip_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("action", sa.String(length=32), nullable=False),
        sa.Column("from_status", sa.String(length=16), nullable=True),
        sa.Column("to_status", sa.String(length=16), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("details", JSON, nullable=False),
        sa.ForeignKeyConstraint(["slip_id"], ["slips.id"], name=op.f("fk_slip_events_slip_id_slips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slip_events")),
    )
    with op.batch_alter_table("slip_events", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slip_events_slip_id"), ["slip_id"], unique=False)
    _create_append_only_triggers()

    op.create_table(
        "webhook_deliveries",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slip_id", sa.Integer(), nullable=True),
        sa.Column("url", sa.String(length=1000), nullable=False),
        sa.Column("payload", JSON, nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["slip_id"], ["slips.id"], name=op.f("fk_webhook_deliveries_slip_id_slips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_webhook_deliveries")),
    )
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_slip_id"), ["slip_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_webhook_deliveries_status"), ["status"], unique=False)

    op.create_table(
        "slip_calls",
        sa.Column("slip_id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.Integer(), nullable=False),
        sa.Column("added_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["call_id"], ["calls.id"], name=op.f("fk_slip_calls_call_id_calls")),
        sa.ForeignKeyConstraint(
            ["slip_id"], ["slips.id"], name=op.f("fk_slip_calls_slip_id_slips"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("slip_id", "call_id", name=op.f("pk_slip_calls")),
    )


def downgrade() -> None:
    op.drop_table("slip_calls")
    with op.batch_alter_table("webhook_deliveries", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_status"))
        batch_op.drop_index(batch_op.f("ix_webhook_deliveries_slip_id"))

    op.drop_table("webhook_deliveries")
    with op.batch_alter_table("slip_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slip_events_slip_id"))

    _drop_append_only_triggers()
    op.drop_table("slip_events")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_calls_slip_id"))
        batch_op.drop_index("ix_calls_problem")
        batch_op.drop_index(batch_op.f("ix_calls_night"))
        batch_op.drop_index(batch_op.f("ix_calls_customer_key"))
        batch_op.drop_index("ix_calls_area")

    op.drop_table("calls")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_users_api_token_hash"))

    op.drop_table("users")
    with op.batch_alter_table("slips", schema=None) as batch_op:
        batch_op.drop_index("ix_slips_unit_status")
        batch_op.drop_index(batch_op.f("ix_slips_status"))
        batch_op.drop_index("ix_slips_problem")

    op.drop_table("slips")
    with op.batch_alter_table("quarantine", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_quarantine_night"))

    op.drop_table("quarantine")
    with op.batch_alter_table("night_runs", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_night_runs_night"))

    op.drop_table("night_runs")


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION slip_events_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER slip_events_no_change BEFORE UPDATE OR DELETE ON slip_events "
            "FOR EACH ROW EXECUTE FUNCTION slip_events_append_only()"
        )
        op.execute(
            "CREATE TRIGGER slip_events_no_truncate BEFORE TRUNCATE ON slip_events "
            "FOR EACH STATEMENT EXECUTE FUNCTION slip_events_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER slip_events_no_{verb.lower()} BEFORE {verb} ON slip_events "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
        )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS slip_events_no_change ON slip_events")
        op.execute("DROP TRIGGER IF EXISTS slip_events_no_truncate ON slip_events")
        op.execute("DROP FUNCTION IF EXISTS slip_events_append_only()")
        return
    op.execute("DROP TRIGGER IF EXISTS slip_events_no_update")
    op.execute("DROP TRIGGER IF EXISTS slip_events_no_delete")
