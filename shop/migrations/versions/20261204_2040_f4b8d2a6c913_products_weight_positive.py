"""products: a weight of 0 g is refused by the database too (check weight_g > 0)

The operator's form, the station service and POST /api/v1/products take a whole number of grams from
1 to 1,000,000 (stations.services.assisted); the check on products (variants are products rows) still
allowed 0. Nothing derives a product's weight: the operator states it and the shipping charge is worked
out from it. So a stored 0 g is not guessed here (500 g, the form's default, would charge a buyer for
a weight nobody stated): the upgrade stops, naming the products, and leaves the database unchanged
until their station or an admin sets their weights, e.g.
    UPDATE products SET weight_g = <grams> WHERE id = <id>;
Then run the upgrade again.

Revision ID: f4b8d2a6c913
Revises: c2ac613a9a5a
Create Date: 2026-12-04 20:40:00

"""
from alembic import op
import sqlalchemy as sa


revision = 'f4b8d2a6c913'
down_revision = 'c2ac613a9a5a'
branch_labels = None
depends_on = None

SHOWN = 20  # product ids named in the message


def upgrade():
    rows = op.get_bind().execute(sa.text("SELECT id, name FROM products WHERE weight_g <= 0 ORDER BY id")).all()
    if rows:
        named = ", ".join(f"{id_} ({name})" for id_, name in rows[:SHOWN])
        more = f" and {len(rows) - SHOWN} more" if len(rows) > SHOWN else ""
        raise RuntimeError(
            f"{len(rows)} product(s) weigh 0 g: {named}{more}. A product's weight cannot be derived (its station"
            " states it and shipping is charged by it): set each one's weight in grams (1 to 1000000), e.g."
            " UPDATE products SET weight_g = <grams> WHERE id = <id>; then run the upgrade again."
            " Nothing was changed."
        )
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_products_weight_non_negative'), type_='check')
        batch_op.create_check_constraint(op.f('ck_products_weight_positive'), 'weight_g > 0')


def downgrade():
    with op.batch_alter_table('products', schema=None) as batch_op:
        batch_op.drop_constraint(op.f('ck_products_weight_positive'), type_='check')
        batch_op.create_check_constraint(op.f('ck_products_weight_non_negative'), 'weight_g >= 0')
