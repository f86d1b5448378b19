"""The unified social credit code (统一社会信用代码, GB 32100-2015): 18 characters from a 31-character
alphabet (digits and capitals without I, O, Z, S, V); the 18th is a check character over the first 17.

Check: sum of value(c_i) * W_i for i = 1..17 with W_i = 3^(i-1) mod 31, then C18 = 31 - (sum mod 31),
written as the character of that value (31 becomes 0). As 31 is prime and no weight is 0 mod 31,
changing any single character to any other character of the alphabet changes the sum mod 31, so
every single-character corruption is refused (tests/institutions/test_credit_code.py proves it).
"""

from __future__ import annotations

from shop.args import half_width

ALPHABET = "0123456789ABCDEFGHJKLMNPQRTUWXY"
VALUE = {c: i for i, c in enumerate(ALPHABET)}
WEIGHTS = tuple(pow(3, i, 31) for i in range(17))  # 1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28
LENGTH = 18


def normalise(code: str) -> str:
    """Spaces dropped, full-width characters made ASCII (a Chinese input method in full-width mode), letters
    upper-cased (how people type it from a licence)."""
    return "".join(half_width(code or "").split()).upper()


def check_character(first17: str) -> str:
    """The check character of the first 17 characters (all from the alphabet)."""
    total = sum(VALUE[c] * w for c, w in zip(first17, WEIGHTS, strict=True))
    return ALPHABET[(31 - total % 31) % 31]


def is_valid(code: str) -> bool:
    """True for an 18-character code of the alphabet whose check character is right (already normalised)."""
    if len(code) != LENGTH or any(c not in VALUE for c in code):
        return False
    return check_character(code[:17]) == code[17]
