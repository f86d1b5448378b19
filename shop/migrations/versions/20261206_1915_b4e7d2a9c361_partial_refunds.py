"""Partial refunds by quantity: order_lines.refunded_quantity, refund_requests.quantity

A buyer asks for some of a line's units (refund_requests.quantity, 1 to what is left); each approval
adds its units to the line's refunded_quantity, which is the line's quantity once it is refunded.
Requests made before asked for the whole line (their line's quantity); lines refunded before were
refunded whole.

Revision ID: b4e7d2a9c361
Revises: 5e2b8c4d7a19
Create Date: 2026-12-06 19:15:00
"""
import sqlalchemy as sa
from alembic import op

revision = "b4e7d2a9c361"
down_revision = "5e2b8c4d7a19"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("refunded_quantity", sa.Integer(), nullable=False, server_default="0"))
    op.execute("UPDATE order_lines SET refunded_quantity = quantity WHERE status = 'refunded'")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.create_check_constraint(
            op.f("ck_order_lines_refunded_quantity_valid"), "refunded_quantity >= 0 AND refunded_quantity <= quantity"
        )
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("quantity", sa.Integer(), nullable=True))
    op.execute(
        "UPDATE refund_requests SET quantity = "
        "(SELECT order_lines.quantity FROM order_lines WHERE order_lines.id = refund_requests.order_line_id)"
    )
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.alter_column("quantity", existing_type=sa.Integer(), nullable=False)
        batch_op.create_check_constraint(op.f("ck_refund_requests_quantity_positive"), "quantity > 0")
        batch_op.create_check_constraint(
            op.f("ck_refund_requests_restocked_within_quantity"),
            "restocked_quantity IS NULL OR restocked_quantity <= quantity",
        )


def downgrade():
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_refund_requests_restocked_within_quantity"), type_="check")
        batch_op.drop_constraint(op.f("ck_refund_requests_quantity_positive"), type_="check")
        batch_op.drop_column("quantity")
    with op.batch_alter_table("order_lines", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_order_lines_refunded_quantity_valid"), type_="check")
        batch_op.drop_column("refunded_quantity")
