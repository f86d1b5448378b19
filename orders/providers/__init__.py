"""Payment providers behind one small registry (CTFd/pretix style).

`PROVIDERS` maps a name to a class; `get_provider()` builds the configured one from the app config.
Tests replace the class at this seam (`PROVIDERS["stripe"] = FakeStripeProvider`). The provider
methods speak in plain dataclasses, so nothing outside `orders/providers/stripe.py` sees a Stripe
object (or imports `stripe`).
"""
from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app


class ProviderError(Exception):
    """The provider could not be reached or refused the call (user-facing message kept generic)."""


class ProviderUnavailable(ProviderError):
    """The provider did not answer in time, or could not be reached, or answered 5xx / 429 after the
    client's retries. Nothing is known about the effect: retry the same operation under the same
    idempotency key (the provider then returns the first result instead of acting twice)."""


class PaymentDeclined(ProviderError):
    """The card was declined; the message may be shown to the buyer."""


class InvalidSignature(Exception):
    """A webhook whose signature does not verify."""


@dataclass(frozen=True)
class Intent:
    id: str
    status: str  # requires_payment_method | requires_action | processing | succeeded | canceled ...
    amount: int
    currency: str  # lower case, e.g. "cny"
    client_secret: str | None = None
    metadata: dict = field(default_factory=dict)


@dataclass(frozen=True)
class RefundResult:
    id: str
    status: str  # succeeded | pending | failed


@dataclass(frozen=True)
class WebhookEvent:
    id: str
    type: str
    object_id: str


class PaymentProvider:
    """The interface the payment services use."""

    name = "base"

    def __init__(self, config):
        self.config = config

    @property
    def configured(self) -> bool:
        return False

    def create_intent(self, *, amount_fen: int, currency: str, idempotency_key: str, metadata: dict,
                      methods: list[str]) -> Intent:
        raise NotImplementedError

    def retrieve_intent(self, intent_id: str) -> Intent:
        raise NotImplementedError

    def confirm_with_card(self, intent_id: str, *, token_id: str, card_id: str, idempotency_key: str) -> Intent:
        """Attach the card tokenised in the page (Stripe.js `createToken`) and confirm the intent.
        Returns the intent (status `succeeded`, or `requires_action` for 3-D Secure)."""
        raise NotImplementedError

    def refund(self, *, intent_id: str, amount_fen: int, idempotency_key: str) -> RefundResult:
        raise NotImplementedError

    def cancel_intent(self, intent_id: str, *, idempotency_key: str) -> Intent:
        """Cancel an intent that was never paid (its order was canceled or expired)."""
        raise NotImplementedError

    def parse_event(self, payload: bytes, signature: str | None) -> WebhookEvent:
        raise NotImplementedError


def _stripe_provider():
    from orders.providers.stripe import StripeProvider

    return StripeProvider


PROVIDERS: dict[str, type[PaymentProvider]] = {}


def get_provider(name: str = "stripe") -> PaymentProvider:
    """The provider `name`, configured from the current app."""
    if name not in PROVIDERS and name == "stripe":
        PROVIDERS["stripe"] = _stripe_provider()
    try:
        cls = PROVIDERS[name]
    except KeyError:
        raise ProviderError(f"unknown payment provider {name!r}") from None
    return cls(current_app.config)


def card_payments_enabled() -> bool:
    """Card payments are offered only when Stripe keys are configured."""
    config = current_app.config
    return bool(config.get("STRIPE_SECRET_KEY")) and bool(config.get("STRIPE_PUBLISHABLE_KEY"))


def extra_methods() -> list[str]:
    """Further Stripe methods enabled by config (alipay, wechat_pay)."""
    allowed = {"alipay", "wechat_pay"}
    return [m for m in current_app.config.get("STRIPE_EXTRA_METHODS") or [] if m in allowed]
