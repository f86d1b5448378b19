"""sale_daily: the sale figures summed by day, village, station and category (#20, the county's 销售去向
over a million orders), kept by a trigger on every INSERT into sale_figures (PostgreSQL and SQLite) and
built here from the existing figures.

Revision ID: d5e3a2b9f714
Revises: c4d2f1a8e6b3
Create Date: 2026-12-03 14:45:00

"""
from alembic import op
import sqlalchemy as sa

# the trigger and the rebuild as they were at this revision (a migration never imports application
# code; revision 7b1e4c9d2f60 replaced the trigger by the ledger's own upsert, ledger.summaries)
SALE_DAILY_DDL = (
    'sale_daily_add',
    """
CREATE OR REPLACE FUNCTION sale_daily_add() RETURNS trigger AS $$
BEGIN
    INSERT INTO sale_daily (entry_date, village_id, station_id, category_id, sale_fen, household_fen, commission_fen, collective_fen, purchased_fen, lines) VALUES (NEW.entry_date, COALESCE(NEW.village_id, 0), COALESCE(NEW.station_id, 0), COALESCE(NEW.category_id, 0), NEW.sale_fen, NEW.household_fen, NEW.commission_fen, NEW.collective_fen, NEW.purchased_fen, 1) ON CONFLICT (entry_date, village_id, station_id, category_id) DO UPDATE SET sale_fen = sale_daily.sale_fen + excluded.sale_fen, household_fen = sale_daily.household_fen + excluded.household_fen, commission_fen = sale_daily.commission_fen + excluded.commission_fen, collective_fen = sale_daily.collective_fen + excluded.collective_fen, purchased_fen = sale_daily.purchased_fen + excluded.purchased_fen, lines = sale_daily.lines + 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS sale_daily_add ON sale_figures;
CREATE TRIGGER sale_daily_add AFTER INSERT ON sale_figures
    FOR EACH ROW EXECUTE FUNCTION sale_daily_add();
""",
    """
DROP TRIGGER IF EXISTS sale_daily_add ON sale_figures;
DROP FUNCTION IF EXISTS sale_daily_add();
""",
)
SALE_DAILY_SQLITE = (
    'CREATE TRIGGER IF NOT EXISTS sale_daily_add AFTER INSERT ON sale_figures BEGIN INSERT INTO sale_daily (entry_date, village_id, station_id, category_id, sale_fen, household_fen, commission_fen, collective_fen, purchased_fen, lines) VALUES (NEW.entry_date, COALESCE(NEW.village_id, 0), COALESCE(NEW.station_id, 0), COALESCE(NEW.category_id, 0), NEW.sale_fen, NEW.household_fen, NEW.commission_fen, NEW.collective_fen, NEW.purchased_fen, 1) ON CONFLICT (entry_date, village_id, station_id, category_id) DO UPDATE SET sale_fen = sale_daily.sale_fen + excluded.sale_fen, household_fen = sale_daily.household_fen + excluded.household_fen, commission_fen = sale_daily.commission_fen + excluded.commission_fen, collective_fen = sale_daily.collective_fen + excluded.collective_fen, purchased_fen = sale_daily.purchased_fen + excluded.purchased_fen, lines = sale_daily.lines + 1; END'
)
SALE_DAILY_REBUILD = (
    'DELETE FROM sale_daily',
    'INSERT INTO sale_daily (entry_date, village_id, station_id, category_id, sale_fen, household_fen, commission_fen, collective_fen, purchased_fen, lines) SELECT entry_date, COALESCE(village_id, 0), COALESCE(station_id, 0), COALESCE(category_id, 0), SUM(sale_fen), SUM(household_fen), SUM(commission_fen), SUM(collective_fen), SUM(purchased_fen), COUNT(*) FROM sale_figures GROUP BY entry_date, COALESCE(village_id, 0), COALESCE(station_id, 0), COALESCE(category_id, 0)',
)


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
