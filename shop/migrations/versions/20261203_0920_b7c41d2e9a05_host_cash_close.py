"""host cash book: daily close, remittances and corrections

The host's till gets the station till's three operations (docs/MONEY.md, "The host's cash book"):
entries of kind remittance, correction and close_difference (no listing or booking, with a reason),
the daily close `host_cash_closes` (append-only, one per host and day) and, on PostgreSQL, the
trigger refusing an entry dated into a closed day.

Revision ID: b7c41d2e9a05
Revises: f125741c3f35
Create Date: 2026-12-03 09:20:00

"""
from alembic import op
import sqlalchemy as sa

from shop.schema import append_only_ddl, closed_day_ddl

PG_DDL = [append_only_ddl("host_cash_closes"), closed_day_ddl("host_cash_entries", "host_cash_closes", "host_id")]
ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')

# revision identifiers, used by Alembic.
revision = 'b7c41d2e9a05'
down_revision = 'f125741c3f35'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table('host_cash_closes',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('host_id', ID, nullable=False),
    sa.Column('business_date', sa.Date(), nullable=False),
    sa.Column('expected_fen', sa.BigInteger(), nullable=False),
    sa.Column('counted_fen', sa.BigInteger(), nullable=False),
    sa.Column('difference_fen', sa.BigInteger(), nullable=False),
    sa.Column('note', sa.String(length=200), nullable=False),
    sa.Column('actor_id', ID, nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['actor_id'], ['users.id'], name=op.f('fk_host_cash_closes_actor_id_users'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['host_id'], ['users.id'], name=op.f('fk_host_cash_closes_host_id_users'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_host_cash_closes')),
    sa.UniqueConstraint('host_id', 'business_date', name='uq_host_cash_closes_host_date')
    )
    with op.batch_alter_table('host_cash_closes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_host_cash_closes_actor_id'), ['actor_id'], unique=False)
    with op.batch_alter_table('host_cash_entries', schema=None) as batch_op:
        batch_op.add_column(sa.Column('reason', sa.String(length=200), server_default='', nullable=False))
        batch_op.alter_column('listing_id', existing_type=ID, nullable=True)
        batch_op.alter_column('booking_id', existing_type=ID, nullable=True)
        batch_op.drop_constraint(batch_op.f('ck_host_cash_entries_kind_valid'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_host_cash_entries_amount_positive'), type_='check')
        batch_op.create_check_constraint(
            batch_op.f('ck_host_cash_entries_kind_valid'),
            "kind IN ('arrival','remittance','correction','close_difference')")
        batch_op.create_check_constraint(
            batch_op.f('ck_host_cash_entries_amount_sign'),
            "(kind = 'arrival' AND amount_fen > 0 AND booking_id IS NOT NULL)"
            " OR (kind = 'remittance' AND amount_fen < 0)"
            " OR (kind IN ('correction','close_difference') AND amount_fen <> 0)")
    if op.get_bind().dialect.name == "postgresql":
        for _name, create_sql, _drop in PG_DDL:
            op.execute(create_sql)


def downgrade():
    if op.get_bind().dialect.name == "postgresql":
        for _name, _create, drop_sql in reversed(PG_DDL):
            op.execute(drop_sql)
        # the append-only trigger refuses the DELETE of the entries that only this revision allows
        op.execute("ALTER TABLE host_cash_entries DISABLE TRIGGER host_cash_entries_append_only")
    op.execute("DELETE FROM host_cash_entries WHERE kind <> 'arrival'")
    if op.get_bind().dialect.name == "postgresql":
        op.execute("ALTER TABLE host_cash_entries ENABLE TRIGGER host_cash_entries_append_only")
    with op.batch_alter_table('host_cash_entries', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('ck_host_cash_entries_amount_sign'), type_='check')
        batch_op.drop_constraint(batch_op.f('ck_host_cash_entries_kind_valid'), type_='check')
        batch_op.create_check_constraint(batch_op.f('ck_host_cash_entries_kind_valid'), "kind IN ('arrival')")
        batch_op.create_check_constraint(batch_op.f('ck_host_cash_entries_amount_positive'), 'amount_fen > 0')
        batch_op.alter_column('booking_id', existing_type=ID, nullable=False)
        batch_op.alter_column('listing_id', existing_type=ID, nullable=False)
        batch_op.drop_column('reason')
    with op.batch_alter_table('host_cash_closes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_host_cash_closes_actor_id'))
    op.drop_table('host_cash_closes')
