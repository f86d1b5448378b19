"""#18: `county reconcile` against money — clean after a mix of every case, and a planted
discrepancy is listed (CLI exit 1, and the 对账 page)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from county.services.reconcile import check
from orders.models import Refund, Shipment
from orders.services import payments
from orders.services.expiry import expire_pending_orders
from orders.services.refunds import approve_refund_request, request_refund
from stations.services import fulfilment
from tests.county.handover import hand_over
from tests.factories import make_household, make_product, make_station, make_user, make_village
from tests.orders.factories import FakeStripeProvider, make_order


def _world():
    village = make_village()
    station = make_station(village=village, commission_bps=1000)
    households = [make_household(village=village), make_household(village=village)]
    products = [
        make_product(price_fen=price, stock=100, station=station, households=households, weights=[2, 1])
        for price in (1999, 3001)
    ]
    return station, products, make_user(role="operator", station=station), make_user()


def _paid_card_order(buyer, items, now):
    order = make_order(buyer, items, now=now, payment_method="card")
    payment = payments.start_payment(order.payments[0], now=now)
    FakeStripeProvider.succeed(payment.provider_ref)
    payments.sync_payment(payment, now=now)
    return order


def test_reconcile_is_clean_after_a_mix_and_lists_a_planted_discrepancy(app, db, now, fake_stripe, client):
    station, (a, b), op, buyer = _world()
    # card: paid and delivered, then one line refunded after delivery
    card = _paid_card_order(buyer, [(a, 1), (b, 2)], now)
    hand_over(card, op, now)
    req = request_refund(card, card.lines[0].id, actor=buyer, now=now, reason="坏了", kind="refund_only")
    approve_refund_request(req.id, actor=op, now=now, goods="not_returned")
    # card: a line canceled before shipping, the rest canceled by the buyer
    card2 = _paid_card_order(buyer, [(a, 1), (b, 1)], now)
    fulfilment.cancel_line(card2.lines[0], actor=op, now=now, reason="缺货")
    payments.cancel_order(card2, actor=buyer, now=now, reason="不要了")
    # card: never paid, expired
    make_order(buyer, [(a, 1)], now=now, payment_method="card")
    expire_pending_orders(now + timedelta(hours=2))
    # cash on delivery, handed over with its cash
    cod = make_order(buyer, [(a, 2)], now=now, payment_method="cod")
    hand_over(cod, op, now)
    # pay at station: cash taken early, a line canceled (cash back), the rest picked up, then refunded in cash
    counter = make_order(
        buyer, [(a, 1), (b, 1)], now=now, payment_method="station_cash", delivery="pickup", pickup_station_id=station.id
    )
    payments.confirm_counter_cash(counter.shipments[0], actor=op, now=now)
    fulfilment.cancel_line(counter.lines[0], actor=op, now=now, reason="缺货")
    hand_over(counter, op, now)
    req = request_refund(counter, counter.lines[1].id, actor=buyer, now=now, reason="坏了", kind="refund_only")
    approve_refund_request(req.id, actor=op, now=now, goods="not_returned")
    # pay at station, canceled by the buyer before anything was taken
    payments.cancel_order(
        make_order(
            buyer, [(b, 1)], now=now, payment_method="station_cash", delivery="pickup", pickup_station_id=station.id
        ),
        actor=buyer,
        now=now,
    )
    db.session.flush()
    result = check()
    assert result["discrepancies"] == [] and result["checked"] >= 8
    runner = app.test_cli_runner()
    out = runner.invoke(args=["county", "reconcile"])
    assert out.exit_code == 0, out.output

    # planted: a COD shipment marked delivered with no cash in the book (the bug of #18.1) ...
    planted = make_order(buyer, [(b, 1)], now=now, payment_method="cod")
    db.session.execute(sa.update(Shipment).where(Shipment.id == planted.shipments[0].id).values(status="delivered"))
    # ... and a cash refund that never left a till
    db.session.add(Refund(payment_id=cod.payments[0].id, amount_fen=100, state="succeeded", created_at=now))
    db.session.flush()
    db.session.expire_all()
    problems = {(d.get("subject"), d["problem"]) for d in check()["discrepancies"]}
    assert (planted.shipments[0].code, "cash_not_received") in problems
    assert any(problem == "cash_refund_not_in_book" for _s, problem in problems)
    out = runner.invoke(args=["county", "reconcile"])
    assert out.exit_code == 1 and planted.shipments[0].code in out.output and "cash_not_received" in out.output
