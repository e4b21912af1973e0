"""Service-center working day: assignee, caller phone (masked), comments, attachments, in-app notices,
revocable sessions.

Revision ID: 0005
Revises: 0001
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone_masked", sa.String(length=32), nullable=True))
    with op.batch_alter_table("slips", schema=None) as batch_op:
        batch_op.add_column(sa.Column("assignee", sa.String(length=64), nullable=True))
        batch_op.create_index(batch_op.f("ix_slips_assignee"), ["assignee"], unique=False)
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), nullable=False, server_default="0"))

    op.create_table(
        "slip_comments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slip_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(["slip_id"], ["slips.id"], name=op.f("fk_slip_comments_slip_id_slips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slip_comments")),
    )
    with op.batch_alter_table("slip_comments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slip_comments_slip_id"), ["slip_id"], unique=False)

    op.create_table(
        "slip_attachments",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("slip_id", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(length=100), nullable=False),
        sa.Column("filename", sa.String(length=200), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("stored_name", sa.String(length=100), nullable=False),
        sa.ForeignKeyConstraint(["slip_id"], ["slips.id"], name=op.f("fk_slip_attachments_slip_id_slips")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_slip_attachments")),
        sa.UniqueConstraint("stored_name", name=op.f("uq_slip_attachments_stored_name")),
    )
    with op.batch_alter_table("slip_attachments", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_slip_attachments_slip_id"), ["slip_id"], unique=False)

    op.create_table(
        "notifications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("slip_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("text", sa.String(length=300), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("read_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["slip_id"], ["slips.id"], name=op.f("fk_notifications_slip_id_slips")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_notifications_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_notifications")),
        sa.UniqueConstraint("user_id", "slip_id", "kind", name="uq_notifications_once"),
    )
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_notifications_user_id"), ["user_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("notifications", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_notifications_user_id"))
    op.drop_table("notifications")
    with op.batch_alter_table("slip_attachments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slip_attachments_slip_id"))
    op.drop_table("slip_attachments")
    with op.batch_alter_table("slip_comments", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slip_comments_slip_id"))
    op.drop_table("slip_comments")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
    with op.batch_alter_table("slips", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_slips_assignee"))
        batch_op.drop_column("assignee")
    with op.batch_alter_table("calls", schema=None) as batch_op:
        batch_op.drop_column("phone_masked")
