"""#23 on PostgreSQL: a recall racing the card payment of an unpaid order holding the lot (the webhook
arrives as the lot is recalled). Whoever comes first, the end is consistent and the buyer is told once:
either the order is canceled unpaid by the recall's rule (orders.services.recalled) and a payment that
landed anyway is refunded in full, or the payment confirmed the order first and its line waits, open and
listed, for the recall's one-step refund. Never a deadlock, never a paid order left canceled unrefunded."""

from __future__ import annotations

import logging
from datetime import timedelta

from orders.models import LineStatus, Order, OrderPayment, OrderStatus, PaymentState
from orders.services.payments import confirm_payment
from shop.db import commit
from stations.services import recalls
from stock.models import Lot
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.factories import NOW, make_lot, make_product, make_station, make_user
from tests.orders.factories import make_order
from tests.sent_mail import recall_mails
from tests.stations.lot_checks import assert_lots_exact

ROUNDS = 4


@requires_postgres
def test_a_recall_racing_the_payment_of_an_unpaid_order_ends_consistent(app, committed_db, caplog, fake_stripe):
    db = committed_db
    caplog.set_level(logging.INFO, logger="shop.mail")
    for round_ in range(ROUNDS):
        station = make_station()
        product = make_product(stock=0, station=station, price_fen=1000)
        lot = make_lot(product.stock, 3, best_before=NOW.date() + timedelta(days=5))
        county = make_user(role="county")
        email = f"unpaid-racer{round_}@test.cn"
        order = make_order(make_user(email=email), [(product, 2)], now=NOW, payment_method="card")
        ids = dict(lot=lot.id, county=county.id, order=order.id, payment=order.payments[0].id, record=product.stock.id)
        commit()

        def recall():
            from shop.auth.models import User

            return Loaded(
                lambda: (db.session.get(Lot, ids["lot"]), db.session.get(User, ids["county"])),
                lambda loaded: recalls.recall_lot(loaded[0], reason="抽检不合格", actor=loaded[1], now=NOW),
            )

        def webhook():
            return Loaded(
                lambda: db.session.get(OrderPayment, ids["payment"]),
                lambda payment: confirm_payment(payment, now=NOW, note="pi_race"),
            )

        race = at_once(app, [recall(), webhook()])
        assert race.errors == [] and race.refused == [] and race.won == [0, 1], race.outcomes
        db.session.expire_all()
        order = db.session.get(Order, ids["order"])
        payment = db.session.get(OrderPayment, ids["payment"])
        lot = db.session.get(Lot, ids["lot"])
        if order.status == OrderStatus.CANCELED:  # the recall's rule came first: the late payment went back
            assert payment.state == PaymentState.REFUNDED and payment.refunded_fen == payment.amount_fen
            assert all(line.status == LineStatus.CANCELED for line in order.lines)
            assert recalls.affected_lines(lot) == [] and lot.allocated == 0
        else:  # the payment came first: a paid order, its line left to the one-step refund
            assert order.status == OrderStatus.CONFIRMED and payment.state == PaymentState.CONFIRMED
            assert [a.action for a in recalls.affected_lines(lot)] == ["cancel"]
        assert len(recall_mails(caplog, email)) == 1  # told once, whichever way it went
        assert_lots_exact(db, ids["record"])
