"""The buyer's order page in the reader's words."""

from __future__ import annotations

import re

from shop.db import commit
from tests.factories import make_product, make_user
from tests.orders.factories import make_order


def test_the_english_order_page_names_the_payment_a_payment_not_pay(client, auth, db, now):
    """支付 as a heading and in the order's history is a noun (Payment); the card button's 支付 stays Pay."""
    buyer = make_user()
    order = make_order(buyer, [(make_product(), 1)], now=now)
    commit()
    auth.login(buyer)
    page = client.get(f"/orders/{order.code}?lang=en").get_data(as_text=True)
    assert "<h2>Payment</h2>" in page
    assert "<h2>Pay</h2>" not in page and not re.search(r"\d\d:\d\d Pay ", page)
