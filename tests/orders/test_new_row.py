"""orders.services.common.new_row: a mapped class's constructor without the column attribute events."""
from __future__ import annotations

from datetime import datetime, timezone

import pytest
import sqlalchemy as sa

from orders.models import Order, OrderLine, OrderPayment
from orders.services.common import new_row

NOW = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)


def _order_values(user_id: int) -> dict:
    return dict(code="TESTNEWR", secret="s" * 22, user_id=user_id, status="confirmed", delivery="ship",
                payment_method="cod", ship_name="张伟", ship_phone="13800138000", ship_province="江西省",
                ship_city="南昌市", ship_district="南昌县", ship_line="莲塘镇1号", subtotal_fen=1200,
                shipping_fen=0, total_fen=1200, currency="CNY", expires_at=None, created_at=NOW)


def _values(obj) -> dict:
    return {k: v for k, v in obj.__dict__.items() if k != "_sa_instance_state"}


def test_new_row_leaves_the_object_as_the_constructor_does_and_a_flush_stores_it(db):
    from tests.factories import make_user

    user = make_user()
    built = Order(**_order_values(user.id))
    order = new_row(Order, **_order_values(user.id))
    assert _values(order) == _values(built)
    assert sa.inspect(order).transient
    line = new_row(OrderLine, order=order, kind="product", status="open", title="土鸡蛋", unit="盒",
                   unit_price_fen=600, quantity=2, line_total_fen=1200, commission_bps=0)
    payment = new_row(OrderPayment, order=order, number=1, provider="cod", state="pending", amount_fen=1200,
                      currency="CNY", refunded_fen=0, created_at=NOW)
    assert order.lines == [line] and order.payments == [payment]  # relationships keep their backrefs
    db.session.add(order)
    db.session.flush()  # the flush reads the dict and the relationships' history (foreign keys)
    db.session.expire_all()
    stored = db.session.get(Order, order.id)
    assert (stored.code, stored.user_id, stored.ship_city, stored.total_fen) == ("TESTNEWR", user.id, "南昌市", 1200)
    assert [(l.title, l.quantity, l.benefit_split) for l in stored.lines] == [("土鸡蛋", 2, [])]
    assert [p.amount_fen for p in stored.payments] == [1200]
    db.session.rollback()


def test_new_row_refuses_an_unknown_keyword_as_the_constructor_does():
    with pytest.raises(TypeError):
        Order(colour="red")
    with pytest.raises(TypeError, match="colour"):
        new_row(Order, colour="red")
