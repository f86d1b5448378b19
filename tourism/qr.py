"""The booking's QR code (booking code and confirmation code), drawn here: no external service.

The host's check-in scans or types the same text the booking page and the confirmation e-mail show.
"""
from __future__ import annotations

import base64
import io


def checkin_text(booking) -> str:
    """What the QR code holds: `<booking code>:<confirmation code>`."""
    return f"{booking.code}:{booking.confirmation_code}"


def qr_png(text: str) -> bytes:
    """A PNG QR code of `text`. The mask pattern is fixed: choosing the best of the eight (qrcode's
    default) triples the cost (1.6 -> 0.5 ms) for a short code that scans either way, and every
    booking mail draws one in the Celery worker."""
    import qrcode

    code = qrcode.QRCode(box_size=6, border=2, mask_pattern=0)
    code.add_data(text)
    code.make(fit=True)
    img = code.make_image()
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def qr_data_uri(text: str) -> str:
    """The PNG as a data: URI, for a page."""
    return "data:image/png;base64," + base64.b64encode(qr_png(text)).decode()
