"""Celery tasks of the tourism package: expire unpaid holds, complete stays, booking e-mail, the host's mail of
each booking confirmed or canceled, the hosts' daily reminder of bookings whose arrival day passed while still
confirmed.

Each makes its effect once even if it runs twice (outbox re-publish, worker killed mid-task):
expiry and completion lock and re-check each booking (and the ledger credits a line once); the
confirmation e-mail is sent once per task id (`shop.mail.send_once`), also when it runs in a batch
(`send_booking_mails`, `shop.mail.send_many`), and so is the host's mail of a booking confirmed or canceled
(`send_host_booking_mail`); the reminder once per host and day (its key, `overdue_mail_key`).
"""

from __future__ import annotations

import sqlalchemy as sa
from celery import shared_task
from flask_babel import gettext as _
from flask_babel import ngettext
from sqlalchemy.orm import joinedload

from shop.auth.models import User
from shop.celery import enqueue_after_commit
from shop.db import commit
from shop.extensions import db
from shop.mail import RETRY_ON as MAIL_RETRY_ON
from shop.mail import in_language_of, render_mail, send_batch, send_once, task_mail_key
from shop.outbox import batch_runner
from shop.timeutil import local_date, now_utc
from shop.urls import external_url
from tourism.models import Booking, BookingStatus, Listing
from tourism.qr import checkin_qr
from tourism.services.booking import HOST_MAIL_CANCELED, HOST_MAIL_CONFIRMED, LATE_CHECK_IN_DAYS
from tourism.services.booking import complete_stays as complete
from tourism.services.booking import expire_holds as expire
from tourism.services.host import overdue_arrivals
from tourism.services.overdue import hosts_with_overdue_arrivals, overdue_actions


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
    """The guest's one mail of the host's cancellation or no-show (its order, canceled with it, sends none):
    the booking as the order mails read it (`emails/booking_details.txt`) and its order's link."""
    if not booking.user.email:
        return None
    order_url = external_url("orders.order_detail", code=booking.order.code) if booking.order_id else ""
    with in_language_of(booking.user):
        subject = _("预订已被接待户取消 %(code)s · %(name)s", code=booking.code, name=booking.listing.name)
        body = render_mail("emails/booking_canceled.txt", booking=booking, why=why, order_url=order_url)
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
    with in_language_of(booking.user):  # no request here: the guest's language
        subject = _("预订确认 %(code)s · %(name)s", code=booking.code, name=booking.listing.name)
        body = render_mail("emails/booking_confirmation.txt", booking=booking)
    return booking.user.email, subject, body, [checkin_qr(booking)]


@shared_task(
    name="tourism.tasks.send_host_booking_mail",
    bind=True,
    autoretry_for=MAIL_RETRY_ON,
    retry_backoff=True,
    max_retries=5,
)
def send_host_booking_mail(self, booking_id: int, event: str) -> bool:
    """Tell the listing's host of a booking of theirs (`event`: "confirmed", a booking to prepare for; "canceled",
    its guest, or the shop, called it off), in the host's language, once per task id (`send_once`, as the guest's booking
    mail: the service queues it only in the step that makes the change). A booking no longer confirmed when
    the mail goes (canceled meanwhile: its own mail tells) gets no confirmation mail. Returns whether a mail
    was sent."""
    booking = _bookings_for_host_mail(booking_id)
    mail = _host_booking_mail(booking, event) if booking is not None else None
    db.session.commit()  # end the read transaction before the mail's own short ones
    if mail is None:
        return False
    return send_once(task_mail_key(self), *mail)


def _bookings_for_host_mail(booking_id: int):
    """The booking with its listing and host, guest, room type and session: one statement."""
    return db.session.scalar(
        sa.select(Booking)
        .where(Booking.id == booking_id)
        .options(
            joinedload(Booking.listing).joinedload(Listing.host),
            joinedload(Booking.user),
            joinedload(Booking.unit_type),
            joinedload(Booking.session),
        )
    )


def _host_booking_mail(booking, event: str):
    """(address, subject, text) of the host's mail of `event`, or None (no host address, an account closed, a
    confirmation overtaken by a cancellation). What the host's desk shows of the booking and no more: its
    number, the guest's name as the desk shows it, what, when, how many, the cash to take on arrival."""
    host = booking.listing.host
    if host is None or not host.email or not host.is_active_account:
        return None
    if event == HOST_MAIL_CONFIRMED and booking.status not in (BookingStatus.CONFIRMED, BookingStatus.CHECKED_IN):
        return None
    with in_language_of(host):  # no request here: the host's language
        if event == HOST_MAIL_CANCELED:
            subject = _("预订已取消 %(code)s · %(name)s", code=booking.code, name=booking.listing.name)
        else:
            subject = _("新预订 %(code)s · %(name)s", code=booking.code, name=booking.listing.name)
        body = render_mail(
            "emails/booking_host.txt",
            host=host,
            booking=booking,
            canceled=event == HOST_MAIL_CANCELED,
            desk_url=external_url("tourism.host_home"),
        )
    return host.email, subject, body


@shared_task(name="tourism.tasks.remind_overdue_arrivals")
def remind_overdue_arrivals() -> int:
    """Beat, daily: queue one mail to each host with bookings whose arrival day passed while still confirmed
    (`tourism.services.overdue.hosts_with_overdue_arrivals`); returns how many hosts. Nothing is marked: 标记未到店
    moves money, the host decides. The mail is keyed on the host and the day, so a second run the same day (or a
    redelivered message) sends nothing more."""
    now = now_utc()
    day = local_date(now).isoformat()
    hosts = hosts_with_overdue_arrivals(now=now)
    for host_id in hosts:
        enqueue_after_commit("tourism.tasks.send_overdue_arrivals_mail", host_id, day)
    commit()
    return len(hosts)


def overdue_mail_key(host_id: int, day: str) -> str:
    """The dedupe key of a host's overdue-arrivals mail of one day (Beijing time): one mail per host per day."""
    return f"overdue-arrivals:{host_id}:{day}"


@shared_task(
    name="tourism.tasks.send_overdue_arrivals_mail",
    bind=True,
    autoretry_for=MAIL_RETRY_ON,
    retry_backoff=True,
    max_retries=5,
)
def send_overdue_arrivals_mail(self, host_id: int, day: str) -> bool:
    """Mail the host the bookings of its own listings whose arrival day passed while still confirmed, each with
    what it may do now and a link to the desk, in the host's language; once per host and `day` (`send_once`).
    Nothing to say (handled meanwhile): no mail. Returns whether a mail was sent."""
    host = db.session.get(User, host_id)
    mail = _overdue_mail(host, now=now_utc()) if host is not None and host.is_active_account else None
    db.session.commit()  # end the read transaction before the mail's own short ones
    if mail is None:
        return False
    return send_once(overdue_mail_key(host_id, day), *mail)


def _overdue_mail(host, *, now):
    overdue = overdue_arrivals(host, now=now)
    if not overdue.bookings or not host.email:
        return None
    with in_language_of(host):
        subject = ngettext(
            "待处理：%(num)s 个预订的到店日已过",
            "待处理：%(num)s 个预订的到店日已过",
            overdue.total,
        )
        body = render_mail(
            "emails/booking_overdue_arrivals.txt",
            host=host,
            overdue=overdue,
            actions={b.id: overdue_actions(b, now=now) for b in overdue.bookings},
            late_check_in_days=LATE_CHECK_IN_DAYS,
            desk_url=external_url("tourism.host_home") + "#overdue",
        )
    return host.email, subject, body
