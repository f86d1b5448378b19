"""cart_lines.selected: the buyer chooses (勾选) which cart lines the next checkout places

The cart page has a checkbox per line and 全选; the total, 结算 (N件) and the checkout count the chosen
lines only, and the lines not chosen stay in the cart after the order (orders.services.cart,
docs/journeys.md "Choosing what to check out"). Existing lines are chosen, so a cart checks out as it
did before.

Revision ID: 3f7a2c9e5b18
Revises: 6b3e9d2f4a71
Create Date: 2026-12-06 07:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "3f7a2c9e5b18"
down_revision = "6b3e9d2f4a71"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("cart_lines", schema=None) as batch_op:
        batch_op.add_column(sa.Column("selected", sa.Boolean(), server_default=sa.true(), nullable=False))


def downgrade():
    with op.batch_alter_table("cart_lines", schema=None) as batch_op:
        batch_op.drop_column("selected")
