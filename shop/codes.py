"""Public codes: unambiguous alphabet, random, never sequential (STYLE.md B6)."""
from __future__ import annotations

import hmac
import secrets

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ3789"


def new_code(length: int = 8) -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(length))


def new_order_code() -> str:
    return new_code(8)


def new_secret(nbytes: int = 16) -> str:
    return secrets.token_urlsafe(nbytes)


def new_numeric_code(digits: int = 6) -> str:
    """Pick-up and check-in codes people read aloud at a counter."""
    return "".join(secrets.choice("0123456789") for _ in range(digits))


def same_secret(a: str | None, b: str | None) -> bool:
    return bool(a) and bool(b) and hmac.compare_digest(str(a), str(b))
