"""The sale the tests of one sale traced share, its page's (tests/county/test_sale_trace.py) and its API's
(tests/county/test_sale_api.py), on the county's `world` (tests/county/conftest.py)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from county.services import payouts
from ledger.services import reverse_line
from orders.models import OrderPayment, Refund
from shop.extensions import db
from stock.models import Lot, LotAllocation
from tests.factories import make_product


def sold_from_a_lot_and_paid(world, now):
    """(product, lot, batch): the world's first line sold as 土鸡蛋 · 30枚装 of its first station, 3 units
    taken from the product's lot; its first household given a card account, and a payout batch of the last
    30 days made (paying that household's share; the second has no account). Not committed."""
    line = world["lines"][0]
    product = make_product(station=world["stations"][0], name="土鸡蛋", stock=10)
    product.variant_label = "30枚装"
    lot = db.session.scalar(sa.select(Lot).where(Lot.product_id == product.id))
    line.product_id = product.id
    db.session.add(LotAllocation(order_line_id=line.id, lot_id=lot.id, allocated=0, consumed=3))
    payouts.set_account(
        world["households"][0],
        kind="huinong_card",
        number="6228480012345678",
        bank_name="农商银行",
        actor=None,
        now=now,
    )
    today = (now + timedelta(hours=8)).date()
    batch = payouts.create_batch(period_from=today - timedelta(days=30), period_to=today, actor=None, now=now).batch
    return product, lot, batch


def refunded(line, now) -> Refund:
    """A card refund of ¥5.00 (破损) of `line`, succeeded, and its reversal in the ledger. Not committed."""
    payment = db.session.scalar(sa.select(OrderPayment).where(OrderPayment.order_id == line.order_id))
    refund = Refund(
        payment_id=payment.id, order_line_id=line.id, amount_fen=500, state="succeeded", reason="破损", created_at=now
    )
    db.session.add(refund)
    db.session.flush()
    reverse_line(line, now=now, amount_fen=500, ref=f"refund:{refund.id}")
    return refund
