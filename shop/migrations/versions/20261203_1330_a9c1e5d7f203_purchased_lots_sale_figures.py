"""purchased lots and sale figures (#20): a lot bought at intake (`lots.purchase_price_fen`) credits its
household `purchase` once, through a benefit record naming the lot (`benefit_records.lot_id`, unique);
`sale_figures` says where each sale's money went (households, commission, collective, purchased units),
written beside the ledger entries. Existing credits and reversals are backfilled from the ledger.
The tourism employment target counts persons with wages from a listing.

Revision ID: a9c1e5d7f203
Revises: b7c41d2e9a05
Create Date: 2026-12-03 13:30:00

"""
from decimal import ROUND_HALF_UP, Decimal

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision = 'a9c1e5d7f203'
down_revision = 'b7c41d2e9a05'
branch_labels = None
depends_on = None

ID = sa.BigInteger().with_variant(sa.Integer(), 'sqlite')


def _bps(fen, bps):
    return int((Decimal(int(fen)) * Decimal(int(bps)) / Decimal(10000)).quantize(Decimal(1), rounding=ROUND_HALF_UP))


def _backfill():
    """One figure per credited or reversed (line, ref), from the entries and the line (no lot was bought
    at intake before this revision: nothing is purchased)."""
    conn = op.get_bind()
    rows = conn.execute(sa.text(
        "SELECT e.order_line_id, e.ref, e.kind, SUM(e.amount_fen), MIN(e.entry_date), MIN(e.created_at), "
        "l.line_total_fen, l.commission_bps, l.village_id, l.station_id, l.category_id "
        "FROM income_entries e JOIN order_lines l ON l.id = e.order_line_id "
        "WHERE e.order_line_id IS NOT NULL "
        "GROUP BY e.order_line_id, e.ref, e.kind, l.line_total_fen, l.commission_bps, l.village_id, "
        "l.station_id, l.category_id ORDER BY e.order_line_id, MIN(e.id)"
    )).all()
    sold = {}
    table = sa.table(
        'sale_figures', *(sa.column(c) for c in (
            'order_line_id', 'ref', 'sale_fen', 'household_fen', 'commission_fen', 'collective_fen',
            'purchased_fen', 'village_id', 'station_id', 'category_id', 'entry_date', 'created_at'))
    )
    out = []
    for line_id, ref, kind, household, day, created, total, bps, village, station, category in rows:
        household = int(household)
        if kind == 'reversal':
            net_sale, net_commission = sold.get(line_id, (0, 0))
            if net_sale <= 0:
                continue
            share = net_sale - net_commission
            # the refunded part whose producer share the households gave back (all of it when fully reversed)
            part = net_sale if share <= 0 or -household >= share else min(net_sale, -household * net_sale // share)
            sale, commission = -part, -_bps(part, bps or 0) if part < net_sale else -net_commission
        else:
            # a kept booking fee is a booking line's, which carries no commission: its sale is its credit
            sale = household if ref.startswith('kept:') else int(total)
            commission = 0 if ref.startswith('kept:') else _bps(sale, bps or 0)
        sold[line_id] = (sold.get(line_id, (0, 0))[0] + sale, sold.get(line_id, (0, 0))[1] + commission)
        out.append({
            'order_line_id': line_id, 'ref': ref, 'sale_fen': sale, 'household_fen': household,
            'commission_fen': commission, 'collective_fen': sale - household - commission, 'purchased_fen': 0,
            'village_id': village, 'station_id': station, 'category_id': category,
            'entry_date': day, 'created_at': created,
        })
    for start in range(0, len(out), 1000):
        op.bulk_insert(table, out[start:start + 1000])


def upgrade():
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.add_column(sa.Column('purchase_price_fen', sa.BigInteger(), nullable=True))
        batch_op.create_check_constraint(
            'purchase_from_household',
            'purchase_price_fen IS NULL OR (purchase_price_fen > 0 AND household_id IS NOT NULL)',
        )
    with op.batch_alter_table('benefit_records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lot_id', ID, nullable=True))
        batch_op.create_foreign_key(
            batch_op.f('fk_benefit_records_lot_id_lots'), 'lots', ['lot_id'], ['id'], ondelete='RESTRICT'
        )
        batch_op.create_unique_constraint(batch_op.f('uq_benefit_records_lot_id'), ['lot_id'])
    op.create_table('sale_figures',
    sa.Column('id', ID, autoincrement=True, nullable=False),
    sa.Column('order_line_id', ID, nullable=False),
    sa.Column('ref', sa.String(length=40), server_default='', nullable=False),
    sa.Column('sale_fen', sa.BigInteger(), nullable=False),
    sa.Column('household_fen', sa.BigInteger(), nullable=False),
    sa.Column('commission_fen', sa.BigInteger(), nullable=False),
    sa.Column('collective_fen', sa.BigInteger(), nullable=False),
    sa.Column('purchased_fen', sa.BigInteger(), nullable=False),
    sa.Column('village_id', ID, nullable=True),
    sa.Column('station_id', ID, nullable=True),
    sa.Column('category_id', ID, nullable=True),
    sa.Column('entry_date', sa.Date(), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.CheckConstraint('sale_fen = household_fen + commission_fen + collective_fen + purchased_fen', name=op.f('ck_sale_figures_parts_add_up')),
    sa.ForeignKeyConstraint(['category_id'], ['categories.id'], name=op.f('fk_sale_figures_category_id_categories'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['order_line_id'], ['order_lines.id'], name=op.f('fk_sale_figures_order_line_id_order_lines'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['station_id'], ['stations.id'], name=op.f('fk_sale_figures_station_id_stations'), ondelete='RESTRICT'),
    sa.ForeignKeyConstraint(['village_id'], ['villages.id'], name=op.f('fk_sale_figures_village_id_villages'), ondelete='RESTRICT'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_sale_figures')),
    sa.UniqueConstraint('order_line_id', 'ref', name='uq_sale_figures_line_ref')
    )
    with op.batch_alter_table('sale_figures', schema=None) as batch_op:
        batch_op.create_index('ix_sale_figures_date_covering', ['entry_date'], unique=False, postgresql_include=['sale_fen', 'household_fen', 'commission_fen', 'collective_fen', 'purchased_fen', 'village_id', 'station_id', 'category_id'])
    _backfill()
    # 旅游带动贫困农民就业 is measured by the persons a listing's host paid wages to (county.services.targets)
    op.execute("UPDATE targets SET metric = 'persons_with_tourism_wages' WHERE metric = 'listing_employed_poor'")


def downgrade():
    op.execute("UPDATE targets SET metric = 'listing_employed_poor' WHERE metric = 'persons_with_tourism_wages'")
    with op.batch_alter_table('sale_figures', schema=None) as batch_op:
        batch_op.drop_index('ix_sale_figures_date_covering', postgresql_include=['sale_fen', 'household_fen', 'commission_fen', 'collective_fen', 'purchased_fen', 'village_id', 'station_id', 'category_id'])
    op.drop_table('sale_figures')
    with op.batch_alter_table('benefit_records', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('uq_benefit_records_lot_id'), type_='unique')
        batch_op.drop_constraint(batch_op.f('fk_benefit_records_lot_id_lots'), type_='foreignkey')
        batch_op.drop_column('lot_id')
    with op.batch_alter_table('lots', schema=None) as batch_op:
        batch_op.drop_constraint('purchase_from_household', type_='check')
        batch_op.drop_column('purchase_price_fen')
