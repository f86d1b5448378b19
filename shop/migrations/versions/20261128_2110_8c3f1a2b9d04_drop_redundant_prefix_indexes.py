"""drop two indexes that a composite index already covers

`bookings.unit_type_id` is the leading column of ix_bookings_unit_type_dates and
`shipments.station_id` of ix_shipments_station_status: PostgreSQL and SQLite use the composite
index for lookups on the column alone, so the single-column indexes only cost every booking and
every shipment insert one more index entry.

Revision ID: 8c3f1a2b9d04
Revises: 5b1e2c9d7a31
Create Date: 2026-11-28 21:10:00
"""
from alembic import op

revision = "8c3f1a2b9d04"
down_revision = "5b1e2c9d7a31"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.drop_index("ix_bookings_unit_type_id")
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.drop_index("ix_shipments_station_id")


def downgrade():
    with op.batch_alter_table("shipments", schema=None) as batch_op:
        batch_op.create_index("ix_shipments_station_id", ["station_id"], unique=False)
    with op.batch_alter_table("bookings", schema=None) as batch_op:
        batch_op.create_index("ix_bookings_unit_type_id", ["unit_type_id"], unique=False)
