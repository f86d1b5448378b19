"""users.email stored NFKC-normalised and lower-cased, as shop.auth.services.normalise_email gives it

Registration, login, API tokens and password resets now compare addresses in that one form. An
existing address that is not yet in it is rewritten, unless its normal form already belongs to
another account: the two are then the same address registered twice (full-width look-alikes), which
only a person can merge; the look-alike row is left as it is (nobody can sign in to it any more: a
login for either spelling finds the plain one) and named in the migration's output.

Revision ID: 9d2b7e4a0c15
Revises: 3f6a9c2e1b70
Create Date: 2026-12-02 18:50:00
"""
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "9d2b7e4a0c15"
down_revision = "3f6a9c2e1b70"
branch_labels = None
depends_on = None

users = sa.table("users", sa.column("id", sa.Integer), sa.column("email", sa.String))


def _normal(email: str) -> str:
    return unicodedata.normalize("NFKC", email or "").strip().lower()


def upgrade():
    conn = op.get_bind()
    rows = conn.execute(sa.select(users.c.id, users.c.email)).all()
    taken = {email for _id, email in rows}
    for user_id, email in rows:
        normal = _normal(email)
        if normal == email:
            continue
        if normal in taken:
            print(f"users.id={user_id}: {email!r} is the same address as another account's {normal!r}; left as is")
            continue
        conn.execute(sa.update(users).where(users.c.id == user_id).values(email=normal))
        taken.discard(email)
        taken.add(normal)


def downgrade():
    pass  # the original spellings are not kept
