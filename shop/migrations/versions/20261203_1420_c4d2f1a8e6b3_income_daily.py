"""income_daily: the ledger summed by day, household, village, station, category and kinds (#20, the county
report over a million orders), kept by a trigger on every INSERT into income_entries (PostgreSQL and
SQLite) and built here from the existing entries.

Revision ID: c4d2f1a8e6b3
Revises: a6f8abb12c84
Create Date: 2026-12-03 14:10:00

"""
from alembic import op
import sqlalchemy as sa

# the trigger and the rebuild as they were at this revision (a migration never imports application
# code; revision 7b1e4c9d2f60 replaced the trigger by the ledger's own upsert, ledger.summaries)
INCOME_DAILY_DDL = (
    'income_daily_add',
    """
CREATE OR REPLACE FUNCTION income_daily_add() RETURNS trigger AS $$
BEGIN
    INSERT INTO income_daily (entry_date, household_id, village_id, station_id, category_id, kind, benefit_kind, amount_fen, entries) VALUES (NEW.entry_date, NEW.household_id, COALESCE(NEW.village_id, 0), COALESCE(NEW.station_id, 0), COALESCE(NEW.category_id, 0), NEW.kind, NEW.benefit_kind, NEW.amount_fen, 1) ON CONFLICT (entry_date, household_id, village_id, station_id, category_id, kind, benefit_kind) DO UPDATE SET amount_fen = income_daily.amount_fen + excluded.amount_fen, entries = income_daily.entries + 1;
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;
DROP TRIGGER IF EXISTS income_daily_add ON income_entries;
CREATE TRIGGER income_daily_add AFTER INSERT ON income_entries
    FOR EACH ROW EXECUTE FUNCTION income_daily_add();
""",
    """
DROP TRIGGER IF EXISTS income_daily_add ON income_entries;
DROP FUNCTION IF EXISTS income_daily_add();
""",
)
INCOME_DAILY_SQLITE = (
    'CREATE TRIGGER IF NOT EXISTS income_daily_add AFTER INSERT ON income_entries BEGIN INSERT INTO income_daily (entry_date, household_id, village_id, station_id, category_id, kind, benefit_kind, amount_fen, entries) VALUES (NEW.entry_date, NEW.household_id, COALESCE(NEW.village_id, 0), COALESCE(NEW.station_id, 0), COALESCE(NEW.category_id, 0), NEW.kind, NEW.benefit_kind, NEW.amount_fen, 1) ON CONFLICT (entry_date, household_id, village_id, station_id, category_id, kind, benefit_kind) DO UPDATE SET amount_fen = income_daily.amount_fen + excluded.amount_fen, entries = income_daily.entries + 1; END'
)
INCOME_DAILY_REBUILD = (
    'DELETE FROM income_daily',
    'INSERT INTO income_daily (entry_date, household_id, village_id, station_id, category_id, kind, benefit_kind, amount_fen, entries) SELECT entry_date, household_id, COALESCE(village_id, 0), COALESCE(station_id, 0), COALESCE(category_id, 0), kind, benefit_kind, SUM(amount_fen), COUNT(*) FROM income_entries GROUP BY entry_date, household_id, COALESCE(village_id, 0), COALESCE(station_id, 0), COALESCE(category_id, 0), kind, benefit_kind',
)


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
