"""Payment providers behind one small registry (CTFd/pretix style).

`PROVIDERS` maps a name to a class; `get_provider()` builds the configured one from the app config.
Tests replace the class at this seam (`PROVIDERS["stripe"] = FakeStripeProvider`). The provider
methods speak in plain dataclasses, so nothing outside `orders/providers/stripe.py` sees a Stripe
object (or imports `stripe`).
"""

from __future__ import annotations

from flask import current_app

from orders.providers.base import (  # noqa: F401  (the providers' vocabulary, imported from here by callers)
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


def _stripe_provider():
    # stripe (and requests) only in a process that speaks to Stripe (tests/bench/test_worker_footprint.py)
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
