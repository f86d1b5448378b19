"""Household personal data: encrypted at rest, masked everywhere it is shown.

Registry numbers, ID numbers and phones of poor households are stored with Fernet encryption
(`EncryptedString`), plus a keyed hash (`lookup_hash`) where we must find or de-duplicate by value.
Pages, API responses, exports and logs only ever see the `mask_*` forms; a county officer's
"reveal" decrypts one value and writes an audit entry (see county services).
"""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac

import sqlalchemy as sa
from flask import current_app

# cryptography is imported where a value is encrypted or decrypted (county pages, imports, exports),
# not with the models: its Rust extension and OpenSSL would otherwise be in every web worker
# (bench/README.md, "Web worker memory").


def _key_material() -> bytes:
    key = current_app.config.get("HOUSEHOLD_DATA_KEY") or ""
    if key:
        return key.encode()
    return hashlib.sha256(b"household-data:" + current_app.config["SECRET_KEY"].encode()).digest()


def _fernet():
    return _fernet_for(_key_material())


@functools.lru_cache(maxsize=4)
def _fernet_for(material: bytes):
    """One Fernet per key, built once (a bank file decrypts two values per line of the batch)."""
    # cryptography here, not at the top: see the comment under the imports
    from cryptography.fernet import Fernet

    if len(material) == 44:  # an actual Fernet key
        return Fernet(material)
    return Fernet(base64.urlsafe_b64encode(hashlib.sha256(material).digest()))


def lookup_hash(value: str) -> str:
    """Keyed hash for equality look-ups on an encrypted value (normalised: no spaces, upper)."""
    normal = "".join(str(value).split()).upper()
    return hmac.new(_key_material(), normal.encode(), hashlib.sha256).hexdigest()


class EncryptedString(sa.types.TypeDecorator):
    """A string column stored encrypted with the household data key."""

    impl = sa.Text
    cache_ok = True

    def process_bind_param(self, value, dialect):
        if value is None or value == "":
            return value
        return _fernet().encrypt(str(value).encode()).decode()

    def process_result_value(self, value, dialect):
        if value is None or value == "":
            return value
        from cryptography.fernet import InvalidToken  # lazily, as in _fernet_for

        try:
            return _fernet().decrypt(value.encode()).decode()
        except InvalidToken:
            return "<undecryptable>"


def mask_name(name: str | None) -> str:
    """张三丰 -> 张**; keeps the family name only."""
    if not name:
        return ""
    return name[0] + "*" * max(1, len(name) - 1)


def _mask_middle(value: str | None, keep_start: int, keep_end: int) -> str:
    if not value:
        return ""
    value = str(value)
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_phone(phone: str | None) -> str:
    """13800138000 -> 138****8000."""
    return _mask_middle(phone, 3, 4)


def mask_registry_no(number: str | None) -> str:
    return _mask_middle(number, 4, 2)


def mask_id_number(number: str | None) -> str:
    return _mask_middle(number, 3, 2)


def mask_account_no(number: str | None) -> str:
    """6217 0000 1234 5678 -> **** 5678: the last four digits only, behind four stars whatever the length
    (as banking apps show a card). One star per hidden digit made a 19-digit card a 19-character word that
    pushed the amount and status columns of the county's tables off a phone's screen, and told the length."""
    digits = "".join(str(number or "").split())
    if len(digits) <= 4:
        return "*" * len(digits)
    return f"**** {digits[-4:]}"
