"""POST /api/v1/payments/stripe/webhook (added to shop.api's blueprint).

No login, no CSRF (the api blueprint is exempt), raw body. The signature is verified by the
provider; a forged or missing one is a 400 and changes nothing. The event is only a trigger: the
PaymentIntent is re-fetched (before any lock is taken) and its amount and currency compared with
the payment. The event id is stored in the same transaction as its effect, so a duplicate does
nothing, and a late `payment_failed` after `succeeded` changes nothing.
"""
from __future__ import annotations

import logging

from flask import request

from orders.providers import InvalidSignature, ProviderError, get_provider
from orders.services.payments import handle_provider_event
from shop.api import endpoint, ok
from shop.db import commit
from shop.errors import DomainError
from shop.timeutil import now_utc

log = logging.getLogger(__name__)


class BadSignature(DomainError):
    status = 400
    code = "bad_signature"


class ProviderUnavailable(DomainError):
    status = 503
    code = "provider_unavailable"


@endpoint("/payments/stripe/webhook", ("POST",), summary="Stripe events (signature checked)",
          tags=("payments",), errors=(400,))
def stripe_webhook():
    """Stripe events (signature checked)."""
    provider = get_provider("stripe")
    try:
        event = provider.parse_event(request.get_data(cache=False), request.headers.get("Stripe-Signature"))
    except InvalidSignature:
        raise BadSignature("Invalid or missing Stripe signature") from None
    intent = None
    if event.type.startswith("payment_intent.") and event.object_id:
        try:
            intent = provider.retrieve_intent(event.object_id)
        except ProviderError:
            log.exception("could not re-fetch %s", event.object_id)
            raise ProviderUnavailable("Stripe could not be reached; retry later") from None
    outcome = handle_provider_event(event, intent, now=now_utc())
    commit()
    return ok({"received": True, "outcome": outcome})
