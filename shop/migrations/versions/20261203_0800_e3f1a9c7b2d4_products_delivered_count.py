"""products.delivered_count: 已售 from delivered lines

Back-filled from the order lines already handed over (open product lines of delivered shipments);
kept in step by `orders.services.common.adjust_delivered_count` from then on.

Revision ID: e3f1a9c7b2d4
Revises: 25bcdea02584
Create Date: 2026-12-03 08:00:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'e3f1a9c7b2d4'
down_revision = '25bcdea02584'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.add_column(sa.Column('delivered_count', sa.Integer(), server_default='0', nullable=False))
        batch_op.create_check_constraint(op.f('ck_products_delivered_count_non_negative'), 'delivered_count >= 0')
    op.execute(
        "UPDATE products SET delivered_count = COALESCE(("
        " SELECT SUM(l.quantity) FROM order_lines l JOIN shipments s ON s.id = l.shipment_id"
        " WHERE l.product_id = products.id AND l.kind = 'product' AND l.status = 'open'"
        " AND s.status = 'delivered'), 0)"
    )


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_products_delivered_count_non_negative'), type_='check')
        batch_op.drop_column('delivered_count')
