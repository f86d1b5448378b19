"""The counter takes cash ahead of the hand-over (确认已收现金) only of an order its buyer pays at the counter.

Cash on delivery (货到付款) of a parcel shipped home is paid at the door, to whoever brings it: the buyer is not
at the counter while the parcel is prepared, so the shipment page never offers the counter's early cash for it,
and a forged POST (with or without the confirmation) is refused with `cash_paid_at_the_door` and writes nothing
into the cash book. An order paid at the station (到站点付款), shipped or picked up, is still offered it.
"""

from __future__ import annotations

import html

import pytest
import sqlalchemy as sa

from orders.models import CashEntry, PaymentState
from orders.services import cashbook
from orders.services.payments import current_payment
from shop.db import commit
from shop.extensions import db as database
from stations.services import fulfilment
from tests.stations.factories import make_order

EARLY_CASH_BUTTON = "确认已收现金"
REFUSED = {
    "zh_CN": "货到付款的订单由送货人在送达时向收货人收款，不能在站点柜台提前确认收款",
    "en": "A cash-on-delivery order is paid to the courier by the recipient on delivery; "
    "its cash cannot be confirmed at the station's counter beforehand",
}


def _worked_to(shipment, status: str, operator, now):
    steps = {"new": (), "accepted": ("accept",), "packed": ("accept", "pack")}[status]
    for step in steps:
        fulfilment.apply_action(shipment, step, actor=operator, now=now)
    return shipment


def _book(shipment) -> tuple:
    """What the cash book and the payment hold for the shipment's order."""
    database.session.expire_all()
    rows = database.session.scalar(sa.select(sa.func.count(CashEntry.id)))
    return rows, cashbook.taken_entry(shipment.id), current_payment(shipment.order).state, shipment.order.paid_at


@pytest.mark.parametrize("status", ["new", "accepted", "packed"])
def test_a_cash_on_delivery_parcel_is_never_offered_the_counters_early_cash(db, world, now, client, auth, status):
    shipment = _worked_to(
        make_order([(world.a.product, 1)], payment_method="cod").shipments[0], status, world.a.operator, now
    )
    commit()
    auth.login(world.a.operator)
    page = client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True)
    assert f'action="/station/shipments/{shipment.code}/cash"' not in page
    assert EARLY_CASH_BUTTON not in page
    assert "货到付款" in page  # the page still says how the order is paid


@pytest.mark.parametrize("status", ["new", "accepted", "packed"])
@pytest.mark.parametrize("lang", ["zh_CN", "en"])
def test_a_forged_early_cash_post_for_a_cash_on_delivery_parcel_is_refused_and_books_nothing(
    db, world, now, client, auth, status, lang
):
    shipment = _worked_to(
        make_order([(world.a.product, 1)], payment_method="cod").shipments[0], status, world.a.operator, now
    )
    commit()
    before = _book(shipment)
    assert before[1] is None and before[2] != PaymentState.CONFIRMED
    auth.login(world.a.operator)
    for data in ({}, {"confirm": "1"}):  # the first POST, and one claiming to come from the confirmation page
        response = client.post(f"/station/shipments/{shipment.code}/cash?lang={lang}", data=data)
        assert response.status_code == 302, data
        assert not response.headers["Location"].startswith("/confirm/"), data
        page = client.get(response.headers["Location"]).get_data(as_text=True)
        assert REFUSED[lang] in html.unescape(page), data
        assert _book(shipment) == before, data
    assert shipment.status == status
