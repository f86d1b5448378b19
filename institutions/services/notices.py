"""Who hears of a purchase's steps, by e-mail, after the commit (`shop.celery.enqueue_after_commit`: a
step that rolls back, or that is refused as a double tap, mails nobody):

- submitted: each approver of its organisation (an active account), with a link to decide;
- sent back (rejected): its buyer, with the approver's reason and a link to change it;
- approved: its buyer, with the orders it became (each order also sends its own mail);
- one of its orders canceled by its buyer (the order page's 取消订单, allowed: it only lowers spending):
  each approver, with the order, who canceled it and when (`on_order_canceled_by_buyer`, connected to
  `orders.signals.order_canceled_by_buyer` by `institutions.init_app`). An order that expires unpaid or
  that the shop cancels (not collected in time, a recall) mails no approver: orders sends no such signal.

One task per step: `institutions.tasks.notify_approvers` mails every approver (read when it runs), each
in their own language (a submitted purchase, a canceled order); `institutions.tasks.notify_purchase`
mails the buyer. Each mail is sent once, however often its task runs. `purchases` calls these as it
makes each step.

An organisation's verification is mailed the same way to its managers (`notify_organisation_decided`,
task `institutions.tasks.notify_organisation`): verified, or not, with the county office's reason and a
link to correct the registration and submit it again. `organisations.decide_organisation` calls it.
"""

from __future__ import annotations

from enum import StrEnum

import sqlalchemy as sa

from institutions.models import Organisation, Purchase, PurchaseOrder
from shop.celery import enqueue_after_commit
from shop.extensions import db

TASK = "institutions.tasks.notify_purchase"
APPROVERS_TASK = "institutions.tasks.notify_approvers"
ORGANISATION_TASK = "institutions.tasks.notify_organisation"


class PurchaseEvent(StrEnum):
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"
    ORDER_CANCELED = "order_canceled"


def notify_submitted(purchase: Purchase) -> None:
    """Mail every approver of the purchase's organisation that it waits for them: one task for them all."""
    enqueue_after_commit(APPROVERS_TASK, purchase.id)


def notify_returned(purchase: Purchase, *, reason: str) -> None:
    """Mail the buyer that the purchase was sent back, with the reason as the approver wrote it."""
    enqueue_after_commit(TASK, purchase.id, PurchaseEvent.RETURNED.value, purchase.created_by_id, reason)


def notify_approved(purchase: Purchase) -> None:
    """Mail the buyer that the purchase was approved and placed."""
    enqueue_after_commit(TASK, purchase.id, PurchaseEvent.APPROVED.value, purchase.created_by_id)


def notify_order_canceled(purchase: Purchase, order_id: int) -> None:
    """Mail every approver of the purchase's organisation that its order `order_id` was canceled by its
    buyer: one task for them all, as a submission's."""
    enqueue_after_commit(APPROVERS_TASK, purchase.id, PurchaseEvent.ORDER_CANCELED.value, order_id)


def on_order_canceled_by_buyer(order, *, actor, now) -> None:
    """`orders.signals.order_canceled_by_buyer`'s receiver: an order placed for a purchase mails its
    approvers (`notify_order_canceled`, after the commit); any other order, nothing."""
    placed = db.session.scalar(sa.select(PurchaseOrder).where(PurchaseOrder.order_id == order.id))
    if placed is not None:
        notify_order_canceled(placed.purchase, order.id)


def notify_organisation_decided(organisation: Organisation) -> None:
    """Mail the organisation's managers the county office's decision (its status now, and its reason)."""
    enqueue_after_commit(ORGANISATION_TASK, organisation.id, organisation.status)
