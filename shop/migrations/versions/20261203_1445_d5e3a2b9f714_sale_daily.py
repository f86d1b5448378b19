"""sale_daily: the sale figures summed by day, village, station and category (#20, the county's 销售去向
over a million orders), kept by a trigger on every INSERT into sale_figures (PostgreSQL and SQLite) and
built here from the existing figures.

Revision ID: d5e3a2b9f714
Revises: c4d2f1a8e6b3
Create Date: 2026-12-03 14:45:00

"""
from alembic import op
import sqlalchemy as sa

from ledger.models import SALE_DAILY_DDL, SALE_DAILY_REBUILD, SALE_DAILY_SQLITE


# revision identifiers, used by Alembic.
revision = 'd5e3a2b9f714'
down_revision = 'c4d2f1a8e6b3'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('sale_daily',
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('village_id', sa.BigInteger(), nullable=False),
    sa.Column('station_id', sa.BigInteger(), nullable=False),
    sa.Column('category_id', sa.BigInteger(), nullable=False),
    sa.Column('sale_fen', sa.BigInteger(), nullable=False),
    sa.Column('household_fen', sa.BigInteger(), nullable=False),
    sa.Column('commission_fen', sa.BigInteger(), nullable=False),
    sa.Column('collective_fen', sa.BigInteger(), nullable=False),
    sa.Column('purchased_fen', sa.BigInteger(), nullable=False),
    sa.Column('lines', sa.Integer(), nullable=False),
    sa.PrimaryKeyConstraint('entry_date', 'village_id', 'station_id', 'category_id', name=op.f('pk_sale_daily'))
    )
    for statement in SALE_DAILY_REBUILD:
        op.execute(statement)
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SALE_DAILY_DDL[1])
    else:
        op.execute(SALE_DAILY_SQLITE)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        op.execute(SALE_DAILY_DDL[2])
    else:
        op.execute("DROP TRIGGER IF EXISTS sale_daily_add")
    op.drop_table('sale_daily')
