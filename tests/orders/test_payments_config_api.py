"""GET /api/v1/payments/config: what an app needs to offer card payments, anonymously."""

import pytest


def test_card_payments_off_without_stripe_keys(client, db, app, monkeypatch):
    """The embedded default: no Stripe keys, no card payments, no key to give; the other methods need none."""
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "")
    monkeypatch.setitem(app.config, "STRIPE_PUBLISHABLE_KEY", "")
    r = client.get("/api/v1/payments/config")
    assert r.status_code == 200 and r.json == {"card": False, "publishable_key": None, "currency": "CNY"}


@pytest.mark.usefixtures("fake_stripe")
def test_card_payments_on_give_the_publishable_key_and_never_the_secret_one(client, db):
    r = client.get("/api/v1/payments/config")
    assert r.status_code == 200 and r.json == {"card": True, "publishable_key": "pk_test_fake", "currency": "CNY"}
    assert "sk_test_fake" not in r.get_data(as_text=True)


def test_a_publishable_key_alone_does_not_turn_cards_on(client, db, app, monkeypatch):
    """Cards need both keys (orders.providers.card_payments_enabled, the checkout's rule): with the publishable
    key only, the app is told cards are off, and given no key."""
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "")
    monkeypatch.setitem(app.config, "STRIPE_PUBLISHABLE_KEY", "pk_test_alone")
    assert client.get("/api/v1/payments/config").json == {"card": False, "publishable_key": None, "currency": "CNY"}
