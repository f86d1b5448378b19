"""orders: one index (user_id, status) instead of (user_id). Every pay-later checkout counts the buyer's
open orders (orders.services.limits); with only the status index the planner read every confirmed order
of the shop for it. The new index also serves every lookup by buyer alone (its first column).

Revision ID: 8c2f5a1d3e74
Revises: 7b1e4c9d2f60
Create Date: 2026-12-03 17:10:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '8c2f5a1d3e74'
down_revision = '7b1e4c9d2f60'
branch_labels = None
depends_on = None


def upgrade():
    op.create_index('ix_orders_user_status', 'orders', ['user_id', 'status'], unique=False)
    op.drop_index('ix_orders_user_id', table_name='orders')


def downgrade():
    op.create_index('ix_orders_user_id', 'orders', ['user_id'], unique=False)
    op.drop_index('ix_orders_user_status', table_name='orders')
