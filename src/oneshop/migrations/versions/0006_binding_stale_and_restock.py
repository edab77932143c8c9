"""bindings: stale push streaks (stuck listings) and cancellations the channel may restock

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

COLUMNS = ("stale_pushes", "stale_reconciles", "restock_pending")


def upgrade() -> None:
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        for name in COLUMNS:
            batch_op.add_column(sa.Column(name, sa.Integer(), nullable=False,
                                          server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        for name in reversed(COLUMNS):
            batch_op.drop_column(name)
