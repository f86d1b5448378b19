"""product_changes: a new main photo of an approved product waits for the county too

Revision ID: d7a1e5c3b9f2
Revises: c4e8b2d6f1a3
Create Date: 2026-12-02 19:45:00
"""
import sqlalchemy as sa
from alembic import op

revision = "d7a1e5c3b9f2"
down_revision = "c4e8b2d6f1a3"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("product_changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("image_path", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("image_thumb_path", sa.String(length=255), nullable=True))
        batch_op.add_column(sa.Column("image_width", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("image_height", sa.Integer(), nullable=True))


def downgrade():
    with op.batch_alter_table("product_changes", schema=None) as batch_op:
        batch_op.drop_column("image_height")
        batch_op.drop_column("image_width")
        batch_op.drop_column("image_thumb_path")
        batch_op.drop_column("image_path")
