"""Partial refunds by quantity: a buyer who received 5 bags and found 2 spoiled asks for 2 (the order page's
form, `POST /api/v1/orders/{code}/lines/{id}/refund-request` with `quantity`), the station approves, and
exactly their price goes back the way the order was paid (a card: a partial refund through the provider;
cash: out of the till, in the cash book). The ledger reverses the credit of the units refunded so far,
cumulatively rounded, so after the last unit the line's net credit is zero to the fen; the order page says
已退款 2/5; the reconciliation finds nothing. Bad quantities are refused and change nothing."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from county.services.reconcile import check
from ledger.models import IncomeEntry, SaleFigure
from orders.models import CashEntry, LineStatus, OrderLine, Refund, RefundRequest
from orders.services.payments import confirm_payment, start_payment
from shop.db import commit
from shop.money import format_yuan
from stations.services import fulfilment
from tests.factories import make_category, make_household, make_product, make_station, make_user, make_village
from tests.orders.factories import make_order

PRICE = 3333
UNITS = 5


@pytest.fixture
def shop(db):
    """A station taking 10 % commission, a product of two households (weights 2:1), its operator, a buyer."""
    village = make_village()
    station = make_station(village=village, commission_bps=1000)
    households = [make_household(village=village), make_household(village=village)]
    product = make_product(
        price_fen=PRICE,
        stock=20,
        station=station,
        category=make_category(),
        households=households,
        weights=[2, 1],
        unit="袋",
    )
    operator = make_user(role="operator", station=station)
    return product, operator, make_user(), [h.id for h in households]


def _delivered(shop, now, method, fake_stripe=None, units=UNITS):
    """An order of `units` bags delivered to the buyer with its money (a card captured, cash on delivery taken)."""
    product, operator, buyer, _h = shop
    order = make_order(buyer, [(product, units)], now=now, payment_method=method)
    if method == "card":
        payment = start_payment(order.payments[0], now=now)
        fake_stripe.succeed(payment.provider_ref)
        assert confirm_payment(payment, now=now)
    shipment = order.shipments[0]
    fulfilment.accept(shipment, actor=operator, now=now)
    fulfilment.pack(shipment, actor=operator, now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=operator, now=now)
    cash = fulfilment.shipment_amount_fen(shipment) if method != "card" else None
    fulfilment.deliver(shipment, actor=operator, now=now, cash_received_fen=cash)
    commit()
    return order


def _round(total: int, units: int) -> int:
    """round(total × units ÷ UNITS), halves up (what the ledger scales a credit by)."""
    return (2 * total * units + UNITS) // (2 * UNITS)


def _reversed(db, line_id) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(IncomeEntry.household_id, sa.func.sum(IncomeEntry.amount_fen))
        .where(IncomeEntry.order_line_id == line_id, IncomeEntry.kind == "reversal")
        .group_by(IncomeEntry.household_id)
    ).all()
    return {h: -int(v) for h, v in rows}


def _credited(db, line_id) -> dict[int, int]:
    rows = db.session.execute(
        sa.select(IncomeEntry.household_id, sa.func.sum(IncomeEntry.amount_fen))
        .where(IncomeEntry.order_line_id == line_id, IncomeEntry.kind == "sale")
        .group_by(IncomeEntry.household_id)
    ).all()
    return {h: int(v) for h, v in rows}


def _figures(db, line_id) -> dict[str, int]:
    columns = ("sale_fen", "household_fen", "commission_fen", "collective_fen", "purchased_fen")
    row = db.session.execute(
        sa.select(*(sa.func.coalesce(sa.func.sum(getattr(SaleFigure, c)), 0) for c in columns)).where(
            SaleFigure.order_line_id == line_id
        )
    ).one()
    return dict(zip(columns, map(int, row)))


def _expected_reversal(credited: dict[int, int], units: int) -> dict[int, int]:
    """The credit scaled to `units` refunded: each household's credit rounded on its own (a household
    with nothing reversed yet has no row)."""
    return {h: _round(fen, units) for h, fen in credited.items() if _round(fen, units)}


def _mine(discrepancies, order):
    return [d for d in discrepancies if d["order_id"] == order.id]


def _ask(client, headers, order, line, **body):
    return client.post(
        f"/api/v1/orders/{order.code}/lines/{line.id}/refund-request",
        headers=headers,
        json={"kind": "refund_only", "reason": "坏了", **body},
    )


def test_two_partial_refunds_then_the_rest_to_the_card(db, now, client, api_token, fake_stripe, shop):
    """2 bags, then 1, then the rest (no quantity: all that is left): each a partial refund through the
    provider of exactly its bags' price; the reversal at every step is the credit scaled to the bags
    refunded so far; at the end the line's net credit and its sale figures are zero, money in = money out."""
    product, operator, buyer, households = shop
    order = _delivered(shop, now, "card", fake_stripe)
    line = order.lines[0]
    buyer_h, station_h = api_token(buyer), api_token(operator)
    credited = _credited(db, line.id)
    assert sum(credited.values()) > 0 and sorted(credited) == sorted(households)
    sold = _figures(db, line.id)
    steps = [({"quantity": 2}, 2, "坏了"), ({"quantity": 1}, 1, "又坏了一袋"), ({}, 2, "剩下的也坏了")]
    refunded = 0
    for body, units, reason in steps:
        asked = _ask(client, buyer_h, order, line, reason=reason, **body)
        assert asked.status_code == 201, asked.json
        assert (asked.json["refund_quantity"], asked.json["amount_fen"]) == (units, PRICE * units)
        decided = client.post(
            f"/api/v1/stations/refund-requests/{asked.json['id']}/decision",
            headers=station_h,
            json={"decision": "approve", "goods": "not_returned"},
        )
        assert decided.status_code == 200, decided.json
        assert decided.json["refund_fen"] == PRICE * units
        refunded += units
        assert decided.json["line_refunded_quantity"] == refunded
        db.session.expire_all()
        # the credit scaled to the bags refunded so far, household by household; the sale figures likewise
        assert _reversed(db, line.id) == _expected_reversal(credited, refunded)
        figures = _figures(db, line.id)
        for key in ("sale_fen", "commission_fen"):
            assert figures[key] == sold[key] - _round(sold[key], refunded), key
        assert figures["household_fen"] == sum(credited.values()) - sum(_expected_reversal(credited, refunded).values())
        assert _mine(check()["discrepancies"], order) == []
        shown = client.get(f"/api/v1/orders/{order.code}/refund-requests", headers=buyer_h).json["lines"][0]
        assert (shown["refunded_quantity"], shown["units_left"]) == (refunded, UNITS - refunded)
    line = db.session.get(OrderLine, line.id)
    assert line.status == LineStatus.REFUNDED and line.refunded_quantity == UNITS
    # through the provider: three partial refunds of exactly the bags' price
    assert [r["amount"] for r in fake_stripe.refunds] == [PRICE * 2, PRICE, PRICE * 2]
    payment = order.payments[0]
    db.session.refresh(payment)
    assert payment.refunded_fen == PRICE * UNITS == line.line_total_fen
    assert payment.amount_fen - payment.refunded_fen == order.shipping_fen  # the delivered parcel's shipping stays
    # net credit zero, household by household, and every part of the sale back to zero
    assert _reversed(db, line.id) == credited
    assert _figures(db, line.id) == dict.fromkeys(sold, 0)
    assert _mine(check()["discrepancies"], order) == []


