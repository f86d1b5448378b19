"""#23 lots: every intake a lot; order lines take theirs first expiring first (or the lot scanned at
packing); corrections, releases and blocks keep lot numbers exact; an expired lot is never sold."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import sqlalchemy as sa

from orders.models import LineStatus
from shop.db import commit
from shop.errors import Conflict, ValidationError
from stations.services import fulfilment
from stock.models import Lot, LotAllocation, LotStatus
from stock.services import (
    OutOfStock,
    block_lot,
    correct_stock,
    expire_lots,
    line_lots,
    receive_stock,
    set_on_hand,
)
from tests.factories import make_lot, make_product, make_user
from tests.orders.factories import make_order
from tests.stations.lot_checks import assert_lots_exact

TODAY = date(2026, 11, 28)  # the `now` fixture's Beijing date


def _held(db, line_id) -> dict[str, int]:
    rows = db.session.execute(
        sa.select(Lot.code, LotAllocation.allocated, LotAllocation.consumed)
        .join(Lot, Lot.id == LotAllocation.lot_id)
        .where(LotAllocation.order_line_id == line_id)
    ).all()
    return {code: (allocated, consumed) for code, allocated, consumed in rows}


def test_intake_is_a_lot_with_origin_dates_and_a_code(db, world, now):
    record = world.a.product.stock
    movement = receive_stock(
        record,
        12,
        actor=world.a.operator,
        now=now,
        lot_note="第3批",
        harvest_date=date(2026, 11, 27),
        best_before_date=date(2026, 12, 20),
        from_household_id=world.a.h1.id,
    )
    lot = db.session.get(Lot, movement.lot_id)
    assert (lot.received_quantity, lot.on_hand, lot.allocated) == (12, 12, 0)
    assert (lot.harvest_date, lot.best_before_date, lot.household_id) == (
        date(2026, 11, 27),
        date(2026, 12, 20),
        world.a.h1.id,
    )
    assert lot.station_id == world.a.station.id and lot.product_id == world.a.product.id
    assert lot.code.startswith("L") and len(lot.code) == 12
    assert_lots_exact(db, record.id)


@pytest.mark.parametrize(
    "harvest, best_before, field",
    [
        (date(2026, 11, 29), None, "harvest_date"),  # in the future
        (date(2026, 11, 20), date(2026, 11, 10), "best_before_date"),  # before harvest
        (None, date(2026, 11, 27), "best_before_date"),  # already expired
    ],
)
def test_intake_with_impossible_dates_is_refused_and_changes_nothing(db, world, now, harvest, best_before, field):
    record = world.a.product.stock
    with pytest.raises(ValidationError) as err:
        receive_stock(record, 5, actor=world.a.operator, now=now, harvest_date=harvest, best_before_date=best_before)
    assert field in err.value.fields
    db.session.refresh(record)
    assert record.on_hand == 20
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Lot).where(Lot.stock_record_id == record.id)) == 1


def test_checkout_takes_the_first_expiring_lot_first_and_spans_lots(db, now):
    product = make_product(stock=0)
    record = product.stock
    late = make_lot(record, 5, best_before=TODAY + timedelta(days=30))
    undated = make_lot(record, 5)
    soon = make_lot(record, 3, best_before=TODAY + timedelta(days=2))
    order = make_order(make_user(), [(product, 2)], now=now)
    assert _held(db, order.lines[0].id) == {soon.code: (2, 0)}
    order = make_order(make_user(), [(product, 5)], now=now)
    assert _held(db, order.lines[0].id) == {soon.code: (1, 0), late.code: (4, 0)}
    order = make_order(make_user(), [(product, 3)], now=now)
    assert _held(db, order.lines[0].id) == {late.code: (1, 0), undated.code: (2, 0)}
    assert_lots_exact(db, record.id)


def test_one_checkout_of_several_products_takes_each_from_its_own_lots_first_expiring_first(db, now):
    """The lots of every line are taken in one go (one statement on PostgreSQL): each line from its
    own record's lots, first expiring first, a partly allocated lot's free units first, undated last;
    a blocked lot and an expired one are passed over; the lots stay exact."""
    first, second = make_product(stock=0), make_product(stock=0)
    a_late = make_lot(first.stock, 4, best_before=TODAY + timedelta(days=20))
    a_soon = make_lot(first.stock, 2, best_before=TODAY + timedelta(days=5))
    b_undated = make_lot(second.stock, 9)
    b_expired = make_lot(second.stock, 5, best_before=TODAY - timedelta(days=1))
    b_recalled = make_lot(second.stock, 5, best_before=TODAY + timedelta(days=1))
    b_recalled.status = LotStatus.RECALLED
    b_soon = make_lot(second.stock, 3, best_before=TODAY + timedelta(days=3))
    db.session.flush()
    make_order(make_user(), [(second, 1)], now=now)  # b_soon keeps 2 free units
    order = make_order(make_user(), [(second, 4), (first, 5)], now=now)
    held = {line.product_id: _held(db, line.id) for line in order.lines}
    assert held == {
        first.id: {a_soon.code: (2, 0), a_late.code: (3, 0)},
        second.id: {b_soon.code: (2, 0), b_undated.code: (2, 0)},
    }
    for lot in (b_expired, b_recalled):
        db.session.refresh(lot)
        assert lot.allocated == 0
    assert_lots_exact(db, first.stock.id)
    assert_lots_exact(db, second.stock.id)


def test_an_expired_lot_is_never_sold_even_before_the_schedule_blocks_it(db, now, client, api_token):
    product = make_product(stock=0)
    record = product.stock
    make_lot(record, 4, best_before=TODAY - timedelta(days=1))
    fresh = make_lot(record, 1, best_before=TODAY + timedelta(days=3))
    buyer = make_user()
    with pytest.raises(OutOfStock):
        with db.session.begin_nested():
            make_order(buyer, [(product, 2)], now=now)
    order = make_order(buyer, [(product, 1)], now=now)
    assert _held(db, order.lines[0].id) == {fresh.code: (1, 0)}
    assert_lots_exact(db, record.id)


def test_expired_lots_are_blocked_by_the_schedule_and_leave_the_shop(db, now, client):
    product = make_product(stock=0)
    record = product.stock
    old = make_lot(record, 4, best_before=TODAY - timedelta(days=1))
    make_order(make_user(), [(product, 1)], now=now - timedelta(days=3))  # sold while fresh
    assert expire_lots(now=now) == [old.id]
    db.session.refresh(old)
    db.session.refresh(record)
    assert (old.status, old.on_hand, old.allocated, old.blocked) == (LotStatus.EXPIRED, 1, 1, 3)
    assert (record.on_hand, record.allocated) == (1, 1)
    assert product.available == 0
    assert expire_lots(now=now) == []  # once
    assert_lots_exact(db, record.id)
    api = client.get(f"/api/v1/products/{product.id}")
    assert api.status_code == 200 and api.json["stock"] == 0


def test_expired_lot_at_packing_is_refused_until_another_lot_is_scanned(db, world, now):
    product = world.a.product
    record = product.stock
    first = db.session.scalar(sa.select(Lot).where(Lot.stock_record_id == record.id))
    other = make_lot(record, 5, best_before=TODAY + timedelta(days=40))
    db.session.execute(sa.update(Lot).where(Lot.id == first.id).values(best_before_date=TODAY + timedelta(days=1)))
    order = make_order(world.buyer, [(product, 2)], now=now, payment_method="cod")
    line = order.lines[0]
    assert _held(db, line.id) == {first.code: (2, 0)}
    shipment = order.shipments[0]
    later = now + timedelta(days=2)
    fulfilment.accept(shipment, actor=world.a.operator, now=later)
    with pytest.raises(Conflict) as err:
        with db.session.begin_nested():
            fulfilment.pack(shipment, actor=world.a.operator, now=later)
    assert err.value.code == "lot_not_sellable" and first.code in err.value.message
    fulfilment.pack(shipment, actor=world.a.operator, now=later, lots={line.id: other.code.lower()})
    assert _held(db, line.id) == {first.code: (0, 0), other.code: (2, 0)}
    assert shipment.status == "packed"
    fulfilment.ship(shipment, tracking_number="SF1", actor=world.a.operator, now=later)
    fulfilment.deliver(
        shipment, actor=world.a.operator, now=later, cash_received_fen=fulfilment.shipment_amount_fen(shipment)
    )
    assert _held(db, line.id)[other.code] == (0, 2)
    assert [lot.code for lot in line_lots([line.id])[line.id]] == [other.code]
    assert_lots_exact(db, record.id)


@pytest.mark.parametrize("case", ["other_product", "short", "unknown"])
def test_a_scanned_lot_that_cannot_supply_the_line_is_refused_and_changes_nothing(db, world, now, case):
    product = world.a.product
    order = make_order(world.buyer, [(product, 3)], now=now)
    line, shipment = order.lines[0], order.shipments[0]
    before = _held(db, line.id)
    code = {
        "other_product": lambda: db.session.scalar(sa.select(Lot.code).where(Lot.product_id == world.b.product.id)),
        "short": lambda: make_lot(product.stock, 2).code,
        "unknown": lambda: "LNOSUCHLOT99",
    }[case]()
    fulfilment.accept(shipment, actor=world.a.operator, now=now)
    with pytest.raises(Conflict) as err:
        with db.session.begin_nested():
            fulfilment.pack(shipment, actor=world.a.operator, now=now, lots={line.id: code})
    # each refusal names its rule (a lot of another product, or none by that code; a lot that is short)
    assert err.value.code == ("lot_unavailable" if case == "short" else "lot_not_of_product")
    db.session.refresh(shipment)
    assert shipment.status == "accepted" and _held(db, line.id) == before
    assert_lots_exact(db, product.stock.id)


def test_corrections_keep_lot_quantities_exact(db, world, now):
    record = world.a.product.stock
    op = world.a.operator
    second = receive_stock(record, 10, actor=op, now=now, best_before_date=TODAY + timedelta(days=5)).lot_id
    for _ in range(2):  # 6 + 4 from the dated lot, then 2 from the first
        make_order(make_user(), [(world.a.product, 6)], now=now)
    correct_stock(record, -3, reason="破损", actor=op, now=now)  # from the first lot's free units
    with pytest.raises(Conflict):  # the dated lot is fully allocated: no unit of it can go
        with db.session.begin_nested():
            correct_stock(record, -1, reason="盘亏", actor=op, now=now, lot=db.session.get(Lot, second))
    correct_stock(record, 4, reason="盘盈", actor=op, now=now)  # into the newest lot
    correct_stock(record, -1, reason="盘亏", actor=op, now=now, lot=db.session.get(Lot, second))
    assert db.session.get(Lot, second).on_hand == 13
    set_on_hand(record, 12, reason="盘点", actor=op, now=now)
    db.session.refresh(record)
    assert (record.on_hand, record.allocated) == (12, 12)
    with pytest.raises(Conflict):
        with db.session.begin_nested():
            correct_stock(record, -1, reason="盘亏", actor=op, now=now)
    assert_lots_exact(db, record.id)


def test_a_surplus_with_no_lot_goes_into_a_new_lot(db, now):
    product = make_product(stock=0)
    operator = make_user(role="operator", station=product.station)
    set_on_hand(product.stock, 3, reason="盘点", actor=operator, now=now)
    lots = db.session.scalars(sa.select(Lot).where(Lot.product_id == product.id)).all()
    assert [(lot.on_hand, lot.note) for lot in lots] == [(3, "盘点")]
    assert_lots_exact(db, product.stock.id)


def test_units_given_back_to_a_blocked_lot_are_blocked(db, world, now):
    record = world.a.product.stock
    lot = db.session.scalar(sa.select(Lot).where(Lot.stock_record_id == record.id))
    order = make_order(world.buyer, [(world.a.product, 5)], now=now)
    assert block_lot(lot, LotStatus.RECALLED, now=now, actor=world.admin, reason="检出超标") == 15
    db.session.refresh(record)
    assert (record.on_hand, record.allocated) == (5, 5)
    line = order.lines[0]
    fulfilment.cancel_line(line, actor=world.a.operator, now=now, reason="批次召回")
    db.session.refresh(lot)
    db.session.refresh(record)
    assert (lot.on_hand, lot.allocated, lot.blocked) == (0, 0, 20)
    assert (record.on_hand, record.allocated) == (0, 0)
    assert db.session.get(type(line), line.id).status == LineStatus.REFUNDED
    assert_lots_exact(db, record.id)


def test_a_recalled_lot_never_leaves_the_counter(db, world, now):
    record = world.a.product.stock
    lot = db.session.scalar(sa.select(Lot).where(Lot.stock_record_id == record.id))
    from tests.stations.factories import PICKUP_CODE

    order = make_order(
        world.buyer,
        [(world.a.product, 1)],
        now=now,
        payment_method="station_cash",
        delivery="pickup",
        pickup_station_id=world.a.station.id,
    )
    shipment = order.shipments[0]
    for step in (fulfilment.accept, fulfilment.pack):
        step(shipment, actor=world.a.operator, now=now)
    block_lot(lot, LotStatus.RECALLED, now=now, actor=world.admin, reason="检出超标")
    with pytest.raises(Conflict) as err:
        with db.session.begin_nested():
            fulfilment.hand_over_pickup(
                shipment,
                pickup_code=shipment.pickup_code,
                actor=world.a.operator,
                now=now,
                cash_received_fen=fulfilment.shipment_amount_fen(shipment),
            )
    assert err.value.code == "lot_recalled" and PICKUP_CODE
    assert_lots_exact(db, record.id)


def test_a_parcel_already_on_its_way_is_still_booked_as_delivered(db, world, now):
    record = world.a.product.stock
    lot = db.session.scalar(sa.select(Lot).where(Lot.stock_record_id == record.id))
    order = make_order(world.buyer, [(world.a.product, 1)], now=now, payment_method="cod")
    shipment = order.shipments[0]
    for step in (fulfilment.accept, fulfilment.pack):
        step(shipment, actor=world.a.operator, now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=world.a.operator, now=now)
    block_lot(lot, LotStatus.RECALLED, now=now, actor=world.admin, reason="检出超标")
    fulfilment.deliver(
        shipment, actor=world.a.operator, now=now, cash_received_fen=fulfilment.shipment_amount_fen(shipment)
    )
    db.session.refresh(lot)
    assert (lot.on_hand, lot.allocated, lot.blocked) == (0, 0, 19)
    assert_lots_exact(db, record.id)


def test_a_lot_with_nothing_left_reads_sold_out_not_for_sale(db, world, now, client, auth):
    """A lot whose every unit is gone (sold and handed over, or corrected away) read 可售 on the stock record
    and on its own page beside 在库 0: the operator looked for the bags. It reads 已售罄; one with units, 可售."""
    record = world.a.product.stock
    op = world.a.operator
    lot = db.session.get(Lot, receive_stock(record, 2, actor=op, now=now).lot_id)
    correct_stock(record, -2, reason="破损", actor=op, now=now, lot=lot)
    commit()
    auth.login(op)
    page = client.get(f"/station/lots/{lot.code}").get_data(as_text=True)
    assert "已售罄" in page and "可售" not in page
    stock = client.get(f"/station/stock/{record.id}").get_data(as_text=True)
    row = stock[stock.index(f"<code>{lot.code}</code>") :]
    row = row[: row.index("</tr>")]
    assert "已售罄" in row and "可售" not in row
    assert "可售</td>" in stock  # the other lots, with units, still for sale
