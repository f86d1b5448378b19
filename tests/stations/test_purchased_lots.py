"""#20: goods bought from a household at intake (订单收购) credit it `purchase` once, at intake; the lot
knows it was bought, and when its units are sold later no household is credited a second time, while
consigned units credit at sale. Every sale's money is accounted for to the fen (`SaleFigure`):
sale = households + commission + collective + purchased units."""

from __future__ import annotations

from datetime import date, timedelta

import sqlalchemy as sa

from ledger.models import IncomeEntry, SaleFigure
from ledger.purchases import credit_intake_purchase
from ledger.records import BenefitRecord
from shop.audit import AuditEntry
from shop.money import apply_bps
from shop.once import new_form_token
from stations.services import fulfilment
from stock.models import Lot, LotAllocation
from stock.services import receive_stock
from tests.factories import make_product
from tests.orders.factories import make_order

TODAY = date(2026, 11, 28)


def _entries(db, **where):
    query = sa.select(IncomeEntry)
    for key, value in where.items():
        query = query.where(getattr(IncomeEntry, key) == value)
    return db.session.scalars(query.order_by(IncomeEntry.id)).all()


def _figures(db, line_id):
    return db.session.scalars(
        sa.select(SaleFigure).where(SaleFigure.order_line_id == line_id).order_by(SaleFigure.id)
    ).all()


def _hand_over(world, order, now):
    shipment = order.shipments[0]
    op = world.a.operator
    fulfilment.accept(shipment, actor=op, now=now)
    fulfilment.pack(shipment, actor=op, now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=op, now=now)
    fulfilment.deliver(shipment, actor=op, now=now, cash_received_fen=fulfilment.shipment_amount_fen(shipment))


def _purchased_product(world, now, *, bought=3, consigned=5, price_fen=1000):
    """A product of station A (commission 10%) with a purchased lot of `bought` units (from h1, expiring
    first, so sold first) and a consigned lot of `consigned` units."""
    product = make_product(
        name="A收购大米",
        price_fen=price_fen,
        stock=0,
        station=world.a.station,
        category=world.category,
        households=[world.a.h1, world.a.h2],
        weights=[2, 1],
    )
    record = product.stock
    movement = receive_stock(
        record,
        bought,
        actor=world.a.operator,
        now=now,
        from_household_id=world.a.h1.id,
        best_before_date=TODAY + timedelta(days=10),
        purchase_price_fen=600,
    )
    lot = db_get(Lot, movement.lot_id)
    credit_intake_purchase(lot, actor=world.a.operator, now=now)
    if consigned:
        receive_stock(
            record,
            consigned,
            actor=world.a.operator,
            now=now,
            from_household_id=world.a.h2.id,
            best_before_date=TODAY + timedelta(days=30),
        )
    return product, lot


def db_get(model, key):
    from shop.extensions import db

    return db.session.get(model, key)


def test_the_station_page_receives_a_purchase_and_credits_the_household_once(client, auth, db, world):
    record = world.a.product.stock
    auth.login(world.a.operator)
    page = client.get(f"/station/stock/{record.id}").get_data(as_text=True)
    assert 'name="acquisition"' in page and 'name="purchase_price"' in page
    token = new_form_token()
    form = {
        "form_token": token,
        "quantity": "50",
        "from_household_id": str(world.a.h1.id),
        "acquisition": "purchased",
        "purchase_price": "2.40",
    }
    response = client.post(f"/station/stock/{record.id}/receive", data=form, follow_redirects=True)
    assert "收购款 ¥120.00 已记入农户收益" in response.get_data(as_text=True)
    client.post(f"/station/stock/{record.id}/receive", data=form)  # the same form again: nothing new
    lot = db.session.scalar(sa.select(Lot).where(Lot.purchase_price_fen.is_not(None)))
    assert (lot.received_quantity, lot.purchase_price_fen, lot.household_id) == (50, 240, world.a.h1.id)
    [entry] = _entries(db, benefit_kind="purchase")
    assert (entry.household_id, entry.amount_fen, entry.kind) == (world.a.h1.id, 12000, "recorded")
    assert (entry.station_id, entry.village_id) == (world.a.station.id, world.a.village.id)
    record_row = db.session.get(BenefitRecord, entry.record_id)
    assert record_row.lot_id == lot.id and record_row.kind == "purchase"
    audit = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "benefit.record")).all()
    assert len(audit) == 1 and audit[0].detail["lot"] == lot.code
    assert credit_intake_purchase(lot, actor=world.a.operator, now=lot.received_at) == record_row
    assert len(_entries(db, benefit_kind="purchase")) == 1
    page = client.get(f"/station/stock/{record.id}").get_data(as_text=True)
    assert 'data-acquisition="purchased"' in page and 'data-acquisition="consigned"' in page


