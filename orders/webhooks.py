"""Payment endpoints of the JSON API (added to shop.api's blueprint).

POST /api/v1/payments/stripe/webhook — no login, no CSRF (the api blueprint is exempt), raw body.
The signature is verified by the provider; a forged or missing one (or a header that is not ASCII) is a 400
and changes nothing, and so is a signed body that is not a Stripe event (400 `bad_event`).
The event is only a trigger: the PaymentIntent is re-fetched (before any lock is taken) and its
amount and currency compared with the payment. The event id is stored in the same transaction as
its effect, so a duplicate does nothing, and a late `payment_failed` after `succeeded` changes
nothing. Stripe unreachable for the re-fetch: 503, nothing stored, Stripe delivers it again.

POST /api/v1/orders/<code>/pay — (re)start the card payment of the caller's pending order and
return the order with the PaymentIntent's `client_secret`. When Stripe is unreachable or slow the
answer is a 503 `payment_unavailable` and nothing changes: the order stays pending with its stock
allocated until it expires; calling again is safe (same idempotency key, never a second intent).
"""

from __future__ import annotations

import logging

from flask import current_app, request
from pydantic import BaseModel, Field

from orders.api import OrderOut, one_order_out, order_for_output, own_order
from orders.models import CURRENCY
from orders.providers import (
    InvalidEvent,
    InvalidSignature,
    ProviderError,
    ProviderUnavailable,
    card_payments_enabled,
    get_provider,
)
from orders.services.payments import current_payment, handle_provider_event, start_payment
from shop.api import api_user, endpoint, ok
from shop.db import commit
from shop.errors import Conflict, DomainError, ServiceUnavailable
from shop.timeutil import now_utc

log = logging.getLogger(__name__)


class BadSignature(DomainError):
    status = 400
    code = "bad_signature"


class BadEvent(DomainError):
    """A signed body that is not a Stripe event (orders.providers.stripe.parse_event): refused, nothing stored."""

    status = 400
    code = "bad_event"


class ProviderUnavailableError(ServiceUnavailable):
    """Stripe could not be reached while handling its own webhook: it delivers the event again."""

    code = "provider_unavailable"


class PaymentUnavailable(ServiceUnavailable):
    """The buyer's payment could not be started or sent: Stripe unreachable, slow or overloaded."""

    code = "payment_unavailable"


class PaymentProviderError(DomainError):
    """Stripe refused the request (not a network fault): retrying the same request will not help."""

    status = 502
    code = "payment_error"


def payment_unavailable() -> PaymentUnavailable:
    return PaymentUnavailable("payment_unavailable")


def provider_error(exc: ProviderError) -> DomainError:
    """The API error for a provider failure (the caller has rolled back)."""
    if isinstance(exc, ProviderUnavailable):
        return payment_unavailable()
    return PaymentProviderError("payment_error")


class PaymentsConfigOut(BaseModel):
    card: bool = Field(description="card payments (Stripe) are on: an order or booking may be paid by card")
    publishable_key: str | None = Field(
        description="Stripe's publishable key, for the app's Stripe SDK to confirm a payment with its client_secret; "
        "null while card payments are off"
    )
    currency: str = Field(description="the currency of every amount (`*_fen` are its hundredths), ISO 4217")


@endpoint("/payments/config", response=PaymentsConfigOut, tags=("payments",))
def payments_config():
    """How an app may take payments: whether card payments are on and Stripe's publishable key (anyone; the
    other methods — at the station, on delivery, on arrival, by bank transfer — need no key)."""
    card = card_payments_enabled()
    key = current_app.config.get("STRIPE_PUBLISHABLE_KEY") if card else None
    return ok(PaymentsConfigOut(card=card, publishable_key=key or None, currency=CURRENCY))


@endpoint(
    "/payments/stripe/webhook",
    ("POST",),
    summary="Stripe events (signature checked)",
    tags=("payments",),
    errors=(400, 503),
)
def stripe_webhook():
    """Stripe events (signature checked)."""
    provider = get_provider("stripe")
    try:
        event = provider.parse_event(request.get_data(cache=False), request.headers.get("Stripe-Signature"))
    except InvalidSignature:
        raise BadSignature("bad_signature") from None
    except InvalidEvent:
        raise BadEvent("bad_event") from None
    intent = None
    if event.type.startswith("payment_intent.") and event.object_id:
        try:
            intent = provider.retrieve_intent(event.object_id)
        except ProviderError:
            log.exception("could not re-fetch %s", event.object_id)
            raise ProviderUnavailableError("provider_unavailable") from None
    outcome = handle_provider_event(event, intent, now=now_utc())
    commit()
    return ok({"received": True, "outcome": outcome})


@endpoint(
    "/orders/<code>/pay",
    ("POST",),
    response=OrderOut,
    auth=True,
    tags=("orders",),
    errors=(409, 502, 503),
    summary="Start (or resume) the card payment of a pending order: its client_secret",
)
def pay_order(code: str):
    """Start (or resume) the card payment of a pending order: its client_secret."""
    user = api_user()
    order = own_order(code, user)
    payment = current_payment(order)
    if order.payment_method != "card" or payment is None or payment.provider != "stripe":
        raise Conflict("no_online_payment")
    if not card_payments_enabled():
        raise Conflict("online_payment_off")
    order_id = order.id
    try:
        start_payment(payment, now=now_utc())  # refused as `pay_refusal` says (not pending, a recalled lot: 409)
    except ProviderError as exc:
        log.warning("payment of order %s not started: %s", order.code, exc)
        raise provider_error(exc) from None  # the error handler rolls back
    commit()
    order = order_for_output(order_id)
    return ok(one_order_out(order, user))
