"""The booking's QR code (booking code and confirmation code), drawn here: no external service.

The host's check-in scans or types the same text the booking page and the confirmation e-mail show.
"""
from __future__ import annotations

import base64
import io


def checkin_text(booking) -> str:
    """What the QR code holds: `<booking code>:<confirmation code>`."""
    return f"{booking.code}:{booking.confirmation_code}"


BOX = 6  # pixels per module
BORDER = 2  # modules of quiet zone


def qr_png(text: str) -> bytes:
    """A PNG QR code of `text`, drawn as qrcode's own PIL image would be (tests compare the pixels)
    but as one pixel per module scaled up, instead of a rectangle per dark module (1.3 -> 0.9 ms;
    every booking mail draws one in the Celery worker). The mask pattern is fixed: choosing the best
    of the eight (qrcode's default) triples the cost for a short code that scans either way."""
    import qrcode
    from PIL import Image

    code = qrcode.QRCode(box_size=BOX, border=BORDER, mask_pattern=0)
    code.add_data(text)
    code.make(fit=True)
    matrix = code.get_matrix()  # with the quiet zone
    size = len(matrix)
    modules = Image.frombytes("L", (size, size), bytes(0 if dark else 255 for row in matrix for dark in row))
    img = modules.convert("1").resize((size * BOX, size * BOX), Image.NEAREST)
    buf = io.BytesIO()
    img.save(buf, format="PNG")
    return buf.getvalue()


def qr_data_uri(text: str) -> str:
    """The PNG as a data: URI, for a page."""
    return "data:image/png;base64," + base64.b64encode(qr_png(text)).decode()
