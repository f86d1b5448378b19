"""What a booking's QR code holds (the image is `shop.qr`)."""

from __future__ import annotations


def checkin_text(booking) -> str:
    """What the QR code holds: `<booking code>:<confirmation code>`."""
    return f"{booking.code}:{booking.confirmation_code}"
