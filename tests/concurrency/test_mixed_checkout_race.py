"""#21 on PostgreSQL: N buyers race through the same checkout for the last room night and the last
units of a product, each ordering one unit and that night (separate sessions, real commits).

Exactly as many win as the scarcer of the two allows; no night is overbooked and no unit oversold;
a buyer whose booking line fails (or whose goods ran out) has no order, no allocation, no hold and
no payment — all or nothing per order.
"""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from orders.bookables import BookingItem
from orders.models import Order, OrderPayment
from orders.services.placement import AddressData, PlacementRequest, place_order
from shop.errors import DomainError
from shop.extensions import db
from stock.models import StockRecord
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.factories import NOW, make_product, make_user
from tests.tourism.factories import make_listing
from tourism.models import Booking

pytestmark = [requires_postgres, pytest.mark.concurrency]

D = date(2026, 12, 10)
THREADS = 10
ADDRESS = AddressData("王小明", "13800000000", "江西省", "南昌市", "南昌县", "幸福路1号")


def _race(app, request_of, user_ids) -> list[str]:
    """Each user placing `request_of()` at once: "ok", the refusal's code, or an error the test fails on."""
    from shop.auth.models import User

    def buy(user_id) -> Loaded:
        return Loaded(
            lambda: db.session.get(User, user_id), lambda user: place_order(request_of(), buyer=user, now=NOW)
        )

    return at_once(app, [buy(u) for u in user_ids], refused=(DomainError,), seconds=90).labels


@pytest.mark.parametrize(
    ("rooms", "stock", "refused"),
    [
        (1, 5, "booking_line_unavailable"),  # the last room night is the scarce thing
        (6, 2, "out_of_stock"),  # the last units are
    ],
)
def test_mixed_checkout_race_never_overbooks_or_oversells(app, committed_db, monkeypatch, rooms, stock, refused):
    monkeypatch.setitem(app.config, "STRIPE_SECRET_KEY", "sk_test_fake")
    monkeypatch.setitem(app.config, "STRIPE_PUBLISHABLE_KEY", "pk_test_fake")
    product = make_product(price_fen=1500, stock=stock)
    listing = make_listing(units=rooms, max_guests=2)
    users = [make_user() for _ in range(THREADS)]
    db.session.commit()
    product_id, listing_id = product.id, listing.id

    def request_of():
        return PlacementRequest(
            items=[(product_id, 1)],
            payment_method="card",
            address=ADDRESS,
            bookings=[BookingItem(listing_id=listing_id, guests=2, check_in=D, check_out=D + timedelta(days=1))],
        )

    results = _race(app, request_of, [u.id for u in users])
    wins = min(rooms, stock)
    assert sorted(results) == sorted(["ok"] * wins + [refused] * (THREADS - wins)), results

    db.session.expire_all()
    record = db.session.scalar(sa.select(StockRecord).where(StockRecord.product_id == product_id))
    assert record.allocated == wins <= record.on_hand  # no oversell, nothing held by losers
    night = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(Booking.units), 0)).where(
            Booking.listing_id == listing_id, Booking.check_in_date <= D, Booking.check_out_date > D
        )
    )
    assert night == wins <= rooms  # no overbooking, no hold left by a loser
    orders = db.session.scalars(sa.select(Order)).all()
    assert len(orders) == wins and {o.user_id for o in orders} <= {u.id for u in users}
    for order in orders:  # every winner has its goods and its night in one order, one payment
        assert {line.kind for line in order.lines} == {"product", "booking"}
        assert order.total_fen == order.payments[0].amount_fen
    assert db.session.scalar(sa.select(sa.func.count()).select_from(OrderPayment)) == wins  # losers: no charge
