"""Learning loop: 12398 outcomes, labels (append-only), slip escalation / false-alarm marks,
the category an export coded (issue 14).

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

APPEND_ONLY_MESSAGE = "labels rows are append-only"
JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("slips", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("escalated_12398", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.add_column(sa.Column("escalated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("false_alarm", sa.Boolean(), nullable=False, server_default=sa.false()))
        batch_op.add_column(sa.Column("false_alarm_reason", sa.Text(), nullable=True))
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("coded_category", sa.String(length=32), nullable=True))

    op.create_table(
        "outcomes_12398",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("ticket_no", sa.String(length=64), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("unit", sa.String(length=100), nullable=False),
        sa.Column("account_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_hash", sa.String(length=64), nullable=True),
        sa.Column("phone_masked", sa.String(length=32), nullable=True),
        sa.Column("text_masked", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("slip_id", sa.Integer(), nullable=True),
        sa.Column("call_id", sa.String(length=64), nullable=True),
        sa.Column("problem_ref", sa.String(length=64), nullable=True),
        sa.Column("similarity", sa.Float(), nullable=True),
        sa.Column("candidates", JSON, nullable=False),
        sa.Column("source", sa.String(length=500), nullable=False),
        sa.Column("imported_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["slip_id"], ["slips.id"], name=op.f("fk_outcomes_12398_slip_id_slips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_outcomes_12398")),
        sa.UniqueConstraint("ticket_no", name=op.f("uq_outcomes_12398_ticket_no")),
    )
    op.create_index(op.f("ix_outcomes_12398_received_at"), "outcomes_12398", ["received_at"], unique=False)
    op.create_index(op.f("ix_outcomes_12398_unit"), "outcomes_12398", ["unit"], unique=False)
    op.create_index(op.f("ix_outcomes_12398_slip_id"), "outcomes_12398", ["slip_id"], unique=False)

    op.create_table(
        "labels",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("call_id", sa.String(length=64), nullable=False),
        sa.Column("slip_id", sa.Integer(), nullable=True),
        sa.Column("problem_ref", sa.String(length=64), nullable=True),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("value", sa.String(length=64), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("author", sa.String(length=100), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("observed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("outcome_id", sa.Integer(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["slip_id"], ["slips.id"], name=op.f("fk_labels_slip_id_slips")),
        sa.ForeignKeyConstraint(
            ["outcome_id"], ["outcomes_12398.id"], name=op.f("fk_labels_outcome_id_outcomes_12398")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_labels")),
    )
    op.create_index("ix_labels_call_kind", "labels", ["call_id", "kind"], unique=False)
    op.create_index(op.f("ix_labels_slip_id"), "labels", ["slip_id"], unique=False)
    op.create_index(op.f("ix_labels_source"), "labels", ["source"], unique=False)
    op.create_index(op.f("ix_labels_outcome_id"), "labels", ["outcome_id"], unique=False)
    _create_append_only_triggers()


def downgrade() -> None:
    _drop_append_only_triggers()
    op.drop_index(op.f("ix_labels_outcome_id"), table_name="labels")
    op.drop_index(op.f("ix_labels_source"), table_name="labels")
    op.drop_index(op.f("ix_labels_slip_id"), table_name="labels")
    op.drop_index("ix_labels_call_kind", table_name="labels")
    op.drop_table("labels")
    op.drop_index(op.f("ix_outcomes_12398_slip_id"), table_name="outcomes_12398")
    op.drop_index(op.f("ix_outcomes_12398_unit"), table_name="outcomes_12398")
    op.drop_index(op.f("ix_outcomes_12398_received_at"), table_name="outcomes_12398")
    op.drop_table("outcomes_12398")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("coded_category")
    with op.batch_alter_table("slips", schema=None) as batch_op:
        batch_op.drop_column("false_alarm_reason")
        batch_op.drop_column("false_alarm")
        batch_op.drop_column("escalated_at")
        batch_op.drop_column("escalated_12398")


def _create_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute(
            f"""
            CREATE FUNCTION labels_append_only() RETURNS trigger AS $$
            BEGIN
                RAISE EXCEPTION '{APPEND_ONLY_MESSAGE}';
            END;
            $$ LANGUAGE plpgsql
            """
        )
        op.execute(
            "CREATE TRIGGER labels_no_change BEFORE UPDATE OR DELETE ON labels "
            "FOR EACH ROW EXECUTE FUNCTION labels_append_only()"
        )
        return
    for verb in ("UPDATE", "DELETE"):
        op.execute(
            f"CREATE TRIGGER labels_no_{verb.lower()} BEFORE {verb} ON labels "
            f"BEGIN SELECT RAISE(ABORT, '{APPEND_ONLY_MESSAGE}'); END"
        )


def _drop_append_only_triggers() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP TRIGGER IF EXISTS labels_no_change ON labels")
        op.execute("DROP FUNCTION IF EXISTS labels_append_only()")
        return
    op.execute("DROP TRIGGER IF EXISTS labels_no_update")
    op.execute("DROP TRIGGER IF EXISTS labels_no_delete")
