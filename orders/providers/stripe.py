"""Stripe, the only module that imports `stripe` (STYLE.md rule 9).

PaymentIntents created on the server (`payment_method_types`, metadata; no `description` nor
`automatic_payment_methods`, which the localstripe emulator rejects), re-fetched on webhooks,
refunds, and webhook signature verification. `STRIPE_API_BASE` may point at localstripe.
"""
from __future__ import annotations

import stripe

from orders.providers import (
    Intent,
    InvalidSignature,
    PaymentDeclined,
    PaymentProvider,
    ProviderError,
    RefundResult,
    WebhookEvent,
)


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
        kwargs: dict = {"max_network_retries": int(self.config.get("STRIPE_MAX_NETWORK_RETRIES", 2))}
        base = self.config.get("STRIPE_API_BASE")
        if base:
            kwargs["base_addresses"] = {"api": base.rstrip("/")}
        return stripe.StripeClient(key, **kwargs)

    def create_intent(self, *, amount_fen, currency, idempotency_key, metadata, methods) -> Intent:
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
            raise ProviderError(str(exc)) from exc
        return _intent(pi)

    def retrieve_intent(self, intent_id: str) -> Intent:
        try:
            return _intent(self._client().v1.payment_intents.retrieve(intent_id))
        except stripe.StripeError as exc:
            raise ProviderError(str(exc)) from exc

    def confirm_with_card(self, intent_id: str, *, token_id: str, card_id: str) -> Intent:
        """Real Stripe: confirm with `payment_method_data[card][token]`. The emulator (STRIPE_API_BASE
        set) rejects that parameter and confirm-with-payment_method, so there the token's card
        (`card_...`) is attached with an update, then the intent is confirmed (TECH-NOTES §2)."""
        client = self._client()
        try:
            if self.config.get("STRIPE_API_BASE"):
                client.v1.payment_intents.update(intent_id, params={"payment_method": card_id})
                pi = client.v1.payment_intents.confirm(intent_id)
            else:
                pi = client.v1.payment_intents.confirm(
                    intent_id,
                    params={"payment_method_data": {"type": "card", "card": {"token": token_id}},
                            "use_stripe_sdk": True},
                )
        except stripe.CardError as exc:
            raise PaymentDeclined(exc.user_message or "Your card was declined.") from exc
        except stripe.StripeError as exc:
            raise ProviderError(str(exc)) from exc
        return _intent(pi)

    def refund(self, *, intent_id, amount_fen, idempotency_key) -> RefundResult:
        try:
            refund = self._client().v1.refunds.create(
                params={"payment_intent": intent_id, "amount": int(amount_fen)},
                options={"idempotency_key": idempotency_key},
            )
        except stripe.StripeError as exc:
            raise ProviderError(str(exc)) from exc
        return RefundResult(id=refund.id, status=refund.status)

    def parse_event(self, payload: bytes, signature: str | None) -> WebhookEvent:
        secret = self.config.get("STRIPE_WEBHOOK_SECRET")
        if not secret or not signature:
            raise InvalidSignature("missing signature or secret")
        try:
            event = stripe.Webhook.construct_event(payload, signature, secret)
        except (stripe.SignatureVerificationError, ValueError) as exc:
            raise InvalidSignature(str(exc)) from exc
        obj = event.data.object
        return WebhookEvent(id=event.id, type=event.type, object_id=str(getattr(obj, "id", "") or ""))
