"""Cash refunds owed at the counter: refunds.shipment_id

A cash refund is owed (state `owed`, 待退还) until an operator hands the cash back; its shipment says
whose till pays it. Cash refunds written before were paid out of the book at once: their shipment is
the one their `refund` cash-book entry names.

Revision ID: d7a3c5e9b214
Revises: c1ee512ceb53
Create Date: 2026-12-07 10:20:00
"""
import sqlalchemy as sa
from alembic import op

revision = "d7a3c5e9b214"
down_revision = "c1ee512ceb53"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("shipment_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_refunds_shipment_id"), ["shipment_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_refunds_shipment_id_shipments"), "shipments", ["shipment_id"], ["id"], ondelete="RESTRICT"
        )
    op.execute(
        "UPDATE refunds SET shipment_id = "
        "(SELECT cash_entries.shipment_id FROM cash_entries WHERE cash_entries.refund_id = refunds.id)"
    )


def downgrade():
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_refunds_shipment_id_shipments"), type_="foreignkey")
        batch_op.drop_index(batch_op.f("ix_refunds_shipment_id"))
        batch_op.drop_column("shipment_id")
