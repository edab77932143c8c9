"""bindings: listings the seller ignores (never written, never reconciled, no stock);
order_lines: unbound lines a takeover read (history, never booked by a later link)

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-02 16:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("ignored", sa.String(length=20), nullable=True))
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("read_at_takeover", sa.Boolean(), nullable=False,
                                      server_default=sa.false()))


def downgrade() -> None:
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_column("read_at_takeover")
    with op.batch_alter_table("bindings", schema=None) as batch_op:
        batch_op.drop_column("ignored")
