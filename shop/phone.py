"""Chinese telephone numbers: the one check every form, service and the API use.

A buyer's or a household's number is a mobile number: 11 digits, `1[3-9]` then nine digits
(spaces, dashes and a leading +86 are tolerated and removed; full-width digits and signs, which a
Chinese input method types, are read as their ASCII forms). A station may also give a landline:
an area code `0` + 2–3 digits, then a 7–8 digit number (`0791-85712345`).
"""

from __future__ import annotations

import re
import unicodedata

from flask_babel import lazy_gettext as _l

MOBILE_RE = re.compile(r"^1[3-9][0-9]{9}$")
LANDLINE_RE = re.compile(r"^0[0-9]{2,3}-?[0-9]{7,8}$")

MOBILE_MESSAGE = _l("请填写正确的手机号（1 开头的 11 位数字）")


def normalise_phone(value: str | None) -> str:
    """'138 0013 8000' / '+86-13800138000' / '１３８ ００１３ ８０００' -> '13800138000'; a landline keeps one
    dash after its area code. NFKC folds full-width digits, '＋' and '－' (and the ideographic space) into
    ASCII; digits of other scripts stay as typed, so the ASCII-only patterns refuse them."""
    raw = unicodedata.normalize("NFKC", value or "").strip()
    compact = re.sub(r"[\s()（）]", "", raw)
    if compact.startswith("+86"):
        compact = compact[3:].lstrip("-")
    elif compact.startswith("0086"):
        compact = compact[4:].lstrip("-")
    digits = compact.replace("-", "")
    if MOBILE_RE.match(digits):
        return digits
    match = re.match(r"^(0[0-9]{2,3})-?([0-9]{7,8})$", compact)
    if match:
        return f"{match[1]}-{match[2]}"
    return compact


def is_mobile(value: str | None) -> bool:
    return bool(MOBILE_RE.match(normalise_phone(value)))


def is_phone(value: str | None, *, landline: bool = False) -> bool:
    """A mobile number, or (with `landline=True`, for stations) a landline with its area code."""
    number = normalise_phone(value)
    return bool(MOBILE_RE.match(number) or (landline and LANDLINE_RE.match(number)))
