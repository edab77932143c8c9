"""account_state.plan: the budget-planned schedule an account runs (oneshop.plan)

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account_state", schema=None) as batch_op:
        batch_op.drop_column("plan")
