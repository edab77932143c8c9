"""Takeover: adopted SKUs, per-account watermarks, per-listing history cut-off, last
read quantities, held accounts

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.add_column(sa.Column("adopted_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("history_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("read_qty", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("read_at", sa.DateTime(timezone=True), nullable=True))
    op.create_index("ix_bindings_history_until", "bindings", ["account", "history_until"])
    with op.batch_alter_table("account_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("watermark_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("hold_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("release_once", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))
    # A ledger that already ran before takeovers existed keeps running as it did: its
    # SKUs are adopted, and each account's watermark is the newest order it booked.
    op.execute("UPDATE skus SET adopted_at = created_at")
    op.execute("UPDATE bindings SET read_qty = observed_qty, read_at = observed_at")
    op.execute("UPDATE account_state SET watermark_at = (SELECT MAX(o.created_at) FROM orders o"
               " WHERE o.account = account_state.account)")
    op.execute("UPDATE account_state SET watermark_at = COALESCE(watermark_at, adopted_at,"
               " last_success_at) WHERE EXISTS (SELECT 1 FROM bindings b"
               " WHERE b.account = account_state.account)")


def downgrade() -> None:
    with op.batch_alter_table("account_state", schema=None) as batch_op:
        batch_op.drop_column("release_once")
        batch_op.drop_column("hold_reason")
        batch_op.drop_column("watermark_at")
    op.drop_index("ix_bindings_history_until", table_name="bindings")
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        batch_op.drop_column("read_at")
        batch_op.drop_column("read_qty")
        batch_op.drop_column("history_until")
    with op.batch_alter_table("skus", schema=None) as batch_op:
        batch_op.drop_column("adopted_at")
