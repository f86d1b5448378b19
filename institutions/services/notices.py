"""Who hears of a purchase's steps, by e-mail, after the commit (`shop.celery.enqueue_after_commit`: a
step that rolls back, or that is refused as a double tap, mails nobody):

- submitted: each approver of its organisation (an active account), with a link to decide;
- sent back (rejected): its buyer, with the approver's reason and a link to change it;
- approved: its buyer, with the orders it became (each order also sends its own mail).

One task per recipient (`institutions.tasks.notify_purchase`), which writes the mail in that person's
language and sends it once, however often the task runs. `purchases` calls these as it makes each step.
"""

from __future__ import annotations

from enum import StrEnum

from institutions.models import Purchase
from institutions.services.organisations import approver_ids
from shop.celery import enqueue_after_commit

TASK = "institutions.tasks.notify_purchase"


class PurchaseEvent(StrEnum):
    SUBMITTED = "submitted"
    RETURNED = "returned"
    APPROVED = "approved"


def notify_submitted(purchase: Purchase) -> None:
    """Mail every approver of the purchase's organisation that it waits for them."""
    for user_id in approver_ids(purchase.organisation_id):
        enqueue_after_commit(TASK, purchase.id, PurchaseEvent.SUBMITTED.value, user_id)


def notify_returned(purchase: Purchase, *, reason: str) -> None:
    """Mail the buyer that the purchase was sent back, with the reason as the approver wrote it."""
    enqueue_after_commit(TASK, purchase.id, PurchaseEvent.RETURNED.value, purchase.created_by_id, reason)


def notify_approved(purchase: Purchase) -> None:
    """Mail the buyer that the purchase was approved and placed."""
    enqueue_after_commit(TASK, purchase.id, PurchaseEvent.APPROVED.value, purchase.created_by_id)
