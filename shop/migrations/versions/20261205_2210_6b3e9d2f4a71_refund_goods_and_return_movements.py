"""refund goods and return movements: an approved refund says what happened to the goods (退货入库)

`refund_requests.goods` (not_returned | restocked | returned_unsellable) and `restocked_quantity`
record the station's word on approval; requests decided before keep NULL. A `return` stock movement
takes a buyer's sellable goods back into the lot they were sold from and names its refund request
(`stock_movements.refund_request_id`); docs/traceability.md "Returns".

Revision ID: 6b3e9d2f4a71
Revises: 9d4e7b1c2a58
Create Date: 2026-12-05 22:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "6b3e9d2f4a71"
down_revision = "9d4e7b1c2a58"
branch_labels = None
depends_on = None

OLD_KINDS = "kind IN ('receive','correct','consume','block')"
NEW_KINDS = "kind IN ('receive','correct','consume','block','return')"
GOODS = "goods IS NULL OR goods IN ('not_returned','restocked','returned_unsellable')"
QUANTITY = (
    "CASE WHEN goods = 'restocked' THEN restocked_quantity IS NOT NULL AND restocked_quantity > 0 "
    "ELSE restocked_quantity IS NULL END"
)


def upgrade():
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("goods", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("restocked_quantity", sa.Integer(), nullable=True))
        batch_op.create_check_constraint(op.f("ck_refund_requests_goods_valid"), GOODS)
        batch_op.create_check_constraint(op.f("ck_refund_requests_restocked_quantity_with_goods"), QUANTITY)
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("refund_request_id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), nullable=True)
        )
        batch_op.create_index(batch_op.f("ix_stock_movements_refund_request_id"), ["refund_request_id"], unique=False)
        batch_op.create_foreign_key(
            batch_op.f("fk_stock_movements_refund_request_id_refund_requests"),
            "refund_requests",
            ["refund_request_id"],
            ["id"],
            ondelete="SET NULL",
        )
        batch_op.drop_constraint(op.f("ck_stock_movements_kind_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_stock_movements_kind_valid"), NEW_KINDS)


def downgrade():
    # the units stay on hand: their movements become corrections, so movements still sum to on_hand
    op.execute("UPDATE stock_movements SET kind = 'correct', reason = 'return' WHERE kind = 'return'")
    with op.batch_alter_table("stock_movements", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_stock_movements_kind_valid"), type_="check")
        batch_op.create_check_constraint(op.f("ck_stock_movements_kind_valid"), OLD_KINDS)
        batch_op.drop_constraint(
            batch_op.f("fk_stock_movements_refund_request_id_refund_requests"), type_="foreignkey"
        )
        batch_op.drop_index(batch_op.f("ix_stock_movements_refund_request_id"))
        batch_op.drop_column("refund_request_id")
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_refund_requests_restocked_quantity_with_goods"), type_="check")
        batch_op.drop_constraint(op.f("ck_refund_requests_goods_valid"), type_="check")
        batch_op.drop_column("restocked_quantity")
        batch_op.drop_column("goods")
