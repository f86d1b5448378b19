"""Bank transfer (对公转账) payments of an organisation's orders (docs/MONEY.md, "Bank transfers").

An order placed for an approved purchase with `payment_method = "bank_transfer"` waits `pending`, its
stock allocated, until the transfer arrives or the longer institutional term passes
(INSTITUTIONAL_PAYMENT_DAYS, then `orders.services.expiry` expires it like an unpaid card order).
The buyer's page shows the payee's account and the reference to quote (the order code).

When the money is on the account, the county office or a station that sells in the order records
it (`record_transfer`): the amount must be exactly what the payment asks (a partial or larger
transfer is refused, nothing changes; the difference is settled with the organisation outside the
shop, and the full amount recorded once it is in), the bank's reference (流水号) becomes the payment's
`provider_ref` (unique: one transfer pays one order), and the payment is confirmed through
`orders.services.payments.confirm_payment`, the card's own confirmation: the order becomes
confirmed (or, expired meanwhile, re-allocated or refunded; canceled meanwhile, refunded), so the
stations work it and the hand-over credits the households exactly as for a captured card — income
is credited only for money received, through the one crediting path. Recording the same transfer
again (the same reference, or a double submit) changes nothing; audited (`payment.bank_transfer`).

Refunds of a transfer-paid order are `Refund` rows of its `bank_transfer` payment (state
`succeeded`: the money goes back by bank transfer to the paying account); they reverse the credit
like every refund (`reverse_refunded_credit`) and the reconciliation counts them like card refunds.

Lock order: the order row, then the payment row (as every payment service here).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

import sqlalchemy as sa
from flask import current_app

from orders.models import Order, OrderPayment, OrderStatus, PaymentMethod, PaymentState, Shipment
from orders.services.common import lock_order, lock_payment
from orders.services.payments import confirm_payment, current_payment
from shop.audit import record_audit
from shop.auth.models import Role
from shop.codes import typed_code
from shop.errors import Conflict, DomainError, NotFound, ValidationError
from shop.extensions import db
from shop.money import MAX_FEN, format_yuan
from shop.timeutil import local_date

PROVIDER = "bank_transfer"
#: A bank's transaction reference (流水号): letters, digits, dashes, slashes.
REFERENCE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9/_-]{3,63}$")
#: The most a transfer may be: the most any amount may be (`shop.money.MAX_FEN`, as the form's typed yuan).
MAX_AMOUNT_FEN = MAX_FEN


@dataclass(frozen=True)
class Payee:
    name: str
    bank: str
    account: str


def payee() -> Payee:
    """The account organisations transfer to (configuration)."""
    config = current_app.config
    return Payee(
        name=str(config.get("BANK_TRANSFER_PAYEE", "")),
        bank=str(config.get("BANK_TRANSFER_BANK", "")),
        account=str(config.get("BANK_TRANSFER_ACCOUNT", "")),
    )


def transfer_reference(order: Order) -> str:
    """What the organisation writes in the transfer's remark (附言) so the money finds its order."""
    return order.code


def is_bank_transfer(order: Order) -> bool:
    return order.payment_method == PaymentMethod.BANK_TRANSFER


def awaiting_transfer(order: Order) -> bool:
    """The order waits for its transfer (the buyer's page shows the account and the reference)."""
    payment = current_payment(order)
    return (
        is_bank_transfer(order)
        and order.status == OrderStatus.PENDING
        and payment is not None
        and payment.state in (PaymentState.CREATED, PaymentState.PENDING)
    )


def transfer_due_fen(order: Order) -> int:
    """What the transfer that pays `order` must bring: its payment's amount, the one figure `record_transfer`
    (`_checked`) accepts (else 422 `transfer_amount_mismatch`), which the purchase page's 对公转账 card and the API's
    `bank_transfers_due` both show. An order waits for its transfer only while pending, and nothing lowers
    what a pending order is due (a line or shipment is canceled, a refund made, only once it is paid: the
    order is confirmed), so this is also its total as placed."""
    payment = current_payment(order)
    return payment.amount_fen if payment is not None else 0


def can_record(user, order: Order) -> bool:
    """The county office (and admins), or an operator of a station that sells in the order."""
    if user is None or not user.is_authenticated:
        return False
    if user.role in (Role.COUNTY, Role.ADMIN):
        return True
    return user.role == Role.OPERATOR and any(s.station_id == user.station_id for s in order.shipments)


def order_for_recorder(code: str, user) -> Order:
    """A bank-transfer order the user may record a transfer for; NotFound for anything else."""
    order = db.session.scalar(sa.select(Order).where(Order.code == typed_code(code)[:16]))
    if order is None or not is_bank_transfer(order) or not can_record(user, order):
        raise NotFound("order_not_found")
    return order


