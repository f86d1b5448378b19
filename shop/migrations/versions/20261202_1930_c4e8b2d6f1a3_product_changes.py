"""product_changes: an approved product's price, name or unit changes wait for the county

Re-certification (catalog/changes.py): an operator's change to a certified fact of an approved
product is kept here, pending, while the shop keeps selling the approved version.

Revision ID: c4e8b2d6f1a3
Revises: a7d3c9e1f2b4
Create Date: 2026-12-02 19:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "c4e8b2d6f1a3"
down_revision = "a7d3c9e1f2b4"
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade():
    op.create_table(
        "product_changes",
        sa.Column("id", ID, autoincrement=True, nullable=False),
        sa.Column("product_id", ID, nullable=False),
        sa.Column("status", sa.String(length=12), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=True),
        sa.Column("unit", sa.String(length=20), nullable=True),
        sa.Column("price_fen", sa.BigInteger(), nullable=True),
        sa.Column("old_name", sa.String(length=80), nullable=False),
        sa.Column("old_unit", sa.String(length=20), nullable=False),
        sa.Column("old_price_fen", sa.BigInteger(), nullable=False),
        sa.Column("requested_by_id", ID, nullable=True),
        sa.Column("requested_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("decided_by_id", ID, nullable=True),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("decision_note", sa.String(length=255), nullable=False),
        sa.CheckConstraint("status IN ('pending','approved','rejected')", name=op.f("ck_product_changes_status_valid")),
        sa.CheckConstraint("price_fen IS NULL OR price_fen > 0", name=op.f("ck_product_changes_price_positive")),
        sa.ForeignKeyConstraint(["product_id"], ["products.id"], name=op.f("fk_product_changes_product_id_products"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["requested_by_id"], ["users.id"],
                                name=op.f("fk_product_changes_requested_by_id_users"), ondelete="SET NULL"),
        sa.ForeignKeyConstraint(["decided_by_id"], ["users.id"],
                                name=op.f("fk_product_changes_decided_by_id_users"), ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_product_changes")),
    )
    with op.batch_alter_table("product_changes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_product_changes_product_id"), ["product_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_changes_requested_by_id"), ["requested_by_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_product_changes_decided_by_id"), ["decided_by_id"], unique=False)
        batch_op.create_index("uq_product_changes_one_pending", ["product_id"], unique=True,
                              postgresql_where=sa.text("status = 'pending'"),
                              sqlite_where=sa.text("status = 'pending'"))


def downgrade():
    op.drop_table("product_changes")
