"""QR codes drawn here (the `qrcode` library, PIL images): no external service.

Used for the booking's check-in code and the order's pick-up code; the station or host scans
the code or types the digits shown beside it; and, as inline SVG (`qr_svg`), on the packing slip and
the parcel label: the order's code and each lot's trace page (`/trace/<code>`). Every product and
listing page draws one too (the share box's short link), so web workers load `qrcode` with the app.
"""

from __future__ import annotations

import base64
import io

import qrcode
from markupsafe import Markup
from qrcode.image.svg import SvgPathImage

BOX = 6  # pixels per module
BORDER = 2  # modules of quiet zone


def qr_png(text: str) -> bytes:
    """A PNG QR code of `text`, as qrcode's own PIL image saves it. The mask pattern is fixed: a short
    code scans with any of the eight, and choosing the best (qrcode's default) makes the code once for
    each of them first (figures in bench/README.md, "Figures behind rules in the code"). (Drawing the
    module matrix ourselves, scaled up, is faster but re-creates what qrcode's image does: not done,
    README "Contributing".)"""
    code = qrcode.QRCode(box_size=BOX, border=BORDER, mask_pattern=0)
    code.add_data(text)
    code.make(fit=True)
    buf = io.BytesIO()
    code.make_image().save(buf, format="PNG")
    return buf.getvalue()


def qr_data_uri(text: str) -> str:
    """The PNG as a data: URI, for a page."""
    return "data:image/png;base64," + base64.b64encode(qr_png(text)).decode()


def qr_svg(text: str) -> Markup:
    """An inline SVG QR code of `text` (a printed sheet: sharp at any size, no image request, nothing
    the page's CSP has to allow)."""
    image = qrcode.make(text, image_factory=SvgPathImage, box_size=10, border=2)
    return Markup(image.to_string(encoding="unicode"))
