"""Celery tasks of the orders package: ids in, lock + re-check in the service, commit here.

Each makes its effect once even if it runs twice (outbox re-publish, worker killed mid-task):
expiry locks and re-checks each order; a refund is sent only while `created`, under the provider
idempotency key `refund-<id>`; the order e-mail is sent once per task id (`shop.mail.send_once`), also
when it runs in a batch of order e-mails (`send_order_mails`, `shop.mail.send_many`).
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from celery import shared_task
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from sqlalchemy.orm import joinedload, selectinload

from orders.bookables import booking_mail_attachments, booking_shown_options
from orders.models import Order, OrderLine, OrderPayment, Refund, RefundRequest, RefundRequestStatus
from orders.providers import ProviderUnavailable
from orders.refund_messages import refunded_money_text
from orders.services import cart as cart_service
from orders.services import expiry, payments
from orders.services.common import REFUND_MAILS
from orders.services.expiry import expire_pending_orders
from orders.services.payments import cancel_provider_intent, refunds_to_retry
from orders.services.recalled import recalled_lots_of, recalled_units, settled_by_recall
from shop.db import commit, rollback
from shop.extensions import db
from shop.history import history_of
from shop.mail import RETRY_ON as MAIL_RETRY_ON
from shop.mail import in_language_of, render_mail, send_batch, send_once, task_mail_key
from shop.outbox import batch_runner
from shop.timeutil import now_utc
from shop.urls import external_url

log = logging.getLogger(__name__)

#: the subject of each kind of order mail, translated in the buyer's language when the mail is written
SUBJECTS = {
    "placed": _l("订单已提交"),
    "paid": _l("订单已支付"),
    "canceled": _l("订单已取消"),
    "booking_canceled": _l("订单中的预订已取消"),
    "line_canceled": _l("订单中有商品无法供货"),
    "expired": _l("订单已过期"),
    "uncollected": _l("订单未取货，已取消"),
    "refunded": _l("订单退款"),
    "refund_rejected": _l("退款申请未获同意"),
    "recall": _l("商品批次召回通知"),
    "recall_canceled": _l("商品批次召回，未付款订单已取消"),
    "recall_refunded": _l("商品批次召回，已为您取消并退款"),
}


@shared_task(name="orders.tasks.expire_orders")
def expire_orders() -> list[str]:
    """Beat task (every minute): expire unpaid card orders and release their stock."""
    codes = expire_pending_orders(now_utc())
    commit()
    return codes


@shared_task(name="orders.tasks.expire_uncollected_pickups")
def expire_uncollected_pickups() -> list[str]:
    """Beat task (hourly): cancel station-cash pick-up orders not collected in time; stock released."""
    codes = expiry.expire_uncollected_pickups(now_utc())
    commit()
    return codes


@shared_task(name="orders.tasks.forget_guest_carts")
def forget_guest_carts() -> int:
    """Beat task (daily): delete guest carts untouched for `cart.GUEST_CART_DAYS` days."""
    count = cart_service.forget_guest_carts(now=now_utc())
    commit()
    return count


@shared_task(name="orders.tasks.execute_refund", bind=True, max_retries=5)
def execute_refund(self, refund_id: int) -> None:
    """Send a recorded refund to the payment provider, under its idempotency key.

    Stripe unreachable or slow: the refund stays `created` and the task retries with backoff (10 s
    .. 5 min); in eager mode (no broker) it does not retry inline, which would hold the request.
    After the last retry `retry_refunds` (beat) sends it again later, always with the same key."""
    refund = db.session.get(Refund, refund_id)
    if refund is not None:
        _call_provider(
            self, payments.execute_refund, refund, what=f"refund {refund_id} not sent; left for the retry_refunds sweep"
        )


@shared_task(name="orders.tasks.cancel_intent", bind=True, max_retries=5)
def cancel_intent(self, payment_id: int) -> None:
    """Cancel at Stripe the PaymentIntent of a payment whose order was canceled (after commit)."""
    payment = db.session.get(OrderPayment, payment_id)
    if payment is not None:
        _call_provider(
            self, cancel_provider_intent, payment, what=f"PaymentIntent of payment {payment_id} not canceled"
        )


def _call_provider(task, service, obj, *, what: str) -> None:
    """Run a service that calls the payment provider, then commit. Provider unreachable: roll back and
    retry with backoff (10 s .. 5 min); in eager mode or after the last retry, log `what` and give up."""
    try:
        service(obj, now=now_utc())
    except ProviderUnavailable as exc:
        rollback()
        if task.request.is_eager or task.request.retries >= task.max_retries:
            log.warning("%s (%s)", what, exc)
            return
        raise task.retry(exc=exc, countdown=min(300, 10 * 2**task.request.retries)) from exc
    except Exception:
        rollback()
        raise
    commit()


@shared_task(name="orders.tasks.retry_refunds")
def retry_refunds() -> list[int]:
    """Beat task: card refunds still `created` (Stripe was down longer than the refund task's own
    retries) are handed to `execute_refund` again; the same idempotency key means one refund."""
    ids = refunds_to_retry(now_utc())
    db.session.commit()  # end the read transaction before the provider calls
    for refund_id in ids:
        execute_refund.delay(refund_id)
    return ids


@shared_task(
    name="orders.tasks.send_order_mail", bind=True, autoretry_for=MAIL_RETRY_ON, retry_backoff=True, max_retries=5
)
def send_order_mail(
    self, order_id: int, kind: str, line_id: int | None = None, note: str = "", settled: dict | None = None
) -> None:
    """Render an order e-mail and send it, once per task id (SMTP, or the log by default). `line_id`: the
    event is that line's alone (a line refunded or withdrawn, a booking canceled on its own), the mail is
    about it; `note`: why (a station's reason for withdrawing it); `settled`: the lines and refunds of a
    recall's one-step refund, or the refunds the step that canceled or refunded the whole order made
    (`orders.services.common.notify`): what the mail says was refunded."""
    order = _orders_for_mail([order_id]).get(order_id)
    mail = _order_mail(order, kind, line_id, note, settled) if order is not None else None
    db.session.commit()  # end the read transaction before the mail's own short ones
    if mail is not None:
        to, subject, body, attachments = mail
        send_once(task_mail_key(self), to, subject, body, attachments=attachments)


@batch_runner(send_order_mail)
def send_order_mails(items: list[tuple]) -> list[tuple]:
    """Many `send_order_mail` messages at once (`shop.outbox.run_batch`): the orders in three
    statements, the mail keys claimed and marked in one each. Returns the items to retry alone."""
    return send_batch(send_order_mail, items, _orders_for_mail, _order_mail)


def _orders_for_mail(order_ids) -> dict:
    """{id: order} with the buyer, the pick-up station, the lines (their bookings, with what the order
    pages show of them) and the shipments: everything a mail shows, in a fixed number of statements
    whatever the number of orders (the pick-up station was a lazy load per order of a pick-up batch)."""
    orders = db.session.scalars(
        sa.select(Order)
        .where(Order.id.in_(sorted(order_ids)))
        .options(
            joinedload(Order.user),
            joinedload(Order.pickup_station),
            selectinload(Order.lines).selectinload(OrderLine.booking).options(*booking_shown_options()),
            selectinload(Order.shipments),
        )
    ).unique()
    return {order.id: order for order in orders}


def _recalled_lines(user_id: int) -> list[dict]:
    """The buyer's order lines that took a recalled lot (#23), for the recall mail: every order of
    theirs, so one mail tells a buyer everything, with the units of the lot they still have
    (`orders.services.recalled.recalled_units`)."""
    return [
        {
            "title": r.title,
            "quantity": r.quantity,
            "order_code": r.order_code,
            "code": r.lot_code,
            "reason": r.reason,
            "url": external_url("trace.trace_page", code=r.lot_code),
        }
        for r in recalled_units(user_id=user_id)
    ]


def _last_rejected_request(order_id: int) -> dict | None:
    """The refund request of the order the station rejected last: its line's title and the station's note."""
    row = db.session.execute(
        sa.select(OrderLine.title, RefundRequest.decision_note)
        .join(OrderLine, OrderLine.id == RefundRequest.order_line_id)
        .where(RefundRequest.order_id == order_id, RefundRequest.status == RefundRequestStatus.REJECTED)
        .order_by(RefundRequest.decided_at.desc(), RefundRequest.id.desc())
        .limit(1)
    ).first()
    return None if row is None else {"title": row.title, "note": row.decision_note or ""}


def _refunded_fen(order_id: int, line_id: int | None, refund_ids: list | None) -> int:
    """What the mail says was refunded (0 when nothing paid went back): the last refund of the line the
    event is about; for an event of the whole order, what the refunds its step made gave back
    (`refund_ids`, `orders.services.common.notify`: a cancellation after a booking canceled alone tells
    of the cancellation's refunds, not the booking's again). None: a mail queued before its step named
    its refunds — every refund of the order, as such mails said."""
    query = (
        sa.select(Refund.amount_fen)
        .join(OrderPayment, OrderPayment.id == Refund.payment_id)
        .where(OrderPayment.order_id == order_id)
    )
    if line_id is not None:
        return db.session.scalar(query.where(Refund.order_line_id == line_id).order_by(Refund.id.desc()).limit(1)) or 0
    if refund_ids is not None:
        query = query.where(Refund.id.in_([int(i) for i in refund_ids]))
    return sum(db.session.scalars(query))


def _has_refund(order_id: int) -> bool:
    """Money of the order was given back (a `Refund` row of one of its payments), for a refund mail of the
    whole order queued before its step named its refunds (`_refunded_fen`): it then says how it comes back."""
    return bool(
        db.session.scalar(
            sa.select(
                sa.select(Refund.id)
                .join(OrderPayment, OrderPayment.id == Refund.payment_id)
                .where(OrderPayment.order_id == order_id)
                .exists()
            )
        )
    )


def _order_mail(
    order, kind: str, line_id: int | None = None, note: str = "", settled: dict | None = None
) -> tuple[str, str, str, list] | None:
    """(address, subject, text, attachments) of the `kind` e-mail of `order` in its buyer's language;
    None when the buyer has no address. Every order mail names the lines it is about — all of them, or
    the one line of `line_id` — goods with their quantity and bookings as `emails/order_booking.txt`
    reads them (docs/journeys.md), and ends with the order's link. The placed and paid mails are the one
    mail of an order with bookings for that event: they show each booking (what, when, how many) with its
    confirmation code once confirmed — or that it comes with the payment — and attach its check-in QR code;
    a cancellation's says what each booking's policy kept and refunded, and how the money comes back."""
    if order.user is None or not order.user.email:
        return None
    placed = kind == "placed"  # the confirmation shows no history
    attachments = booking_mail_attachments(order) if kind in ("placed", "paid") else []
    template = "emails/order_confirmation.txt" if placed else "emails/order_status.txt"
    recalled = _recalled_lines(order.user_id) if kind == "recall" else []
    rejected = _last_rejected_request(order.id) if kind == "refund_rejected" else None
    canceled_lots = (  # an unpaid order canceled for a recall: the lots and why, in its one mail
        [
            {"code": code, "reason": reason, "url": external_url("trace.trace_page", code=code)}
            for code, reason in recalled_lots_of(order.id)
        ]
        if kind == "recall_canceled"
        else []
    )
    # the mails that tell of refunds; and the paid mail of a payment that could not buy every booking of its
    # order (`payments._paid_whole`: several stays alone, one refused), which names its step's refunds
    refunds = kind in REFUND_MAILS or (kind == "paid" and settled is not None)
    # a recall's one-step refund (`note`: the lot's code): its lines of the order, what they gave back
    recall = settled_by_recall(order.id, note, settled or {}) if kind == "recall_refunded" else None
    if kind == "recall_refunded" and recall is None:
        return None  # nothing of the lot left to tell of (the mail was queued for lines settled since)
    step_refunds = None if settled is None else settled.get("refunds", [])  # the whole order's: its step's
    if recall is not None:
        refunded_fen = recall.refunded_fen
    else:
        refunded_fen = _refunded_fen(order.id, line_id, step_refunds) if refunds else 0
    if recall is not None or line_id is not None or step_refunds is not None:
        paid = refunded_fen > 0  # the event's money went back (some lines', or its step's of the order)
    else:  # a mail queued before its step named its refunds
        paid = _has_refund(order.id) if kind == "refunded" else bool(order.paid_at)
    lines = [
        line
        for line in order.lines
        if (line.id in recall.line_ids if recall is not None else line_id is None or line.id == line_id)
    ]
    with in_language_of(order.user):  # no request here: the buyer's language
        body = render_mail(
            template,
            order=order,
            kind=kind,
            lines=lines,
            history=[] if placed else history_of(order),
            recalled=recalled,
            rejected=rejected,
            refunded_fen=refunded_fen,
            note=note,
            recall=recall,
            canceled_lots=canceled_lots,
            trace_url=external_url("trace.trace_page", code=recall.lot_code) if recall is not None else "",
            money_back=refunded_money_text(order, paid=paid) if refunds else "",
            with_qr=bool(attachments),
            order_url=external_url("orders.order_detail", code=order.code),
        )
        subject = _("[乡村e线] %(what)s %(code)s", what=SUBJECTS.get(kind) or _("订单状态更新"), code=order.code)
    return order.user.email, subject, body, attachments
