"""Problems as the unit: a problem id on calls and slips, the promises read from each call (issue 11).

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-01
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

JSON = sa.JSON().with_variant(postgresql.JSONB(), "postgresql")


def upgrade() -> None:
    with op.batch_alter_table("calls") as batch:
        batch.add_column(sa.Column("problem_id", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("commitments", JSON, nullable=False, server_default="[]"))
        batch.create_index("ix_calls_problem_id", ["problem_id"], unique=False)
    with op.batch_alter_table("slips") as batch:
        batch.add_column(sa.Column("problem_id", sa.String(length=64), nullable=True))
        batch.create_index("ix_slips_problem_id", ["problem_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("slips") as batch:
        batch.drop_index("ix_slips_problem_id")
        batch.drop_column("problem_id")
    with op.batch_alter_table("calls") as batch:
        batch.drop_index("ix_calls_problem_id")
        batch.drop_column("commitments")
        batch.drop_column("problem_id")
