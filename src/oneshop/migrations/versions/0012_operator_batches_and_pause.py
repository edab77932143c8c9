"""operator batches (every write a person makes, for `oneshop batches` and `undo`), the
batch of each movement, and an account's pause (`oneshop pause`, Etsy's vacation mode)

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
UtcDateTime = sa.DateTime(timezone=True)
PAUSE_COLUMNS = ("paused_at", "pause_until", "pause_reason", "pause_batch_id", "vacation_at")


def upgrade() -> None:
    op.create_table(
        "operator_batches",
        sa.Column("id", BigId, nullable=False),
        sa.Column("kind", sa.String(length=40), nullable=False),
        sa.Column("command", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("changes", sa.JSON(), nullable=False),
        sa.Column("undoes", BigId, nullable=True),
        sa.Column("undone_by", BigId, nullable=True),
        sa.ForeignKeyConstraint(["undoes"], ["operator_batches.id"],
                                name=op.f("fk_operator_batches_undoes_operator_batches")),
        sa.ForeignKeyConstraint(["undone_by"], ["operator_batches.id"],
                                name=op.f("fk_operator_batches_undone_by_operator_batches")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_operator_batches")),
    )
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.add_column(sa.Column("batch_id", BigId, nullable=True))
        batch_op.create_foreign_key(op.f("fk_movements_batch_id_operator_batches"),
                                    "operator_batches", ["batch_id"], ["id"])
    # Partial: the sales every poll records carry no batch and never touch it.
    op.create_index("ix_movements_batch", "movements", ["batch_id"], unique=False,
                    sqlite_where=sa.text("batch_id IS NOT NULL"),
                    postgresql_where=sa.text("batch_id IS NOT NULL"))
    with op.batch_alter_table("account_state", schema=None) as batch_op:
        batch_op.add_column(sa.Column("paused_at", UtcDateTime, nullable=True))
        batch_op.add_column(sa.Column("pause_until", UtcDateTime, nullable=True))
        batch_op.add_column(sa.Column("pause_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("pause_batch_id", BigId, nullable=True))
        batch_op.add_column(sa.Column("vacation_at", UtcDateTime, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account_state", schema=None) as batch_op:
        for name in reversed(PAUSE_COLUMNS):
            batch_op.drop_column(name)
    op.drop_index("ix_movements_batch", table_name="movements",
                  sqlite_where=sa.text("batch_id IS NOT NULL"),
                  postgresql_where=sa.text("batch_id IS NOT NULL"))
    with op.batch_alter_table("movements", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("fk_movements_batch_id_operator_batches"),
                                 type_="foreignkey")
        batch_op.drop_column("batch_id")
    op.drop_table("operator_batches")
