"""Celery tasks of the tourism package: expire unpaid holds, complete stays, booking e-mail.

Each makes its effect once even if it runs twice (outbox re-publish, worker killed mid-task):
expiry and completion lock and re-check each booking (and the ledger credits a line once); the
confirmation e-mail is sent once per task id (`shop.mail.send_once`), also when it runs in a batch
(`send_booking_mails`, `shop.mail.send_many`).
"""

from __future__ import annotations

import sqlalchemy as sa
from celery import shared_task
from flask_babel import force_locale
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload

from shop.db import commit
from shop.extensions import db
from shop.mail import RETRY_ON as MAIL_RETRY_ON
from shop.mail import render_mail, send_batch, send_once, task_mail_key
from shop.outbox import batch_runner
from shop.qr import qr_png
from shop.timeutil import now_utc
from tourism.models import Booking
from tourism.qr import checkin_text
from tourism.services.booking import complete_stays as complete
from tourism.services.booking import expire_holds as expire


@shared_task(name="tourism.tasks.expire_holds")
def expire_holds() -> int:
    """Beat, every minute. Each hold is locked and re-checked, so overlapping runs expire it once."""
    count = expire(now_utc())
    commit()
    return count


@shared_task(name="tourism.tasks.complete_stays")
def complete_stays() -> int:
    """Beat, hourly: checked-in bookings past their check-out date -> completed, households credited."""
    count = complete(now_utc())
    commit()
    return count


@shared_task(
    name="tourism.tasks.send_booking_mail", bind=True, autoretry_for=MAIL_RETRY_ON, retry_backoff=True, max_retries=5
)
def send_booking_mail(self, booking_id: int) -> None:
    """The confirmation e-mail with the confirmation code and the check-in QR code (shop.mail:
    SMTP, or the log by default), once per task id."""
    booking = _bookings_for_mail([booking_id]).get(booking_id)
    mail = _booking_mail(booking) if booking is not None else None
    db.session.commit()  # end the read transaction before the mail's own short ones
    if mail is not None:
        to, subject, body, attachments = mail
        send_once(task_mail_key(self), to, subject, body, attachments=attachments)


@shared_task(
    name="tourism.tasks.send_booking_canceled_mail",
    bind=True,
    autoretry_for=MAIL_RETRY_ON,
    retry_backoff=True,
    max_retries=5,
)
def send_booking_canceled_mail(self, booking_id: int, why: str) -> None:
    """Tell the guest the host canceled the booking (`why`: "host", an unpaid booking the host
    released; "no_show", the guest did not come), in the guest's language, once per task id."""
    booking = _bookings_for_mail([booking_id]).get(booking_id)
    mail = _canceled_mail(booking, why) if booking is not None else None
    db.session.commit()  # end the read transaction before the mail's own short ones
    if mail is not None:
        send_once(task_mail_key(self), *mail)


def _canceled_mail(booking, why: str):
    if not booking.user.email:
        return None
    with force_locale(booking.user.locale or "zh_CN"):
        subject = _("预订已被接待户取消 %(code)s · %(name)s", code=booking.code, name=booking.listing.name)
        body = render_mail("emails/booking_canceled.txt", booking=booking, why=why)
    return booking.user.email, subject, body


@batch_runner(send_booking_mail)
def send_booking_mails(items: list[tuple]) -> list[tuple]:
    """Many `send_booking_mail` messages at once (`shop.outbox.run_batch`): the bookings in one
    statement, the mail keys claimed and marked in one each. Returns the items to retry alone."""
    return send_batch(send_booking_mail, items, _bookings_for_mail, _booking_mail)


def _bookings_for_mail(booking_ids) -> dict:
    """{id: booking} with its guest and listing, in one statement whatever the number of bookings."""
    bookings = db.session.scalars(
        sa.select(Booking)
        .where(Booking.id.in_(sorted(booking_ids)))
        .options(joinedload(Booking.user), joinedload(Booking.listing))
    ).unique()
    return {booking.id: booking for booking in bookings}


def _booking_mail(booking):
    """(address, subject, text, [QR attachment]) of the confirmation in the guest's language; None
    for a booking without a confirmation code (not confirmed)."""
    if not booking.confirmation_code or not booking.user.email:
        return None
    with force_locale(booking.user.locale or "zh_CN"):  # no request here: the guest's language
        subject = _("预订确认 %(code)s · %(name)s", code=booking.code, name=booking.listing.name)
        body = render_mail("emails/booking_confirmation.txt", booking=booking)
    qr = (f"{booking.code}-qr.png", qr_png(checkin_text(booking)), "image/png")
    return booking.user.email, subject, body, [qr]
