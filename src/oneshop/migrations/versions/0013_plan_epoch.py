"""account_state.plan_epoch: operator changes that call for a whole-account push plan

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-02 16:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("account_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("plan_epoch", sa.Integer(), nullable=False,
                                      server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("account_state", schema=None) as batch_op:
        batch_op.drop_column("plan_epoch")
