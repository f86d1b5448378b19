"""users.has_own_password: whether an account the admin created has its owner's password yet

An account the admin creates (新建账号) starts with a random password no one knows and a mailed set-up
link; the admin's 重新发送设置密码链接 is offered only while the owner has not set a password from it
(admin.services.users.resend_setup_link). Existing accounts are taken as having their own password,
except those the admin invited (audit_log 'user.create' with "invited": true) whose auth_version is
still 1: a password change or a deactivation bumps it, so such an account never set one. An invited
account that was deactivated and reactivated without setting a password counts as having one: its
owner gets a link from 忘记密码 on the sign-in page instead.

Revision ID: 9d4e7b1c2a58
Revises: f4b8d2a6c913
Create Date: 2026-12-05 01:40:00
"""
import json

import sqlalchemy as sa
from alembic import op

revision = "9d4e7b1c2a58"
down_revision = "f4b8d2a6c913"
branch_labels = None
depends_on = None


def _invited_ids(bind) -> list[int]:
    rows = bind.execute(
        sa.text("SELECT subject_id, detail FROM audit_log WHERE action = 'user.create' AND subject_type = 'users'")
    ).all()
    ids = []
    for subject_id, detail in rows:
        if isinstance(detail, str):  # SQLite hands JSON back as text
            detail = json.loads(detail or "{}")
        if isinstance(detail, dict) and detail.get("invited") is True:
            ids.append(int(subject_id))
    return ids


def upgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("has_own_password", sa.Boolean(), server_default=sa.true(), nullable=False))
    bind = op.get_bind()
    ids = _invited_ids(bind)
    for start in range(0, len(ids), 500):
        bind.execute(
            sa.text("UPDATE users SET has_own_password = false WHERE auth_version = 1 AND id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": ids[start : start + 500]},
        )


def downgrade():
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("has_own_password")
