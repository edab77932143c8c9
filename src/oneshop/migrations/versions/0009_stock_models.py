"""skus: stock models (unlimited, made to order, backorder) and made-to-order capacity

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"  # chained after main's 0013 when main was merged in
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every existing SKU is a counted one: the defaults say so.
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stock_model", sa.String(20), nullable=False,
                                      server_default="tracked"))
        batch_op.add_column(sa.Column("advertise", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("capacity_per_week", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("backorder", sa.Integer(), nullable=False,
                                      server_default="0"))
        batch_op.add_column(sa.Column("capacity_full", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
        # The push plan looks up the made-to-order SKUs on every run.
        batch_op.create_index(batch_op.f("ix_skus_stock_model"), ["stock_model"])


def downgrade() -> None:
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_skus_stock_model"))
        for name in ("capacity_full", "backorder", "capacity_per_week", "advertise",
                     "stock_model"):
            batch_op.drop_column(name)
