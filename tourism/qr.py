"""What a booking's QR code holds (the image is `shop.qr`), and the mails' attachment of it."""

from __future__ import annotations

import unicodedata

from shop.codes import typed_code, typed_numeric_code
from shop.qr import qr_png

#: The longest text the host's 确认码 field takes: a code typed by hand, or the whole text of the guest's
#: QR code (`checkin_text`: a booking code of up to 16 characters, a colon and the code) that a scanner types
#: or a phone's scanner pastes.
MAX_CHECKIN_TEXT = 40


def checkin_text(booking) -> str:
    """What the QR code holds: `<booking code>:<confirmation code>`."""
    return f"{booking.code}:{booking.confirmation_code}"


def read_checkin_text(text: str | None) -> tuple[str | None, str]:
    """What the host's desk was given as the guest's code, read: the text of the guest's QR code
    (`checkin_text`) as (its booking code, its confirmation code); a code typed by hand as (None, the code).
    Both in the form they were issued (`shop.codes.typed_code`, `typed_numeric_code`: full-width made ASCII,
    spaces and dashes between groups of digits dropped)."""
    booking_code, colon, code = unicodedata.normalize("NFKC", text or "").rpartition(":")
    if not colon:
        return None, typed_numeric_code(text)
    return typed_code(booking_code) or None, typed_numeric_code(code)


def checkin_qr(booking) -> tuple[str, bytes, str]:
    """The QR code a mail attaches for a confirmed booking: (`<booking code>-qr.png`, PNG, "image/png"),
    the booking's own mail and the mail of the order it belongs to alike."""
    return f"{booking.code}-qr.png", qr_png(checkin_text(booking)), "image/png"
