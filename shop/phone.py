"""Chinese telephone numbers: the one check every form, service and the API use.

A buyer's or a household's number is a mobile number: 11 digits, `1[3-9]` then nine digits
(spaces, dashes and a leading +86 are tolerated and removed). A station may also give a landline:
an area code `0` + 2–3 digits, then a 7–8 digit number (`0791-85712345`).
"""

from __future__ import annotations

import re

from flask_babel import lazy_gettext as _l

MOBILE_RE = re.compile(r"^1[3-9]\d{9}$")
LANDLINE_RE = re.compile(r"^0\d{2,3}-?\d{7,8}$")

MOBILE_MESSAGE = _l("请填写正确的手机号（1 开头的 11 位数字）")


def normalise_phone(value: str | None) -> str:
    """'138 0013 8000' / '+86-13800138000' -> '13800138000'; a landline keeps one dash after its area code."""
    raw = (value or "").strip()
    compact = re.sub(r"[\s()（）]", "", raw)
    if compact.startswith("+86"):
        compact = compact[3:].lstrip("-")
    elif compact.startswith("0086"):
        compact = compact[4:].lstrip("-")
    digits = compact.replace("-", "")
    if MOBILE_RE.match(digits):
        return digits
    match = re.match(r"^(0\d{2,3})-?(\d{7,8})$", compact)
    if match:
        return f"{match[1]}-{match[2]}"
    return compact


def is_mobile(value: str | None) -> bool:
    return bool(MOBILE_RE.match(normalise_phone(value)))


def is_phone(value: str | None, *, landline: bool = False) -> bool:
    """A mobile number, or (with `landline=True`, for stations) a landline with its area code."""
    number = normalise_phone(value)
    return bool(MOBILE_RE.match(number) or (landline and LANDLINE_RE.match(number)))
