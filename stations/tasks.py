"""Celery tasks of the stations package: tell the buyer what happened to a shipment.

Tasks take ids, load, and only read (the state change was committed by the request). They are
enqueued with `shop.celery.enqueue_after_commit`, so a rolled-back step never notifies anyone.
A task that runs twice (outbox re-publish, worker killed) sends its mail once (`shop.mail.send_once`).
"""

from __future__ import annotations

import logging

from celery import shared_task
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l

from orders.models import OrderLine, Shipment
from shop.auth.models import User
from shop.db import commit, rollback
from shop.errors import DomainError
from shop.extensions import db
from shop.mail import RETRY_ON as MAIL_RETRY_ON
from shop.mail import in_language_of, send_once, task_mail_key
from shop.timeutil import now_utc
from stations.services import recalls
from stations.services.fulfilment import status_label
from stock.models import Lot
from stock.services import expire_lots as block_expired_lots

log = logging.getLogger(__name__)

SUBJECTS = {
    "accepted": _l("您的订单 {code} 已被服务站接单"),
    "packed": _l("您的订单 {code} 已打包"),
    "ready_for_pickup": _l("您的订单 {code} 已可到站自提"),
    "shipped": _l("您的订单 {code} 已发货"),
    "delivered": _l("您的订单 {code} 已交付"),
    "canceled": _l("您的订单 {code} 有商品无法供货"),
}


def _send(task, to: str, subject: str, body: str) -> None:
    """Once per task id (SMTP, or the log in the embedded default)."""
    db.session.commit()  # end the read transaction before the mail's own short ones
    send_once(task_mail_key(task), to, subject, body)


@shared_task(
    name="stations.tasks.notify_shipment", bind=True, autoretry_for=MAIL_RETRY_ON, retry_backoff=True, max_retries=5
)
def notify_shipment(self, shipment_id: int, event: str) -> None:
    shipment = db.session.get(Shipment, shipment_id)
    if shipment is None or shipment.order is None or shipment.order.user is None:
        return
    order = shipment.order
    with in_language_of(order.user):  # no request here: the buyer's language
        subject = str(SUBJECTS.get(event, _l("您的订单 {code} 有更新"))).format(code=order.code)
        lines = [
            _("订单号: %(code)s", code=order.code),
            _("发货单: %(code)s", code=shipment.code),
            _("状态: %(status)s", status=status_label(event)),
        ]
        if event == "shipped" and shipment.tracking_number:
            lines.append(_("运单号: %(number)s", number=shipment.tracking_number))
        if event == "ready_for_pickup":  # sent once the whole order waits at the chosen station
            station = order.pickup_station or shipment.station
            lines.append(
                _(
                    "自提点: %(name)s %(address)s (%(hours)s)",
                    name=station.name,
                    address=station.address,
                    hours=station.hours,
                )
            )
            lines.append(_("取货码: %(code)s", code=shipment.pickup_code))
    _send(self, order.user.email, subject, "\n".join(lines))


@shared_task(
    name="stations.tasks.notify_line_canceled",
    bind=True,
    autoretry_for=MAIL_RETRY_ON,
    retry_backoff=True,
    max_retries=5,
)
def notify_line_canceled(self, line_id: int, reason: str) -> None:
    """A line withdrawn by its station, as it was told before the order's own mail told it
    (`orders.tasks.send_order_mail`, kind `line_canceled`, queued by `refund_line`): kept so that a
    message queued before that change is still delivered; nothing queues it any more."""
    line = db.session.get(OrderLine, line_id)
    if line is None or line.order is None or line.order.user is None:
        return
    order = line.order
    with in_language_of(order.user):  # no request here: the buyer's language
        body = "\n".join(
            [
                _("订单号: %(code)s", code=order.code),
                _("商品: %(title)s × %(quantity)s", title=line.title, quantity=line.quantity),
                _("原因: %(reason)s", reason=reason),
                _("该商品无法供货，已为您取消；已付款项将原路退回。"),
            ]
        )
        subject = str(SUBJECTS["canceled"]).format(code=order.code)
    _send(self, order.user.email, subject, body)


@shared_task(name="stations.tasks.expire_lots")
def expire_lots() -> list[int]:
    """Beat task (hourly): lots past their best-before date (Beijing) are blocked; their unsold units
    leave the sellable stock. Selling never waits for it: checkout skips expired lots."""
    ids = block_expired_lots(now=now_utc())
    commit()
    if ids:
        log.info("expired %d lots", len(ids))
    return ids


@shared_task(name="stations.tasks.cancel_recalled_unpaid")
def cancel_recalled_unpaid(lot_id: int, actor_id: int | None, order_ids: list[int]) -> list[int]:
    """After a recall's commit: cancel each unpaid order holding the lot (`recalls.cancel_unpaid_order`,
    the rule of `orders.services.recalled`), each in its own transaction under its order's lock, so a
    payment confirmed meanwhile waits or wins cleanly. `order_ids`: the orders the recall saw unpaid (one
    paid since is not pending any more, and is told of the recall as a paid order is). An order that
    cannot be canceled is logged and left: the pay step refuses it all the same. Returns the ids canceled."""
    lot = db.session.get(Lot, lot_id)
    if lot is None:
        return []
    actor = db.session.get(User, actor_id) if actor_id else None
    canceled = []
    for order_id in order_ids:
        try:
            if recalls.cancel_unpaid_order(order_id, actor=actor, now=now_utc()):
                canceled.append(order_id)
            commit()
        except DomainError as exc:
            rollback()
            log.warning("unpaid order %s holding recalled lot %s not canceled: %s", order_id, lot.code, exc.code)
    return canceled