def test_no_refund_step_gives_a_household_money_back(db, now, client, api_token, fake_stripe):
    """Three households with credits of 1, 13 and 13 fen on 5 units of a 6-fen product (weights 1:20:20):
    refunding 2 units, then 1, then the rest never writes a household a positive "reversal" (splitting the
    households' rounded total by largest remainder did: 1 fen reversed at 2 units, 0 at 3, so +1 fen), and
    each household's reversal so far is its own credit scaled to the units; zero net credit at the end."""
    village = make_village()
    station = make_station(village=village, commission_bps=1000)
    households = [make_household(village=village) for _ in range(3)]
    product = make_product(
        price_fen=6, stock=20, station=station, category=make_category(), households=households, weights=[1, 20, 20]
    )
    operator, buyer = make_user(role="operator", station=station), make_user()
    order = _delivered((product, operator, buyer, None), now, "card", fake_stripe)
    line = order.lines[0]
    credited = _credited(db, line.id)
    assert sorted(credited.values()) == [1, 13, 13]
    buyer_h, station_h = api_token(buyer), api_token(operator)
    refunded = 0
    for body, units in (({"quantity": 2}, 2), ({"quantity": 1}, 1), ({}, 2)):
        asked = _ask(client, buyer_h, order, line, reason=f"坏了 {units}", **body)
        assert asked.status_code == 201, asked.json
        decided = client.post(
            f"/api/v1/stations/refund-requests/{asked.json['id']}/decision",
            headers=station_h,
            json={"decision": "approve", "goods": "not_returned"},
        )
        assert decided.status_code == 200, decided.json
        refunded += units
        db.session.expire_all()
        assert _reversed(db, line.id) == _expected_reversal(credited, refunded)
        assert _mine(check()["discrepancies"], order) == []
    rows = db.session.scalars(
        sa.select(IncomeEntry.amount_fen).where(IncomeEntry.order_line_id == line.id, IncomeEntry.kind == "reversal")
    ).all()
    assert rows and all(amount < 0 for amount in rows)
    assert _reversed(db, line.id) == credited
    assert _figures(db, line.id)["household_fen"] == 0


