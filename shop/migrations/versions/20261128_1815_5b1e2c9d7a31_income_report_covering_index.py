"""income entries: a covering index for the county reports

The reports sum a date range of income entries grouped by household, village, station, category
or kind. With every column they read in the index, PostgreSQL answers them with an index-only
scan instead of visiting the entries scattered over the table. It replaces the plain index on
entry_date (same leading column). SQLite ignores INCLUDE: there it is a plain index on entry_date.

Revision ID: 5b1e2c9d7a31
Revises: 0227c491094b
Create Date: 2026-11-28 18:15:00
"""
from alembic import op

revision = "5b1e2c9d7a31"
down_revision = "0227c491094b"
branch_labels = None
depends_on = None

INCLUDE = ["kind", "amount_fen", "household_id", "village_id", "station_id", "category_id"]


def upgrade():
    with op.batch_alter_table("income_entries", schema=None) as batch_op:
        batch_op.create_index("ix_income_entries_date_covering", ["entry_date"], unique=False,
                              postgresql_include=INCLUDE)
        batch_op.drop_index("ix_income_entries_entry_date")


def downgrade():
    with op.batch_alter_table("income_entries", schema=None) as batch_op:
        batch_op.create_index("ix_income_entries_entry_date", ["entry_date"], unique=False)
        batch_op.drop_index("ix_income_entries_date_covering")
