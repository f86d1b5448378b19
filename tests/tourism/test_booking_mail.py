"""The booking confirmation e-mail: in the guest's language, with the confirmation code and the
check-in QR code attached (issue #7: "a confirmation code and a QR code ... in the e-mail")."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes, policy

import shop.mail
from shop.db import commit
from shop.qr import qr_png
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.tourism.factories import make_booking, make_listing


def _sent(monkeypatch) -> list:
    """Messages as SMTP would get them (build_message with every argument deliver was given)."""
    out: list = []
    monkeypatch.setattr(
        shop.mail,
        "deliver",
        lambda to, subject, body, key=None, attachments=(): out.append(
            shop.mail.build_message(to, subject, body, key=key, attachments=attachments)
        ),
    )
    return out


def _booking(locale: str | None):
    guest = make_user(email=f"guest-{locale}@test.cn")
    guest.locale = locale
    day = local_date(now_utc()) + timedelta(days=5)
    booking = make_booking(
        make_listing(name="罗渡农家乐"),
        user=guest,
        check_in=day,
        check_out=day + timedelta(days=2),
        guests=2,
        confirmation_code="482913",
    )
    commit()
    return booking, day


def test_the_confirmation_mail_carries_the_code_the_stay_and_the_qr_code(db, monkeypatch):
    from tourism.tasks import send_booking_mail

    sent = _sent(monkeypatch)
    booking, day = _booking(None)
    assert send_booking_mail.apply(args=[booking.id]).successful()
    [msg] = sent
    msg = message_from_bytes(msg.as_bytes(), policy=policy.default)  # what the recipient parses
    assert msg["To"] == "guest-None@test.cn" and booking.code in msg["Subject"] and "罗渡农家乐" in msg["Subject"]
    text = next(p for p in msg.walk() if p.get_content_type() == "text/plain").get_payload(decode=True).decode()
    assert "您的预订已确认" in text and "482913" in text and day.isoformat() in text
    assert (day + timedelta(days=2)).isoformat() in text and "2 晚" in text
    [png] = [p for p in msg.walk() if p.get_content_type() == "image/png"]
    assert png.get_filename() == f"{booking.code}-qr.png"
    assert png.get_payload(decode=True) == qr_png(f"{booking.code}:482913")  # the code the host checks in


def test_the_confirmation_mail_follows_the_guests_language(db, monkeypatch):
    from tourism.tasks import send_booking_mail

    sent = _sent(monkeypatch)
    booking, _day = _booking("en")
    assert send_booking_mail.apply(args=[booking.id]).successful()
    [msg] = sent
    assert msg["Subject"].startswith("Booking confirmed")
    text = msg.get_body(("plain",)).get_content()
    assert "Your booking is confirmed." in text and "482913" in text and "您的预订" not in text
    assert " (2 nights)" in text and not any(mark in text for mark in "（），：")  # no Chinese punctuation


def test_the_qr_code_is_a_png_of_whole_modules_with_a_white_quiet_zone():
    """qr_png: a black-and-white PNG, BOX pixels per module, BORDER modules of white around, and a
    longer text needs a larger code (the code holds the text, not a fixed picture)."""
    import io

    from PIL import Image

    from shop.qr import BORDER, BOX

    sizes = []
    for text in ("UYYSNHWL-S-1:482913", "A" * 60 + ":000001"):
        image = Image.open(io.BytesIO(qr_png(text))).convert("L")
        width, height = image.size
        assert width == height and width % BOX == 0
        modules = width // BOX
        assert (modules - 2 * BORDER - 17) % 4 == 0  # a QR version's side is 17 + 4 v modules
        quiet = BORDER * BOX
        for x in range(width):
            for y in list(range(quiet)) + list(range(height - quiet, height)):
                assert image.getpixel((x, y)) == 255 and image.getpixel((y, x)) == 255
        assert image.getpixel((quiet, quiet)) == 0  # the finder pattern's dark corner
        sizes.append(width)
    assert sizes[0] < sizes[1]


def test_the_booking_mails_read_as_render_template_renders_them(db):
    """The booking mails are rendered without the pages' context processors (shop.mail.render_mail):
    the same text as Flask's render_template gives, in both languages and for both mails."""
    from flask import render_template
    from flask_babel import force_locale

    from shop.mail import render_mail

    booking, _day = _booking("en")
    for locale in ("zh_CN", "en"):
        with force_locale(locale):
            for template, context in (
                ("emails/booking_confirmation.txt", {"booking": booking}),
                ("emails/booking_canceled.txt", {"booking": booking, "why": "no_show"}),
                ("emails/booking_canceled.txt", {"booking": booking, "why": "host"}),
            ):
                assert render_mail(template, **context) == render_template(template, **context)