@pytest.mark.parametrize(
    "quantity", [0, -1, UNITS + 1, "2", 2.5, True], ids=["zero", "negative", "more", "string", "float", "bool"]
)
def test_a_bad_quantity_is_refused_and_changes_nothing(db, now, client, api_token, fake_stripe, shop, quantity):
    product, operator, buyer, _h = shop
    order = _delivered(shop, now, "card", fake_stripe)
    answer = _ask(client, api_token(buyer), order, order.lines[0], quantity=quantity)
    assert answer.status_code == 422, answer.json
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RefundRequest)) == 0


def test_more_than_is_left_is_refused_after_a_partial_refund(db, now, client, api_token, fake_stripe, shop):
    product, operator, buyer, _h = shop
    order = _delivered(shop, now, "card", fake_stripe)
    line = order.lines[0]
    buyer_h = api_token(buyer)
    asked = _ask(client, buyer_h, order, line, quantity=2)
    client.post(
        f"/api/v1/stations/refund-requests/{asked.json['id']}/decision",
        headers=api_token(operator),
        json={"decision": "approve", "goods": "not_returned"},
    )
    too_many = _ask(client, buyer_h, order, line, quantity=4, reason="还有坏的")
    assert too_many.status_code == 422 and too_many.json["error"]["code"] == "invalid_refund_quantity"
    assert "1 到 3" in too_many.json["error"]["message"]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RefundRequest)) == 1
    db.session.expire_all()
    assert db.session.get(OrderLine, line.id).refunded_quantity == 2
    # another buyer asking for this order's line: 404, nothing asked
    other = _ask(client, api_token(make_user()), order, line, quantity=1, reason="不是我的")
    assert other.status_code == 404
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RefundRequest)) == 1


def test_a_restock_above_the_requests_units_is_refused(db, now, client, api_token, fake_stripe, shop):
    product, operator, buyer, _h = shop
    order = _delivered(shop, now, "card", fake_stripe)
    asked = _ask(client, api_token(buyer), order, order.lines[0], quantity=2, kind="return")
    decided = client.post(
        f"/api/v1/stations/refund-requests/{asked.json['id']}/decision",
        headers=api_token(operator),
        json={"decision": "approve", "goods": "restocked", "quantity": 3},
    )
    assert decided.status_code == 422 and decided.json["error"]["code"] == "invalid_restock_quantity"
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Refund)) == 0
    assert db.session.get(RefundRequest, asked.json["id"]).status == "requested"


