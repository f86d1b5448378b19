"""Money is integer fen (分) of CNY. This module is the only place that converts it."""

from __future__ import annotations

import re
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from shop.args import half_width

MAX_FEN = 10**12  # ¥10 billion: above anything real, below BIGINT


class MoneyError(ValueError):
    """A user-typed amount that is not a valid yuan amount."""


class NegativeAmount(MoneyError):
    """A well-formed amount below zero ('-5'): a form may say so rather than 'not an amount'."""


class AmountTooLarge(MoneyError):
    """A well-formed amount above MAX_FEN: a form may say its own limit rather than 'not an amount'."""


class TooManyDecimals(MoneyError):
    """A well-formed amount with fractions of a fen ('12.555'): a form may say "at most two decimals"."""


#: a comma is read only as a thousands separator: 1,200 or 12,345,678.90
_THOUSANDS = re.compile(r"[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?")
#: what a person types for an amount once commas are gone: ASCII digits with an optional decimal part; not
#: Python's number syntax ('1e3' or '1_000', which Decimal reads as 1000), not a sign, not another script's
#: digits (Decimal reads '٣' and '३' as 3)
_AMOUNT = re.compile(r"[0-9]+(\.[0-9]*)?|\.[0-9]+")


def parse_yuan(text: str | int | Decimal) -> int:
    """'12.5' -> 1250, '1,200' -> 120000. Rejects more than two decimals (TooManyDecimals), negatives
    (NegativeAmount), absurd amounts (AmountTooLarge), a comma that does not separate thousands ('12,5' is not
    125 yuan: a decimal comma typed by habit), Python's number syntax ('1e3', '1_000': not what a person
    means by a price) and digits other than ASCII ('٣'); full-width ones, as a Chinese input method types
    them ('１２．５', '￥８'), are read as ASCII (`shop.args.half_width`)."""
    cleaned = half_width(str(text)).strip().replace("¥", "")
    # a minus before an otherwise good amount ('-12.5', '-¥12.5') is said as below zero, after the checks
    # of form: '-abc' is still not an amount
    negative = cleaned.startswith("-")
    if negative:
        cleaned = cleaned[1:].strip()
    if "," in cleaned and not _THOUSANDS.fullmatch(cleaned):
        raise MoneyError(f"not an amount: {text!r}")
    if not _AMOUNT.fullmatch(cleaned.replace(",", "")):
        raise MoneyError(f"not an amount: {text!r}")
    try:
        value = Decimal(cleaned.replace(",", ""))
    except (InvalidOperation, ValueError) as exc:
        raise MoneyError(f"not an amount: {text!r}") from exc
    if not value.is_finite():
        raise MoneyError(f"not an amount: {text!r}")
    if negative:
        raise NegativeAmount(f"below zero: {text!r}")
    if value * 100 > MAX_FEN:  # before quantizing: a huge amount to fen can exceed Decimal's precision
        raise AmountTooLarge("amount out of range")
    if value != value.quantize(Decimal("0.01")):
        raise TooManyDecimals("at most two decimals")
    return int(value * 100)


def format_yuan(fen: int | None) -> str:
    """1250 -> '¥12.50'; -1250 -> '-¥12.50'."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}¥{fen // 100:,}.{fen % 100:02d}"


def format_yuan_brief(fen: int | None) -> str:
    """Where space is short (a day's cell of a month calendar, 51 px on a phone): a whole-yuan amount
    without its '.00', 128800 -> '¥1,288'; an amount with fen as `format_yuan`, 16850 -> '¥168.50'.
    ('¥1,288.00' ran into the next day's cell.)"""
    if fen is None:
        return ""
    text = format_yuan(fen)
    return text.removesuffix(".00")


def fen_to_decimal(fen: int) -> Decimal:
    """For exports: 1250 -> Decimal('12.50')."""
    return (Decimal(int(fen)) / 100).quantize(Decimal("0.01"))


def apply_bps(fen: int, bps: int) -> int:
    """`fen` × `bps`/10000, rounded half up (the one rounding rule for rates)."""
    exact = Decimal(int(fen)) * Decimal(int(bps)) / Decimal(10000)
    return int(exact.quantize(Decimal(1), rounding=ROUND_HALF_UP))


def scaled_fen(total: int, units: int, quantity: int) -> int:
    """round(total × units ÷ quantity), halves away from zero: the part of `total` that `units` of
    `quantity` carry, cumulatively (the same units always give the same figure). The one rounding of a
    sum scaled by a count, as `apply_bps` is of a rate (the ledger's reversal of refunded units)."""
    if quantity <= 0:
        return 0
    sign = -1 if total < 0 else 1
    return sign * ((2 * abs(int(total)) * int(units) + int(quantity)) // (2 * int(quantity)))


def split_fen(total: int, weights: list[int]) -> list[int]:
    """Split `total` fen by integer `weights`, largest remainder: parts always sum to `total`.

    Each part differs from its exact share `total*w/sum(w)` by less than one fen. Ties in the
    remainder go to the earlier weight, so the result is deterministic. Works for negative totals
    (reversals) by splitting the absolute value.
    """
    if not weights:
        raise ValueError("no weights")
    if any(w < 0 for w in weights) or sum(weights) <= 0:
        raise ValueError("weights must be non-negative and not all zero")
    sign = -1 if total < 0 else 1
    amount = abs(int(total))
    weight_sum = sum(weights)
    floors = [amount * w // weight_sum for w in weights]
    remainders = [amount * w % weight_sum for w in weights]
    left = amount - sum(floors)
    order = sorted(range(len(weights)), key=lambda i: (-remainders[i], i))
    for i in order[:left]:
        floors[i] += 1
    return [sign * part for part in floors]
