"""bundle_components: what each bundle (kit) SKU is made of

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-02 16:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bundle_components",
        sa.Column("bundle_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("skus.id", name="fk_bundle_components_bundle_id_skus"),
                  nullable=False),
        sa.Column("component_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
                  sa.ForeignKey("skus.id", name="fk_bundle_components_component_id_skus"),
                  nullable=False),
        sa.Column("quantity", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("bundle_id", "component_id", name="pk_bundle_components"),
    )
    op.create_index("ix_bundle_components_component_id", "bundle_components",
                    ["component_id"])


def downgrade() -> None:
    op.drop_index("ix_bundle_components_component_id", table_name="bundle_components")
    op.drop_table("bundle_components")
