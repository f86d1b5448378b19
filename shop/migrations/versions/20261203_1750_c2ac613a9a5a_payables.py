"""payables: the ledger entries no live payout item holds, one row each, so that a payout batch reads
what is unpaid instead of anti-joining the whole ledger with every item (#20, a county's month of 12,000
households). Every new entry gets its row from the ledger's insert_entries (ledger.payouts.add_payables);
the rows of the existing entries are built here from the entries and the items.

payout_items.entry_id loses its foreign key: items are written from payables rows, whose key is
checked when the entry is written, and the ledger deletes nothing; checked again per item, the key
locked each of the month's entries a batch pays (most of a batch's time at a county's volume).

The SQL is written out here (not imported from the models) so that this revision stays what it was.

Revision ID: c2ac613a9a5a
Revises: 8c2f5a1d3e74
Create Date: 2026-12-03 17:50:00

"""
from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'c2ac613a9a5a'
down_revision = '8c2f5a1d3e74'
branch_labels = None
depends_on = None

BUILD = (
    "INSERT INTO payables (entry_id, household_id, entry_date, amount_fen) "
    "SELECT e.id, e.household_id, e.entry_date, e.amount_fen FROM income_entries e "
    "WHERE NOT EXISTS (SELECT 1 FROM payout_items i WHERE i.entry_id = e.id AND NOT i.released)"
)


def upgrade():
    op.create_table('payables',
    sa.Column('entry_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=False, nullable=False),
    sa.Column('household_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('amount_fen', sa.BigInteger(), nullable=False),
    sa.ForeignKeyConstraint(['entry_id'], ['income_entries.id'], name=op.f('fk_payables_entry_id_income_entries'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['household_id'], ['households.id'], name=op.f('fk_payables_household_id_households'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('entry_id', name=op.f('pk_payables'))
    )
    with op.batch_alter_table('payables', schema=None) as batch_op:
        batch_op.create_index('ix_payables_household_date', ['household_id', 'entry_date'], unique=False)
    op.execute(BUILD)
    with op.batch_alter_table('payout_items', schema=None) as batch_op:
        batch_op.drop_constraint('fk_payout_items_entry_id_income_entries', type_='foreignkey')


def downgrade():
    with op.batch_alter_table('payout_items', schema=None) as batch_op:
        batch_op.create_foreign_key('fk_payout_items_entry_id_income_entries', 'income_entries', ['entry_id'], ['id'], ondelete='RESTRICT')
    with op.batch_alter_table('payables', schema=None) as batch_op:
        batch_op.drop_index('ix_payables_household_date')
    op.drop_table('payables')