def orders_awaiting(user, *, limit: int = 200) -> list[Order]:
    """Bank-transfer orders still waiting for their money that the user may record, oldest first."""
    query = (
        sa.select(Order)
        .where(Order.payment_method == PaymentMethod.BANK_TRANSFER, Order.status == OrderStatus.PENDING)
        .order_by(Order.id)
        .limit(limit)
    )
    if user.role == Role.OPERATOR:
        query = query.where(Order.shipments.any(Shipment.station_id == user.station_id))
    elif user.role not in (Role.COUNTY, Role.ADMIN):
        return []
    return list(db.session.scalars(query))


def transfer_of(order: Order) -> OrderPayment | None:
    """The payment whose transfer was recorded (its reference in `provider_ref`), if any."""
    payment = current_payment(order)
    return payment if payment is not None and payment.provider_ref else None


def _clean_reference(reference: str) -> str:
    value = "".join((reference or "").split())
    if not REFERENCE.match(value):
        raise ValidationError("invalid_transfer_reference", fields={"reference": "invalid"})
    return value


def _checked(
    order: Order, payment: OrderPayment | None, *, amount_fen: int, reference: str, received_on: date | None, now
) -> tuple[str, bool]:
    """(the cleaned reference, whether this very transfer is recorded already), or the refusal raised
    (`record_transfer`'s rules)."""
    reference = _clean_reference(reference)
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or not 0 < amount_fen <= MAX_AMOUNT_FEN:
        raise ValidationError("invalid_transfer_amount", fields={"amount_fen": "invalid"})
    if received_on is not None and received_on > local_date(now):
        raise ValidationError("transfer_date_future", fields={"received_on": "future"})
    # a transfer quotes the order's code, so it cannot have arrived before the order was placed (a slip of
    # the year, 2020 for 2026, would stand in the payment's history and the audit as the day it came)
    if received_on is not None and received_on < local_date(order.created_at):
        placed_on = local_date(order.created_at).isoformat()
        raise ValidationError("transfer_date_before_order", placed=placed_on, fields={"received_on": "before_order"})
    if not is_bank_transfer(order) or payment is None:
        raise Conflict("not_bank_transfer")
    if payment.provider_ref is not None:
        if payment.provider_ref == reference and payment.amount_fen == amount_fen:
            return reference, True  # this transfer is recorded already: nothing changes
        raise Conflict("transfer_already_recorded", reference=payment.provider_ref)
    used = db.session.scalar(sa.select(OrderPayment.id).where(OrderPayment.provider_ref == reference))
    if used is not None:
        raise Conflict("transfer_reference_used", fields={"reference": "used"})
    if amount_fen != payment.amount_fen:
        raise ValidationError(
            "transfer_amount_mismatch",
            due=format_yuan(payment.amount_fen),
            fields={"amount_fen": "mismatch", "amount_due_fen": str(payment.amount_fen)},
        )
    return reference, False


def transfer_refusal(
    order: Order, *, amount_fen: int, reference: str, received_on: date | None, now: datetime
) -> DomainError | None:
    """Why `record_transfer` would refuse this transfer as things stand, or None. The page asks it before
    its confirmation step, so a transfer that can only be refused (an amount other than what is due, a
    reference used, a day to come) is said at once, never confirmed first; `record_transfer` asks the
    same rules again under its locks."""
    try:
        _checked(
            order, current_payment(order), amount_fen=amount_fen, reference=reference, received_on=received_on, now=now
        )
    except DomainError as exc:
        return exc
    return None


def record_transfer(
    order: Order, *, amount_fen: int, reference: str, received_on: date | None, actor, now: datetime
) -> bool:
    """Record the bank transfer that pays `order`; True if it changed something, False when this very
    transfer (same reference, same amount) was recorded already. Refuses, changing nothing: a bad
    reference or amount (422), an amount other than the payment's (422 `transfer_amount_mismatch`
    with `amount_due_fen`), a day still to come (422), another transfer already recorded for the
    order (409 `transfer_already_recorded`), a reference that paid another order (409
    `transfer_reference_used`). Flushes only."""
    order = lock_order(order.id)
    payment = current_payment(order)
    if payment is None or not is_bank_transfer(order):
        raise Conflict("not_bank_transfer")
    payment = lock_payment(payment.id)
    reference, recorded = _checked(
        order, payment, amount_fen=amount_fen, reference=reference, received_on=received_on, now=now
    )
    if recorded:
        return False
    today = local_date(now)
    payment.provider_ref = reference
    db.session.flush()
    day = (received_on or today).isoformat()
    confirm_payment(payment, now=now, actor=actor, note=f"bank transfer {reference} ({day})")
    record_audit(
        actor=actor,
        action="payment.bank_transfer",
        subject=order,
        detail={"reference": reference, "amount_fen": amount_fen, "received_on": day, "status": order.status},
        now=now,
    )
    db.session.flush()
    return True