def test_a_purchase_without_price_or_household_is_refused_and_changes_nothing(client, auth, db, world):
    record = world.a.product.stock
    auth.login(world.a.operator)
    lots = db.session.scalar(sa.select(sa.func.count()).select_from(Lot))
    for form in (
        {"quantity": "5", "from_household_id": str(world.a.h1.id), "acquisition": "purchased", "purchase_price": ""},
        {"quantity": "5", "from_household_id": "0", "acquisition": "purchased", "purchase_price": "3"},
        {"quantity": "5", "from_household_id": str(world.a.h1.id), "acquisition": "purchased", "purchase_price": "-3"},
        {
            "quantity": "100000",
            "from_household_id": str(world.a.h1.id),
            "acquisition": "purchased",
            "purchase_price": "9999",
        },  # 999,900,000 yuan: a typing error
        {"quantity": "5", "from_household_id": str(world.a.h1.id), "acquisition": "gift", "purchase_price": "3"},
        # an exponent past Decimal's precision was a 500 (InvalidOperation while rounding to fen)
        {
            "quantity": "5",
            "from_household_id": str(world.a.h1.id),
            "acquisition": "purchased",
            "purchase_price": "1e309",
        },
        {
            "quantity": "5",
            "from_household_id": str(world.a.h1.id),
            "acquisition": "purchased",
            "purchase_price": "1e-400",
        },
    ):
        response = client.post(
            f"/station/stock/{record.id}/receive", data={"form_token": new_form_token(), **form}, follow_redirects=True
        )
        assert response.status_code in (409, 422), form  # refused: the form again, as typed
        assert "已入库" not in response.get_data(as_text=True), form
    db.session.expire_all()
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lot)) == lots
    assert _entries(db, benefit_kind="purchase") == []


def test_purchased_units_sold_later_credit_no_household_consigned_units_do(db, world, now):
    product, lot = _purchased_product(world, now, bought=3, consigned=5, price_fen=1000)
    h1, h2 = world.a.h1, world.a.h2
    assert [(e.household_id, e.amount_fen) for e in _entries(db, benefit_kind="purchase")] == [(h1.id, 1800)]
    # 4 units: 3 from the purchased lot (first to expire), 1 consigned
    order = make_order(world.buyer, [(product, 4)], now=now, payment_method="cod")
    line = order.lines[0]
    held = dict(
        db.session.execute(
            sa.select(LotAllocation.lot_id, LotAllocation.allocated).where(LotAllocation.order_line_id == line.id)
        ).all()
    )
    assert held[lot.id] == 3
    _hand_over(world, order, now)
    sale = _entries(db, order_line_id=line.id)
    # the consigned unit's part: 1000 fen, less 10% commission = 900, split 2:1
    assert sorted((e.household_id, e.amount_fen, e.benefit_kind) for e in sale) == sorted(
        [(h1.id, 600, "sale"), (h2.id, 300, "sale")]
    )
    [figure] = _figures(db, line.id)
    assert (
        figure.sale_fen,
        figure.purchased_fen,
        figure.commission_fen,
        figure.household_fen,
        figure.collective_fen,
    ) == (4000, 3000, 100, 900, 0)
    # h1 earned its purchase once (at intake) and its share of the consigned unit: never the purchased units again
    assert sum(e.amount_fen for e in _entries(db, household_id=h1.id)) == 1800 + 600


def test_a_line_taken_wholly_from_a_purchased_lot_credits_nobody_and_its_refund_reverses_nobody(db, world, now):
    product, _lot = _purchased_product(world, now, bought=5, consigned=0, price_fen=1000)
    order = make_order(world.buyer, [(product, 2)], now=now, payment_method="cod")
    line = order.lines[0]
    _hand_over(world, order, now)
    assert _entries(db, order_line_id=line.id) == []
    [figure] = _figures(db, line.id)
    assert (figure.sale_fen, figure.purchased_fen, figure.household_fen, figure.commission_fen) == (2000, 2000, 0, 0)


def test_a_refund_of_a_mixed_line_reverses_only_the_consigned_part(db, world, now):
    from ledger.services import reverse_line

    product, _lot = _purchased_product(world, now, bought=2, consigned=5, price_fen=1000)
    order = make_order(world.buyer, [(product, 4)], now=now, payment_method="cod")
    line = order.lines[0]
    _hand_over(world, order, now)
    credited = sum(e.amount_fen for e in _entries(db, order_line_id=line.id))
    assert credited == 2000 - apply_bps(2000, 1000)  # two consigned units, less 10%
    reverse_line(line, now=now, amount_fen=2000, ref="refund:a")  # half the line's money back
    assert sum(e.amount_fen for e in _entries(db, order_line_id=line.id)) == credited // 2
    reverse_line(line, now=now, ref="refund:b")  # the rest
    assert sum(e.amount_fen for e in _entries(db, order_line_id=line.id)) == 0
    figures = _figures(db, line.id)
    for f in figures:
        assert f.sale_fen == f.household_fen + f.commission_fen + f.collective_fen + f.purchased_fen
    totals = [
        sum(getattr(f, k) for f in figures)
        for k in ("sale_fen", "household_fen", "commission_fen", "collective_fen", "purchased_fen")
    ]
    assert totals == [0, 0, 0, 0, 0]
