"""Celery tasks of the tourism package: expire unpaid holds, complete stays, booking e-mail.

Each makes its effect once even if it runs twice (outbox re-publish, worker killed mid-task):
expiry and completion lock and re-check each booking (and the ledger credits a line once); the
confirmation e-mail is sent once per task id (`shop.mail.send_once`).
"""
from __future__ import annotations

from celery import shared_task
from flask import render_template
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from shop.db import commit
from shop.extensions import db
from shop.mail import RETRY_ON as MAIL_RETRY_ON
from shop.timeutil import now_utc


@shared_task(name="tourism.tasks.expire_holds")
def expire_holds() -> int:
    """Beat, every minute. Each hold is locked and re-checked, so overlapping runs expire it once."""
    from tourism.services.booking import expire_holds as expire

    count = expire(now_utc())
    commit()
    return count


@shared_task(name="tourism.tasks.complete_stays")
def complete_stays() -> int:
    """Beat, hourly: checked-in bookings past their check-out date -> completed, households credited."""
    from tourism.services.booking import complete_stays as complete

    count = complete(now_utc())
    commit()
    return count


@shared_task(name="tourism.tasks.send_booking_mail", bind=True, autoretry_for=MAIL_RETRY_ON, retry_backoff=True,
             max_retries=5)
def send_booking_mail(self, booking_id: int) -> None:
    """The confirmation e-mail with the confirmation code (shop.mail: SMTP, or the log by default)."""
    from shop.mail import send_once, task_mail_key
    from tourism.models import Booking
    from tourism.qr import checkin_text, qr_png

    booking = db.session.get(Booking, booking_id, options=[joinedload(Booking.user), joinedload(Booking.listing)])
    if booking is None or not booking.confirmation_code:
        return
    email = booking.user.email
    with force_locale(booking.user.locale or "zh_CN"):  # no request here: the guest's language
        subject = _("预订确认 %(code)s · %(name)s", code=booking.code, name=booking.listing.name)
        body = render_template("emails/booking_confirmation.txt", booking=booking)
    qr = (f"{booking.code}-qr.png", qr_png(checkin_text(booking)), "image/png")
    db.session.commit()  # end the read transaction before the mail's own short ones
    send_once(task_mail_key(self), email, subject, body, attachments=[qr])
