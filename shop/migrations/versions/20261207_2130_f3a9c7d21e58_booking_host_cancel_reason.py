"""Bookings: host_cancel_reason, the reason a host gives the guest when cancelling a booking

The host's 取消预订 asks why (required, at most 200 characters); the guest reads it in the mail, on the booking's
and the order's page and in the API's booking. Existing rows, canceled by the host before the reason was asked,
get "" (no reason given).

Revision ID: f3a9c7d21e58
Revises: d22f341d0ddd
Create Date: 2026-12-07 21:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "f3a9c7d21e58"
down_revision = "d22f341d0ddd"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.add_column(sa.Column("host_cancel_reason", sa.String(length=200), server_default="", nullable=False))


def downgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_column("host_cancel_reason")
