"""Public codes: unambiguous alphabet, random, never sequential (docs/ARCHITECTURE.md, "Public codes")."""

from __future__ import annotations

import hmac
import re
import secrets
import unicodedata

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ3789"


def _random_string(alphabet: str, length: int) -> str:
    """`length` characters drawn uniformly from `alphabet` with the OS CSPRNG, like `secrets.choice`
    per character, but from one `token_bytes` call: bytes at or above the largest multiple of the
    alphabet's size are rejected, so `byte % size` is uniform. (secrets.choice reads the OS random
    source once per character; a checkout draws about fifteen, a booking about thirty.)"""
    size = len(alphabet)
    limit = 256 - 256 % size
    out = ""
    while len(out) < length:
        out += "".join([alphabet[b % size] for b in secrets.token_bytes(length + 4) if b < limit])
    return out[:length]


def new_code(length: int = 8) -> str:
    return _random_string(CODE_ALPHABET, length)


def new_order_code() -> str:
    return new_code(8)


def new_secret(nbytes: int = 16) -> str:
    return secrets.token_urlsafe(nbytes)


def new_numeric_code(digits: int = 6) -> str:
    """Pick-up and check-in codes people read aloud at a counter."""
    return _random_string("0123456789", digits)


def same_secret(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))


def typed_number(text: str | None) -> str:
    """A number as a person typed or pasted it (a household's registry number, a bank account): full-width
    characters (a Chinese input method) made ASCII and whitespace dropped, letters left as typed."""
    return "".join(unicodedata.normalize("NFKC", text or "").split())


def typed_code(text: str | None) -> str:
    """A public code (an order's, a shipment's `<order>-<n>`, a payment's, a booking's `<order>-S-<n>`, a
    lot's) as a person typed or pasted it, in the form it was issued: full-width characters (a Chinese
    input method) made ASCII, whitespace dropped (around it, or where a copy broke a line) and letters
    made upper-case. Codes are issued upper-case (`CODE_ALPHABET`, digits, `-`), so no two issued codes
    become equal; every lookup of such a code by what a person sent (a URL, a form, the API) goes
    through here, then compares exactly (the unique index serves it)."""
    return typed_number(text).upper()


def typed_numeric_code(text: str | None) -> str:
    """A pick-up or check-in code as typed at a counter, in the form it was issued: full-width digits
    (a Chinese input method) made ASCII, and spaces or dashes between groups ("600 941") dropped."""
    return re.sub(r"[\s\-]", "", unicodedata.normalize("NFKC", text or ""))
