"""Tourism fixtures: card payments through the orders pipeline with the fake Stripe provider."""

from __future__ import annotations

import pytest

from orders import providers
from tests.orders.factories import WEBHOOK_SECRET, FakeStripeProvider


@pytest.fixture
def fake_stripe(app, monkeypatch):
    FakeStripeProvider.reset()
    monkeypatch.setitem(providers.PROVIDERS, "stripe", FakeStripeProvider)
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_PUBLISHABLE_KEY", "pk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_WEBHOOK_SECRET", WEBHOOK_SECRET)
    yield FakeStripeProvider
    FakeStripeProvider.reset()