def test_a_cash_on_delivery_line_refunded_in_parts_through_the_pages(db, now, client, auth, shop):
    """The order page's form asks for 2 bags (bad numbers refused with the form as typed), the station's
    page approves them back into stock: the courier takes ¥66.66 back out of the till (in the cash book),
    the order page says 已退款 2/5; then the rest: 已全部退款 5/5, the till holds only the shipping."""
    product, operator, buyer, _h = shop
    order = _delivered(shop, now, "cod")
    line = order.lines[0]
    form = f"/orders/{order.code}/lines/{line.id}/refund"
    auth.login(buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert f'name="quantity" min="1" max="{UNITS}"' in page and f'value="{UNITS}"' in page
    for bad in ("0", "abc", str(UNITS + 1)):
        refused = client.post(form, data={"kind": "return", "reason": "坏了", "quantity": bad})
        assert refused.status_code == 422
        assert f"退款数量须为 1 到 {UNITS} 之间的整数" in refused.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(RefundRequest)) == 0
    assert client.post(form, data={"kind": "return", "reason": "坏了", "quantity": "2"}).status_code == 303
    req = db.session.scalar(sa.select(RefundRequest))
    assert (req.quantity, req.amount_fen) == (2, PRICE * 2)
    auth.logout()

    auth.login(operator)
    assert f"申请退 2/{UNITS} 袋" in client.get("/refund-requests").get_data(as_text=True)
    approve = f"/refund-requests/{req.id}/approve"
    over = client.post(approve, data={"goods": "restocked", "quantity": "3", "confirm": "1"}, follow_redirects=True)
    assert "退回入库的数量须为 1 到 2 之间的整数" in over.get_data(as_text=True)
    asked = client.post(approve, data={"goods": "restocked", "quantity": "2"}, follow_redirects=True).get_data(
        as_text=True
    )
    assert f"退 2/{UNITS} 袋，退款 {format_yuan(PRICE * 2)}" in asked
    done = client.post(approve, data={"goods": "restocked", "quantity": "2", "confirm": "1"}, follow_redirects=True)
    assert f"请派人把现金 {format_yuan(PRICE * 2)} 送到顾客的收货地址退还" in done.get_data(as_text=True)
    _hand_back_owed(db, client)  # the staff took the cash to the address: it leaves the till's book now
    auth.logout()
    book = db.session.scalars(sa.select(CashEntry.amount_fen).where(CashEntry.kind == "refund")).all()
    assert book == [-PRICE * 2]

    auth.login(buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert f"已退款 2/{UNITS}" in page and f'max="{UNITS - 2}"' in page
    assert client.post(form, data={"kind": "refund_only", "reason": "其余也坏了"}).status_code == 303
    auth.logout()
    rest = db.session.scalars(sa.select(RefundRequest).order_by(RefundRequest.id.desc())).first()
    assert rest.quantity == UNITS - 2
    auth.login(operator)
    client.post(f"/refund-requests/{rest.id}/approve", data={"goods": "not_returned", "confirm": "1"})
    _hand_back_owed(db, client)
    auth.logout()
    auth.login(buyer)
    assert f"已全部退款 {UNITS}/{UNITS}" in client.get(f"/orders/{order.code}").get_data(as_text=True)
    db.session.expire_all()
    book = db.session.scalars(sa.select(CashEntry.amount_fen).where(CashEntry.kind == "refund")).all()
    assert book == [-PRICE * 2, -PRICE * 3]
    assert sum(db.session.scalars(sa.select(CashEntry.amount_fen).where(CashEntry.order_id == order.id))) == (
        order.shipping_fen
    )
    line = db.session.get(OrderLine, line.id)
    assert line.status == LineStatus.REFUNDED
    assert _reversed(db, line.id) == _credited(db, line.id)
    assert _mine(check()["discrepancies"], order) == []


def test_a_line_refunded_a_bag_at_a_time_is_asked_for_each_bag_for_the_same_reason(
    db, now, client, api_token, fake_stripe, shop
):
    """Approved requests counted against the limit of asking again (3) and their reasons against a new one
    (`refund_reason_unchanged`, which tells the buyer to answer the station's note — there was none): a
    buyer finding one more spoiled bag each day could not ask for the fourth, nor say 坏了 twice."""
    product, operator, buyer, _h = shop
    order = _delivered(shop, now, "card", fake_stripe)
    line = order.lines[0]
    buyer_h, station_h = api_token(buyer), api_token(operator)
    for refunded in range(1, UNITS + 1):
        asked = _ask(client, buyer_h, order, line, quantity=1)
        assert asked.status_code == 201, asked.json
        decided = client.post(
            f"/api/v1/stations/refund-requests/{asked.json['id']}/decision",
            headers=station_h,
            json={"decision": "approve", "goods": "not_returned"},
        )
        assert decided.status_code == 200 and decided.json["line_refunded_quantity"] == refunded, decided.json
    db.session.expire_all()
    assert db.session.get(OrderLine, line.id).status == LineStatus.REFUNDED
    assert [r["amount"] for r in fake_stripe.refunds] == [PRICE] * UNITS


def test_a_line_of_one_bag_says_its_one_bag_rather_than_asking_one_to_one(db, now, client, auth, shop):
    """A buyer who received one bag asks for a refund on the order page: the form says 退款数量：1 袋 with its
    price, not a number box between 1 and 1 (退款数量（1–1 袋…）); the request is for that bag."""
    product, _operator, buyer, _h = shop
    order = _delivered(shop, now, "cod", units=1)
    line = order.lines[0]
    auth.login(buyer)
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert f"退款数量：1 袋（单价 {format_yuan(PRICE)}）" in page
    assert "1–1" not in page and 'name="quantity" min="1"' not in page
    form = {"kind": "return", "reason": "坏了", "quantity": "1"}  # the form's hidden quantity
    asked = client.post(f"/orders/{order.code}/lines/{line.id}/refund", data=form)
    assert asked.status_code == 303
    req = db.session.scalar(sa.select(RefundRequest))
    assert (req.quantity, req.amount_fen) == (1, PRICE)


def _hand_back_owed(db, client) -> None:
    """The signed-in operator hands back (退还现金) every cash refund still owed."""
    for refund_id in db.session.scalars(sa.select(Refund.id).where(Refund.state == "owed")).all():
        assert client.post(f"/station/refunds/{refund_id}/hand-back", data={"confirm": "1"}).status_code == 302
