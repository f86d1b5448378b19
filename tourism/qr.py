"""What a booking's QR code holds (the image is `shop.qr`), and the mails' attachment of it."""

from __future__ import annotations

from shop.qr import qr_png


def checkin_text(booking) -> str:
    """What the QR code holds: `<booking code>:<confirmation code>`."""
    return f"{booking.code}:{booking.confirmation_code}"


def checkin_qr(booking) -> tuple[str, bytes, str]:
    """The QR code a mail attaches for a confirmed booking: (`<booking code>-qr.png`, PNG, "image/png"),
    the booking's own mail and the mail of the order it belongs to alike."""
    return f"{booking.code}-qr.png", qr_png(checkin_text(booking)), "image/png"
