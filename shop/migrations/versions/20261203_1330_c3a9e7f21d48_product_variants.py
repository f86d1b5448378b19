"""product variants (规格): product_families, products.family_id, variant_label, variant_position

A product sold in several variants (500克袋装 / 2斤礼盒 / 整只) keeps one `products` row per variant
(the SKU every cart line, order line, stock record, lot, change and ledger credit names); the new
`product_families` row groups them under one name, card and page (docs/catalog.md). Existing
products get no family: each stays a product sold in one variant.

Revision ID: c3a9e7f21d48
Revises: a9c1e5d7f203
Create Date: 2026-12-03 13:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c3a9e7f21d48"
down_revision = "a9c1e5d7f203"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "product_families",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_families")),
    )
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.add_column(sa.Column("family_id", ID, nullable=True))
        batch_op.add_column(sa.Column("variant_label", sa.String(length=40), server_default="", nullable=False))
        batch_op.add_column(sa.Column("variant_position", sa.Integer(), server_default="0", nullable=False))
        batch_op.create_index(batch_op.f("ix_products_family_id"), ["family_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_products_family_id_product_families"),
            "product_families",
            ["family_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade():
    with op.batch_alter_table("products", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_products_family_id_product_families"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_products_family_id"))
        batch_op.drop_column("variant_position")
        batch_op.drop_column("variant_label")
        batch_op.drop_column("family_id")
    op.drop_table("product_families")
