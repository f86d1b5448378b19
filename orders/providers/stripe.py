"""Stripe, the only module that imports `stripe` (docs/ARCHITECTURE.md, "External systems, one module each").

PaymentIntents created on the server (`payment_method_types`, metadata; no `description` nor
`automatic_payment_methods`, which the localstripe emulator rejects), re-fetched on webhooks,
refunds, and webhook signature verification. `STRIPE_API_BASE` may point at localstripe.

Faults (issue #10): every call is bounded by `STRIPE_TIMEOUT` seconds (connect and read) and retried
by the client `STRIPE_MAX_NETWORK_RETRIES` times under the same idempotency key. A connection error,
a timeout, a 5xx or a 429 left after those retries becomes `ProviderUnavailable` (the caller keeps the
order pending and lets the buyer retry); any other Stripe error is a plain `ProviderError`. Every
call that creates something (intent, confirmation, refund) carries the caller's idempotency key, so
a retry after a lost response returns Stripe's first result instead of acting twice.
"""

from __future__ import annotations

import json
import threading

import requests
import stripe
from flask_babel import gettext as _

from orders.providers.base import (
    Intent,
    InvalidEvent,
    InvalidSignature,
    PaymentDeclined,
    PaymentProvider,
    ProviderError,
    ProviderUnavailable,
    RefundResult,
    WebhookEvent,
)


class _ThreadClients(threading.local):
    """One client per configuration and thread, each with its own `requests.Session` (keep-alive; a
    session is not shared between threads)."""

    def __init__(self) -> None:
        self.by_config: dict[tuple, stripe.StripeClient] = {}


_CLIENTS = _ThreadClients()


def _http_client(timeout: float, proxy: str) -> stripe.RequestsClient:
    """Stripe's requests client on a session that ignores the environment (`trust_env = False`):
    requests would otherwise read every environment variable on each call, looking for proxy and
    CA-bundle settings. A proxy, if the network needs one, is STRIPE_PROXY; the CA bundle is stripe's."""
    session = requests.Session()
    session.trust_env = False
    # (connect, read): a dead host fails fast, a silent one after `timeout`
    return stripe.RequestsClient(timeout=(min(timeout, 3.05), timeout), session=session, proxy=proxy or None)


def _provider_error(exc: stripe.StripeError) -> ProviderError:
    """Our error for a Stripe one: unreachable / overloaded (retry later) or refused (do not)."""
    if isinstance(exc, (stripe.APIConnectionError, stripe.RateLimitError)):
        return ProviderUnavailable(str(exc))
    status = getattr(exc, "http_status", None)
    if isinstance(exc, stripe.APIError) and (status is None or status >= 500):
        return ProviderUnavailable(str(exc))
    return ProviderError(str(exc))


def _intent(pi) -> Intent:
    metadata = pi.metadata.to_dict() if getattr(pi, "metadata", None) is not None else {}
    return Intent(
        id=pi.id,
        status=pi.status,
        amount=int(pi.amount),
        currency=str(pi.currency).lower(),
        client_secret=getattr(pi, "client_secret", None),
        metadata=metadata,
    )


