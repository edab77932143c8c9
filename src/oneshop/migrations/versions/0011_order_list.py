"""orders: when the buyer paid; order_lines: units refunded (the order list and export)

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-02 16:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Orders booked before this revision show no paid time and 0 refunded until their
    # channel reports them again (a refund, a poll's overlap, `oneshop sync`).
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paid_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refunded_quantity", sa.Integer(), nullable=False,
                                      server_default="0"))


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_column("refunded_quantity")
    with op.batch_alter_table("orders", schema=None) as batch_op:
        batch_op.drop_column("paid_at")
