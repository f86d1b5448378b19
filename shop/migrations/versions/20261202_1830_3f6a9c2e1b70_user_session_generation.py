"""users.session_generation: server-side session revocation

The session cookie names the user and this generation; logout and a password change bump it, so a
cookie copied before no longer signs anyone in. Existing accounts start at their auth_version, the
number their current session cookies carry, so nobody is signed out by the upgrade.

Revision ID: 3f6a9c2e1b70
Revises: 8c3f1a2b9d04
Create Date: 2026-12-02 18:30:00
"""
import sqlalchemy as sa
from alembic import op

revision = "3f6a9c2e1b70"
down_revision = "8c3f1a2b9d04"
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("session_generation", sa.Integer(), server_default="1", nullable=False))
    op.execute("UPDATE users SET session_generation = auth_version")


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("session_generation")