class StripeProvider(PaymentProvider):
    name = "stripe"

    @property
    def configured(self) -> bool:
        return bool(self.config.get("STRIPE_SECRET_KEY"))

    def _client(self) -> stripe.StripeClient:
        key = self.config.get("STRIPE_SECRET_KEY")
        if not key:
            raise ProviderError("Stripe is not configured")
        timeout = float(self.config.get("STRIPE_TIMEOUT") or 8)
        retries = int(self.config.get("STRIPE_MAX_NETWORK_RETRIES") or 0)
        base = (self.config.get("STRIPE_API_BASE") or "").rstrip("/")
        proxy = self.config.get("STRIPE_PROXY") or ""
        cache_key = (key, base, timeout, retries, proxy)
        clients = _CLIENTS.by_config
        client = clients.get(cache_key)
        if client is None:
            kwargs: dict = {"max_network_retries": retries, "http_client": _http_client(timeout, proxy)}
            if base:
                kwargs["base_addresses"] = {"api": base}
            client = clients[cache_key] = stripe.StripeClient(key, **kwargs)
        return client

    def create_intent(self, *, amount_fen, currency, idempotency_key, metadata, methods) -> Intent:
        """Same key, same parameters -> Stripe returns the intent it created the first time."""
        try:
            pi = self._client().v1.payment_intents.create(
                params={
                    "amount": int(amount_fen),
                    "currency": currency.lower(),
                    "payment_method_types": list(methods),
                    "metadata": dict(metadata),
                },
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc
        return _intent(pi)

    def retrieve_intent(self, intent_id: str) -> Intent:
        try:
            return _intent(self._client().v1.payment_intents.retrieve(intent_id))
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc

    def confirm_with_card(self, intent_id: str, *, token_id: str, card_id: str, idempotency_key: str) -> Intent:
        """Real Stripe: confirm with `payment_method_data[card][token]`. The emulator (STRIPE_API_BASE
        set) rejects that parameter and confirm-with-payment_method, so there the token's card
        (`card_...`) is attached with an update, then the intent is confirmed (docs/MONEY.md, "The Stripe emulator").
        A PaymentIntent is charged at most once whatever happens; the key also makes a retried
        confirmation of the same token return the first answer."""
        client = self._client()
        try:
            if self.config.get("STRIPE_API_BASE"):
                client.v1.payment_intents.update(
                    intent_id,
                    params={"payment_method": card_id},
                    options={"idempotency_key": idempotency_key + "-attach"},
                )
                pi = client.v1.payment_intents.confirm(intent_id, options={"idempotency_key": idempotency_key})
            else:
                pi = client.v1.payment_intents.confirm(
                    intent_id,
                    params={
                        "payment_method_data": {"type": "card", "card": {"token": token_id}},
                        "use_stripe_sdk": True,
                    },
                    options={"idempotency_key": idempotency_key},
                )
        except stripe.CardError as exc:
            raise PaymentDeclined(exc.user_message or _("银行卡被拒绝")) from exc
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc
        return _intent(pi)

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        try:
            pi = self._client().v1.payment_intents.cancel(intent_id, options={"idempotency_key": idempotency_key})
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc
        return _intent(pi)

    def refund(self, *, intent_id, amount_fen, idempotency_key) -> RefundResult:
        try:
            refund = self._client().v1.refunds.create(
                params={"payment_intent": intent_id, "amount": int(amount_fen)},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise _provider_error(exc) from exc
        return RefundResult(id=refund.id, status=refund.status)

    def parse_event(self, payload: bytes, signature: str | None) -> WebhookEvent:
        """The event of a webhook body, once its signature verifies (`stripe.WebhookSignature.verify_header`).

        Refused with `InvalidSignature`: no secret, no header, a header that does not verify, and a header that is
        not ASCII (Stripe's is `t=<digits>,v1=<hex>`; the library compares with `hmac.compare_digest`, which raises
        TypeError on non-ASCII text, so anyone could make a 500 by sending one). Refused with `InvalidEvent`: a body
        that verifies but is not a Stripe event — not a JSON object, or without an `id` and `type` string and a
        `data.object` object (the library's event builder crashes on those)."""
        secret = self.config.get("STRIPE_WEBHOOK_SECRET")
        if not secret or not signature:
            raise InvalidSignature("missing signature or secret")
        if not signature.isascii():
            raise InvalidSignature("signature header is not ASCII")
        try:
            stripe.WebhookSignature.verify_header(payload, signature, secret, stripe.Webhook.DEFAULT_TOLERANCE)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise InvalidSignature(str(exc)) from exc
        try:
            values = json.loads(payload)
        except ValueError as exc:
            raise InvalidEvent("body is not JSON") from exc
        data = values.get("data") if isinstance(values, dict) else None
        obj = data.get("object") if isinstance(data, dict) else None
        if (
            not isinstance(obj, dict)
            or not isinstance(values.get("id"), str)
            or not isinstance(values.get("type"), str)
        ):
            raise InvalidEvent("body is not a Stripe event")
        return WebhookEvent(id=values["id"], type=values["type"], object_id=str(obj.get("id") or ""))
