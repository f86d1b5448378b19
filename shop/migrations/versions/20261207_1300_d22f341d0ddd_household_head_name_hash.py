"""Households: head_name_hash, the keyed hash the registry's search by name compares

The head's name stays encrypted (Fernet, `shop.personal_data.EncryptedString`); the county office finds a
household by its exact name through a keyed hash of it, as it finds one by its registry number
(`registry_no_hash`). Existing rows get theirs here: each name is decrypted and hashed with the household
data key of the running app (`HOUSEHOLD_DATA_KEY`, else derived from `SECRET_KEY`), then the column becomes
NOT NULL and indexed (not unique: names repeat).

The key derivation, the decryption and the hash are written here as they are at this revision
(`shop.personal_data._key_material`, `_fernet_for`, `lookup_hash` of 2026-12-07), on purpose: a migration does
not import application code, which may change after it. A name that cannot be decrypted (a database moved
under another key) gets the hash of an empty name, which no search matches: the registry shows such a name as
undecryptable anyway, and editing the household gives it its hash.

Revision ID: d22f341d0ddd
Revises: e4b8a1f3c602
Create Date: 2026-12-07 13:00:00
"""
import base64
import hashlib
import hmac

import sqlalchemy as sa
from alembic import op
from flask import current_app

revision = "d22f341d0ddd"
down_revision = "e4b8a1f3c602"
branch_labels = None
depends_on = None


def _key_material() -> bytes:
    key = current_app.config.get("HOUSEHOLD_DATA_KEY") or ""
    if key:
        return key.encode()
    return hashlib.sha256(b"household-data:" + current_app.config["SECRET_KEY"].encode()).digest()


def _decrypt(material: bytes, token: str | None) -> str:
    from cryptography.fernet import Fernet, InvalidToken

    if not token:
        return ""
    key = material if len(material) == 44 else base64.urlsafe_b64encode(hashlib.sha256(material).digest())
    try:
        return Fernet(key).decrypt(token.encode()).decode()
    except (InvalidToken, ValueError):
        return ""


def _hash(material: bytes, value: str) -> str:
    normal = "".join(str(value).split()).upper()
    return hmac.new(material, normal.encode(), hashlib.sha256).hexdigest()


def upgrade():
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.add_column(sa.Column("head_name_hash", sa.String(length=64), nullable=True))
    bind = op.get_bind()
    rows = bind.execute(sa.text("SELECT id, head_name FROM households ORDER BY id")).all()
    if rows:
        material = _key_material()
        bind.execute(
            sa.text("UPDATE households SET head_name_hash = :h WHERE id = :i"),
            [{"i": household_id, "h": _hash(material, _decrypt(material, name))} for household_id, name in rows],
        )
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.alter_column("head_name_hash", existing_type=sa.String(length=64), nullable=False)
        batch_op.create_index(batch_op.f("ix_households_head_name_hash"), ["head_name_hash"], unique=False)


def downgrade():
    with op.batch_alter_table("households", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_households_head_name_hash"))
        batch_op.drop_column("head_name_hash")
