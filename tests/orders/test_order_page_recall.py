"""#23 the order page of a buyer whose line took a recalled lot: what it says of the money depends on
whether the order was paid (the cash-on-delivery case: tests/stations/test_station_recall.py)."""

from __future__ import annotations

from shop.db import commit
from tests.factories import make_lot, make_product, make_station, make_user
from tests.orders.factories import make_order


def test_a_buyer_who_paid_is_told_the_money_comes_back(db, client, auth, now, fake_stripe):
    """A paid order's recalled line says the money comes back without asking; an unpaid one (cash on
    delivery, above) said so too, of money never paid."""
    from orders.services.payments import confirm_payment, start_payment

    station = make_station()
    product = make_product(stock=0, station=station, price_fen=1000)
    lot = make_lot(product.stock, 3)
    operator = make_user(role="operator", station=station)
    buyer = make_user(email="paid@test.cn")
    order = make_order(buyer, [(product, 1)], now=now, payment_method="card")
    payment = start_payment(order.payments[0], now=now)
    fake_stripe.succeed(payment.provider_ref)
    confirm_payment(payment, now=now)
    commit()
    auth.login(operator)
    client.post(f"/station/lots/{lot.code}/recall", data={"reason": "抽检不合格", "confirm": "1"})
    auth.logout()
    auth.login(buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert "款项将退还给您，无需申请。" in page and "您还没有为它付款" not in page
