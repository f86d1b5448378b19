"""The buyer's 取消订单 done already (the step confirmed again after Back, a second tap, the API called
twice) is not a mistake: the order's page says it is canceled, with no error, the API answers the order
(200), and nothing happens twice (one status change, one refund, the stock released once). The rule
lives in the service (`orders.services.payments.order_canceled_already`, asked by `buyer_cancel_order`
under the order's lock), which the buyer's pages and the API follow; the bookings' twin is
tests/tourism/test_guest_cancel_already.py."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from orders.models import Order, OrderStatus, Refund
from orders.services.payments import confirm_payment, start_payment
from shop.history import history_of
from stock.models import StockRecord
from tests.factories import make_product, make_user
from tests.orders.factories import make_order


@pytest.fixture
def paid_order(db, fake_stripe, now):
    """An order of 3 of a ¥10 product (5 in stock) paid by card: what it makes for `buyer`."""

    def make(buyer) -> Order:
        order = make_order(buyer, [(make_product(price_fen=1000, stock=5), 3)], now=now, payment_method="card")
        payment = start_payment(order.payments[0], now=now)
        fake_stripe.succeed(payment.provider_ref)
        confirm_payment(payment, now=now)
        db.session.commit()
        assert order.status == OrderStatus.CONFIRMED
        return order

    return make


def _done_once(db, order_id: int) -> None:
    """Canceled, with one status change, one refund of all that was paid and its stock released."""
    db.session.expire_all()
    order = db.session.get_one(Order, order_id)
    assert order.status == OrderStatus.CANCELED
    assert [e.to_status for e in history_of(order)].count(OrderStatus.CANCELED) == 1
    assert [r.amount_fen for r in db.session.scalars(sa.select(Refund))] == [order.total_fen]
    assert db.session.scalar(sa.select(StockRecord.allocated)) == 0


def test_a_cancel_confirmed_again_says_it_is_canceled_without_an_error(client, db, auth, paid_order):
    buyer = make_user()
    order = paid_order(buyer)
    auth.login(buyer)
    url = f"/orders/{order.code}/cancel?lang=zh_CN"
    assert client.post(url, data={"confirm": "1"}).status_code == 303
    for _ in range(2):  # the step confirmed again after Back; and once more
        again = client.post(url, data={"confirm": "1"}, follow_redirects=True)
        said = again.get_data(as_text=True)
        assert again.status_code == 200 and again.request.path == f"/orders/{order.code}"
        assert "订单已取消" in said and "订单当前状态不能取消" not in said
    _done_once(db, order.id)


def test_a_cancel_sent_twice_through_the_api_answers_the_order_both_times_and_refunds_once(
    client, db, api_token, paid_order
):
    """The API's cancel follows the page's rule (its second call answered 409 order_not_cancelable)."""
    buyer = make_user()
    order = paid_order(buyer)
    headers = api_token(buyer)
    answers = [client.post(f"/api/v1/orders/{order.code}/cancel", headers=headers) for _ in range(2)]
    assert [(a.status_code, a.json["status"]) for a in answers] == [(200, "canceled"), (200, "canceled")]
    assert answers[1].json == answers[0].json  # the order unchanged
    _done_once(db, order.id)
