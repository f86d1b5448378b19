"""refund_requests.kind: what the buyer asks for, 仅退款 (refund_only) or 退货退款 (return)

The buyer chooses when asking; the station's decision still records what became of the goods
(`goods`), which alone moves stock. Requests made before keep NULL (not asked).

Revision ID: 5e2b8c4d7a19
Revises: 8c1d5e7a2b94
Create Date: 2026-12-06 18:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "5e2b8c4d7a19"
down_revision = "8c1d5e7a2b94"
branch_labels = None
depends_on = None

KIND = "kind IS NULL OR kind IN ('refund_only','return')"


def upgrade():
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.add_column(sa.Column("kind", sa.String(length=12), nullable=True))
        batch_op.create_check_constraint(op.f("ck_refund_requests_kind_valid"), KIND)


def downgrade():
    with op.batch_alter_table("refund_requests", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_refund_requests_kind_valid"), type_="check")
        batch_op.drop_column("kind")
