"""Alerts are episodes: a key, when the seller was last told, how often, when it ended

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-02 09:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

OPEN = sa.text("resolved_at IS NULL")


def upgrade() -> None:
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("episode_key", sa.String(length=400), nullable=True))
        batch_op.add_column(sa.Column("notified_at", sa.DateTime(timezone=True),
                                      nullable=True))
        batch_op.add_column(sa.Column("reminders", sa.Integer(), server_default="0",
                                      nullable=False))
        batch_op.add_column(sa.Column("resolved_at", sa.DateTime(timezone=True),
                                      nullable=True))
    # Alerts stored before episodes existed were each told once and never end: closed.
    op.execute("UPDATE alerts SET resolved_at = created_at, notified_at = created_at")
    # One open episode per key; a new one may start once the last has ended.
    op.create_index("ux_alerts_open_episode", "alerts", ["episode_key"], unique=True,
                    sqlite_where=OPEN, postgresql_where=OPEN)


def downgrade() -> None:
    op.drop_index("ux_alerts_open_episode", table_name="alerts")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("resolved_at")
        batch_op.drop_column("reminders")
        batch_op.drop_column("notified_at")
        batch_op.drop_column("episode_key")
