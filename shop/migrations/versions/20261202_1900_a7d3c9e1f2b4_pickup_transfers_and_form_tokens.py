"""pick-up at the chosen station (shipment status 'arrived') and once-per-form tokens

A pick-up order's shipments packed at other stations travel to the station the buyer chose:
shipped → arrived there (docs/pickup.md). `form_submissions` holds the claimed tokens of forms
that create something (shop/once.py): a double submission creates one object.

Revision ID: a7d3c9e1f2b4
Revises: 9d2b7e4a0c15
Create Date: 2026-12-02 19:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "a7d3c9e1f2b4"
down_revision = "9d2b7e4a0c15"
branch_labels = None
depends_on = None

OLD = "status IN ('new','accepted','packed','shipped','ready_for_pickup','delivered','canceled')"
NEW = "status IN ('new','accepted','packed','shipped','arrived','ready_for_pickup','delivered','canceled')"


def upgrade():
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_shipments_status_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_shipments_status_valid"), NEW)
    op.create_table(
        "form_submissions",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), autoincrement=True, nullable=False),
        sa.Column("key", sa.String(length=120), nullable=False),
        sa.Column("user_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_form_submissions_user_id_users"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_form_submissions")),
        sa.UniqueConstraint("key", name=op.f("uq_form_submissions_key")),
    )
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_form_submissions_user_id"), ["user_id"], unique=False)


def downgrade():
    with op.batch_alter_table("form_submissions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_form_submissions_user_id"))
    op.drop_table("form_submissions")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_shipments_status_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_shipments_status_valid"), OLD)
