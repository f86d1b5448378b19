"""#23 recalls on PostgreSQL: two recalls of one lot at once (a double tap, the station and the county
together) recall it once and mail each buyer once; a checkout racing a recall never takes units of the
recalled lot without its buyer being listed and told."""

from __future__ import annotations

import logging
from datetime import timedelta

import sqlalchemy as sa

from orders.models import Order, OrderLine
from shop.audit import AuditEntry
from shop.db import commit
from stations.services import recalls
from stock.models import Lot, LotAllocation, LotStatus
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.factories import NOW, make_lot, make_product, make_station, make_user
from tests.orders.factories import make_order
from tests.sent_mail import recall_mails
from tests.stations.lot_checks import assert_lots_exact

ROUNDS = 3


@requires_postgres
def test_two_recalls_of_one_lot_at_once_recall_it_once_and_mail_each_buyer_once(app, committed_db, caplog):
    """Both requests read the lot as active before either commits: the second judged it from that read
    and mailed every buyer again, with a second audit entry. It is read again under the lock."""
    db = committed_db
    station = make_station()
    product = make_product(stock=0, station=station)
    lot = make_lot(product.stock, 4)
    make_order(make_user(email="race-buyer@test.cn"), [(product, 2)], now=NOW, payment_method="cod")
    operator = make_user(role="operator", station=station)
    county = make_user(role="county")
    lot_id, actors = lot.id, (operator.id, county.id)
    commit()
    caplog.set_level(logging.INFO, logger="shop.mail")

    def work(actor_id, reason) -> Loaded:
        from shop.auth.models import User

        return Loaded(
            lambda: (db.session.get(Lot, lot_id), db.session.get(User, actor_id)),
            lambda loaded: recalls.recall_lot(loaded[0], reason=reason, actor=loaded[1], now=NOW),
        )

    race = at_once(app, [work(actors[0], "站点抽检不合格"), work(actors[1], "县级抽检不合格")])
    assert race.errors == [] and race.refused == [] and race.won == [0, 1]
    audits = db.session.scalar(
        sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "lot.recall")
    )
    assert audits == 1
    assert len(recall_mails(caplog, "race-buyer@test.cn")) == 1
    recalled = db.session.get(Lot, lot_id)
    assert recalled.status == LotStatus.RECALLED and recalled.blocked == 2
    assert_lots_exact(db, product.stock.id)


@requires_postgres
def test_a_checkout_racing_a_recall_takes_the_recalled_lot_only_before_it_and_then_its_buyer_is_told(
    app, committed_db, caplog
):
    db = committed_db
    caplog.set_level(logging.INFO, logger="shop.mail")
    for round_ in range(ROUNDS):
        station = make_station()
        product = make_product(stock=0, station=station)
        bad = make_lot(product.stock, 3, best_before=NOW.date() + timedelta(days=5))  # first expiring
        make_lot(product.stock, 5, best_before=NOW.date() + timedelta(days=60))
        county = make_user(role="county")
        email = f"racer{round_}@test.cn"
        buyer = make_user(email=email)
        ids = dict(product=product.id, lot=bad.id, county=county.id, buyer=buyer.id, record=product.stock.id)
        commit()

        def recall():
            from shop.auth.models import User

            return Loaded(
                lambda: (db.session.get(Lot, ids["lot"]), db.session.get(User, ids["county"])),
                lambda loaded: recalls.recall_lot(loaded[0], reason="抽检不合格", actor=loaded[1], now=NOW),
            )

        def checkout():
            from catalog.models import Product
            from shop.auth.models import User

            return Loaded(
                lambda: (db.session.get(User, ids["buyer"]), db.session.get(Product, ids["product"])),
                lambda loaded: make_order(loaded[0], [(loaded[1], 3)], now=NOW, payment_method="cod"),
            )

        race = at_once(app, [recall(), checkout()])
        assert race.errors == [] and race.refused == [] and race.won == [0, 1], race.outcomes
        lot = db.session.get(Lot, ids["lot"])
        took_bad = db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(LotAllocation.allocated), 0))
            .join(OrderLine, OrderLine.id == LotAllocation.order_line_id)
            .join(Order, Order.id == OrderLine.order_id)
            .where(LotAllocation.lot_id == lot.id, Order.user_id == ids["buyer"])
        )
        listed = {a.order.user_id for a in recalls.affected_lines(lot)}
        if took_bad:  # the checkout came first: its buyer is listed and told
            assert took_bad == 3 and listed == {ids["buyer"]}
            assert len(recall_mails(caplog, email)) == 1
        else:  # the recall came first: the checkout took lot B only
            assert listed == set() and lot.blocked == 3 and not recall_mails(caplog, email)
        assert_lots_exact(db, ids["record"])
