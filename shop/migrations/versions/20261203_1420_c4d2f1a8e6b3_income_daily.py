"""income_daily: the ledger summed by day, household, village, station, category and kinds (#20, the county
report over a million orders), kept by a trigger on every INSERT into income_entries (PostgreSQL and
SQLite) and built here from the existing entries.

Revision ID: c4d2f1a8e6b3
Revises: a6f8abb12c84
Create Date: 2026-12-03 14:10:00

"""
from alembic import op
import sqlalchemy as sa

from ledger.models import INCOME_DAILY_DDL, INCOME_DAILY_REBUILD, INCOME_DAILY_SQLITE


# revision identifiers, used by Alembic.
revision = 'c4d2f1a8e6b3'
down_revision = 'a6f8abb12c84'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('income_daily',
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('household_id', sa.BigInteger(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('station_id', sa.BigInteger(), nullable=False),
    sa.Column('category_id', sa.BigInteger(), nullable=False),
    sa.Column('kind', sa.String(length=12), nullable=False),
    sa.Column('benefit_kind', sa.String(length=12), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.Column('entries', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('entry_date', 'household_id', 'village_id', 'station_id', 'category_id', 'kind', 'benefit_kind', name=op.f('pk_income_daily'))
    )
    for statement in INCOME_DAILY_REBUILD:
        op.execute(statement)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(INCOME_DAILY_DDL[1])
    else:
        op.execute(INCOME_DAILY_SQLITE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(INCOME_DAILY_DDL[2])
    else:
        op.execute("DROP TRIGGER IF EXISTS income_daily_add")
    op.drop_table('income_daily')
