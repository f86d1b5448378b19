"""Notes and refund reasons kept whole: status_events.note, refunds.reason, cash_entries.reason as text

A note may quote a reason a user typed in full (a line canceled: <reason>), and a recall's refund says
批次 X 召回：<the recall's reason>: both were cut to their column (255 and 200 characters); a cash refund's
book entry carries its refund's reason.

Revision ID: e4b8a1f3c602
Revises: d7a3c5e9b214
Create Date: 2026-12-07 12:10:00
"""
import sqlalchemy as sa
from alembic import op

revision = "e4b8a1f3c602"
down_revision = "d7a3c5e9b214"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("status_events", schema=None) as batch_op:
        batch_op.alter_column("note", existing_type=sa.String(length=255), type_=sa.Text(), existing_nullable=False)
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.alter_column("reason", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=False)
    with op.batch_alter_table("cash_entries", schema=None) as batch_op:
        batch_op.alter_column("reason", existing_type=sa.String(length=200), type_=sa.Text(), existing_nullable=False)


def downgrade():
    # the column types only; a longer note or reason written since would not fit: cut, as before
    op.execute("UPDATE status_events SET note = substr(note, 1, 255)")
    op.execute("UPDATE refunds SET reason = substr(reason, 1, 200)")
    with op.batch_alter_table("cash_entries", schema=None) as batch_op:
        batch_op.alter_column("reason", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=False)
    with op.batch_alter_table("refunds", schema=None) as batch_op:
        batch_op.alter_column("reason", existing_type=sa.Text(), type_=sa.String(length=200), existing_nullable=False)
    with op.batch_alter_table("status_events", schema=None) as batch_op:
        batch_op.alter_column("note", existing_type=sa.Text(), type_=sa.String(length=255), existing_nullable=False)
