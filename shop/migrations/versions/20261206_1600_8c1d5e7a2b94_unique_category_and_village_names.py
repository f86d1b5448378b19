"""categories.name unique; villages (township_id, name) unique

The admin's services already refused a taken name (a station picks its product's category by name, and
households, products and stations pick their village by name within its township), but two admins adding
one name at the same moment both passed the look and both rows were written. The unique indexes make the
second one refused (admin.services.slugs). A database that already holds two rows of one name stops the
upgrade, naming them, and is left unchanged: rename one of each pair from the admin's pages (管理 → 分类 /
村庄), then run the upgrade again.

Revision ID: 8c1d5e7a2b94
Revises: 3f7a2c9e5b18
Create Date: 2026-12-06 16:00:00
"""
import sqlalchemy as sa
from alembic import op

revision = "8c1d5e7a2b94"
down_revision = "3f7a2c9e5b18"
branch_labels = None
depends_on = None

SHOWN = 20  # names shown in the message


def _refuse_duplicates() -> None:
    bind = op.get_bind()
    categories = bind.execute(
        sa.text("SELECT name FROM categories GROUP BY name HAVING count(*) > 1 ORDER BY name")
    ).scalars().all()
    villages = bind.execute(
        sa.text(
            "SELECT township_id, name FROM villages GROUP BY township_id, name HAVING count(*) > 1"
            " ORDER BY township_id, name"
        )
    ).all()
    named = [f"category {name}" for name in categories] + [
        f"village {name} (township {township_id})" for township_id, name in villages
    ]
    if named:
        more = f" and {len(named) - SHOWN} more" if len(named) > SHOWN else ""
        raise RuntimeError(
            f"{len(named)} name(s) are held by more than one row: {', '.join(named[:SHOWN])}{more}."
            " Rename one row of each from the admin's pages, then run the upgrade again. Nothing was changed."
        )


def upgrade():
    _refuse_duplicates()
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.create_unique_constraint(batch_op.f("uq_categories_name"), ["name"])
    with op.batch_alter_table("villages", schema=None) as batch_op:
        batch_op.create_unique_constraint("uq_villages_township_name", ["township_id", "name"])


def downgrade():
    with op.batch_alter_table("villages", schema=None) as batch_op:
        batch_op.drop_constraint("uq_villages_township_name", type_="unique")
    with op.batch_alter_table("categories", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_categories_name"), type_="unique")
