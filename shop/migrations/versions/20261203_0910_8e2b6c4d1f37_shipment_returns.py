"""shipment returns

A pick-up transfer canceled after it arrived at the chosen station sends its goods back to the
packing station (`shipments.return_status`: returning → returned); the stock they hold
(`shipments.return_stock`) is released when they are received back (docs/pickup.md).

Revision ID: 8e2b6c4d1f37
Revises: 2ee951fa0a97
Create Date: 2026-12-03 09:00:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = '8e2b6c4d1f37'
down_revision = '2ee951fa0a97'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('return_status', sa.String(length=12), nullable=True))
        batch_op.add_column(sa.Column('return_stock', sa.JSON(), nullable=True))
        batch_op.create_check_constraint(
            op.f('ck_shipments_return_status_valid'), "return_status IS NULL OR return_status IN ('returning','returned')")


def downgrade():
    with op.batch_alter_table('shipments', schema=None) as batch_op:
        batch_op.drop_constraint('ck_shipments_return_status_valid', type_='check')
        batch_op.drop_column('return_stock')
        batch_op.drop_column('return_status')
