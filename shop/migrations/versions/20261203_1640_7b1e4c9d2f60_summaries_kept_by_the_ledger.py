"""income_daily and sale_daily are kept by the ledger, not by triggers: drop the triggers and their
functions (PostgreSQL and SQLite). The ledger now adds what a transaction wrote to the summaries with one
ordered upsert just before it commits (ledger.summaries): the row-by-row triggers locked summary rows in
whatever order the entries came, and two hand-overs could deadlock on them. The summaries themselves are
unchanged (they equal the rows grouped, as the triggers kept them).

Revision ID: 7b1e4c9d2f60
Revises: d5e3a2b9f714
Create Date: 2026-12-03 16:40:00

"""
from alembic import op


# revision identifiers, used by Alembic.
revision = '7b1e4c9d2f60'
down_revision = 'd5e3a2b9f714'
branch_labels = None
depends_on = None

# the triggers as revisions c4d2f1a8e6b3 and d5e3a2b9f714 made them (for the downgrade)
_INCOME_UPSERT = (
    "INSERT INTO income_daily (entry_date, household_id, village_id, station_id, category_id, kind, benefit_kind, "
    "amount_fen, entries) VALUES (NEW.entry_date, NEW.household_id, COALESCE(NEW.village_id, 0), "
    "COALESCE(NEW.station_id, 0), COALESCE(NEW.category_id, 0), NEW.kind, NEW.benefit_kind, NEW.amount_fen, 1) "
    "ON CONFLICT (entry_date, household_id, village_id, station_id, category_id, kind, benefit_kind) DO UPDATE "
    "SET amount_fen = income_daily.amount_fen + excluded.amount_fen, entries = income_daily.entries + 1"
)
_SALE_PARTS = ("sale_fen", "household_fen", "commission_fen", "collective_fen", "purchased_fen")
_SALE_UPSERT = (
    f"INSERT INTO sale_daily (entry_date, village_id, station_id, category_id, {', '.join(_SALE_PARTS)}, lines) "
    "VALUES (NEW.entry_date, COALESCE(NEW.village_id, 0), COALESCE(NEW.station_id, 0), COALESCE(NEW.category_id, 0), "
    + ", ".join(f"NEW.{p}" for p in _SALE_PARTS)
    + ", 1) ON CONFLICT (entry_date, village_id, station_id, category_id) DO UPDATE SET "
    + ", ".join(f"{p} = sale_daily.{p} + excluded.{p}" for p in _SALE_PARTS)
    + ", lines = sale_daily.lines + 1"
)
#: (trigger name, table, upsert)
_TRIGGERS = (
    ("income_daily_add", "income_entries", _INCOME_UPSERT),
    ("sale_daily_add", "sale_figures", _SALE_UPSERT),
)


def upgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, table, _upsert in _TRIGGERS:
        if postgres:
            op.execute(f"DROP TRIGGER IF EXISTS {name} ON {table}")
            op.execute(f"DROP FUNCTION IF EXISTS {name}()")
        else:
            op.execute(f"DROP TRIGGER IF EXISTS {name}")


def downgrade():
    postgres = op.get_bind().dialect.name == "postgresql"
    for name, table, upsert in _TRIGGERS:
        if postgres:
            op.execute(
                f"CREATE OR REPLACE FUNCTION {name}() RETURNS trigger AS $$\nBEGIN\n    {upsert};\n"
                "    RETURN NULL;\nEND;\n$$ LANGUAGE plpgsql"
            )
            op.execute(
                f"CREATE TRIGGER {name} AFTER INSERT ON {table} FOR EACH ROW EXECUTE FUNCTION {name}()"
            )
        else:
            op.execute(f"CREATE TRIGGER IF NOT EXISTS {name} AFTER INSERT ON {table} BEGIN {upsert}; END")
