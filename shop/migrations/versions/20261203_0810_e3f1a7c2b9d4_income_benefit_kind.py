"""income entries: benefit kind

Every ledger entry says what the household earned (sale, purchase, wage, dividend, rent,
collective; docs/MONEY.md "Benefit kinds"). Entries written before kinds existed are all a
household's share of a sale it supplied on consignment, so they get `sale` (the column's server
default: adding it rewrites no row, so the append-only trigger is not involved). The covering index
of the county reports carries the new column too (reports group by it).

Revision ID: e3f1a7c2b9d4
Revises: e3f1a9c7b2d4
Create Date: 2026-12-03 08:10:00
"""
from alembic import op
import sqlalchemy as sa

revision = "e3f1a7c2b9d4"
down_revision = "e3f1a9c7b2d4"
branch_labels = None
depends_on = None

OLD_INCLUDE = ["kind", "amount_fen", "household_id", "village_id", "station_id", "category_id"]
NEW_INCLUDE = ["kind", "benefit_kind", "amount_fen", "household_id", "village_id", "station_id", "category_id"]


def upgrade():
    with op.batch_alter_table("income_entries", schema=None) as batch_op:
        batch_op.add_column(sa.Column("benefit_kind", sa.String(length=12), server_default="sale", nullable=False))
        batch_op.create_check_constraint(
            "benefit_kind_valid", "benefit_kind IN ('sale','purchase','wage','dividend','rent','collective')")
        batch_op.drop_index("ix_income_entries_date_covering")
        batch_op.create_index("ix_income_entries_date_covering", ["entry_date"], unique=False,
                              postgresql_include=NEW_INCLUDE)


def downgrade():
    with op.batch_alter_table("income_entries", schema=None) as batch_op:
        batch_op.drop_index("ix_income_entries_date_covering")
        batch_op.create_index("ix_income_entries_date_covering", ["entry_date"], unique=False,
                              postgresql_include=OLD_INCLUDE)
        batch_op.drop_constraint(op.f("ck_income_entries_benefit_kind_valid"), type_="check")
        batch_op.drop_column("benefit_kind")
