"""Bank transfer (对公转账) payment of an approved purchase's orders (#22): the order waits unpaid with the
payee's account and the reference; the county office or the selling station records the transfer;
no income is credited before it is recorded (nor before hand-over); recording it twice changes
nothing; a wrong amount is refused; refunds are bank refunds and the reconciliation balances; the
orders expire on the longer institutional term."""

from __future__ import annotations

import re
from datetime import timedelta

import sqlalchemy as sa

from county.services.reconcile import check as check_credits
from county.services.reconcile_money import check_money
from ledger.models import IncomeEntry
from orders.models import Order, OrderPayment, Refund
from orders.services.expiry import expire_pending_orders
from orders.services.payments import refund_line
from shop.audit import AuditEntry
from shop.db import commit
from shop.extensions import db as _db
from shop.history import StatusEvent
from shop.timeutil import local_date, now_utc
from tests.factories import make_household, make_product, make_station, make_user
from tests.institutions.factories import make_organisation
from tests.orders.factories import ADDRESS_JSON
from tests.page_language import chinese_ui_on_en, page_text_nodes


def _day(days: int = 7) -> str:
    return (local_date(now_utc()) + timedelta(days=days)).isoformat()


def _placed(client, api_token, *, method: str = "bank_transfer"):
    """An approved purchase of one organisation paid by bank transfer: one order, one shipment."""
    buyer, approver = make_user(name="采购小张"), make_user(name="财务老李")
    organisation = make_organisation(members={"buyer": buyer, "approver": approver})
    station = make_station()
    rice = make_product(
        name="南昌大米",
        price_fen=6000,
        stock=50,
        station=station,
        households=[make_household(village=station.villages[0])],
    )
    operator = make_user(role="operator", station=station)
    county = make_user(role="county")
    commit()
    b, a = api_token(buyer), api_token(approver)
    r = client.post(
        "/api/v1/purchases",
        headers=b,
        json={
            "organisation_id": organisation.id,
            "delivery": "ship",
            "requested_date": _day(),
            "payment_method": method,
            "destinations": [
                {"label": "本部食堂", "address": ADDRESS_JSON, "items": [{"product_id": rice.id, "quantity": 12}]}
            ],
        },
    )
    assert r.status_code == 201, r.json
    purchase_id = r.json["id"]
    client.post(f"/api/v1/purchases/{purchase_id}/submit", headers=b)
    r = client.post(f"/api/v1/purchases/{purchase_id}/approve", headers=a, json={})
    assert r.status_code == 200, r.json
    order = _db.session.scalar(sa.select(Order).where(Order.code == r.json["order_codes"][0]))
    return {
        "buyer": buyer,
        "operator": operator,
        "county": county,
        "order": order,
        "rice": rice,
        "station": station,
        "b": b,
    }


def _credited() -> int:
    return _db.session.scalar(sa.select(sa.func.coalesce(sa.func.sum(IncomeEntry.amount_fen), 0)))


def _transfer(client, headers, code, amount, reference="ABC2026120300017", **extra):
    return client.post(
        f"/api/v1/orders/{code}/bank-transfer",
        headers=headers,
        json={"amount_fen": amount, "reference": reference, **extra},
    )


def _walk(client, headers, order):
    for action in ("accept", "pack", "ship", "deliver"):
        body = {"action": action, **({"tracking_number": "SF1234567890"} if action == "ship" else {})}
        r = client.post(f"/api/v1/shipments/{order.shipments[0].code}/transition", headers=headers, json=body)
        if r.status_code != 200:
            return r
    return r


def test_the_order_waits_unpaid_with_the_account_and_nothing_is_worked_or_credited_before_the_transfer(
    client, db, api_token
):
    s = _placed(client, api_token)
    order = s["order"]
    assert (order.status, order.payment_method) == ("pending", "bank_transfer")
    assert order.payments[0].provider == "bank_transfer" and order.payments[0].state == "pending"
    out = client.get(f"/api/v1/orders/{order.code}", headers=s["b"]).json
    assert out["payment"]["transfer_to"]["reference"] == order.code
    assert out["payment"]["transfer_to"]["amount_fen"] == order.total_fen
    assert out["payment"]["transfer_to"]["account"]
    # the station cannot work it before the money is recorded, and nothing is credited
    r = _walk(client, api_token(s["operator"]), order)
    assert r.status_code == 409 and r.json["error"]["code"] == "order_not_confirmed"
    assert _credited() == 0
    # the buyer's page shows where to pay and what to write
    client.post("/login", data={"email": s["buyer"].email, "password": "password123"})
    page = client.get(f"/orders/{order.code}").get_data(as_text=True)
    assert 'id="bank-transfer"' in page and order.code in page and "对公转账" in page


def test_a_wrong_amount_is_refused_and_changes_nothing(client, db, api_token):
    s = _placed(client, api_token)
    order = s["order"]
    c = api_token(s["county"])
    for amount in (order.total_fen - 1, order.total_fen + 100, order.total_fen // 2):
        r = _transfer(client, c, order.code, amount)
        assert r.status_code == 422 and r.json["error"]["code"] == "transfer_amount_mismatch", r.json
        assert r.json["error"]["fields"]["amount_due_fen"] == str(order.total_fen)
    for bad in (
        {"amount_fen": 0, "reference": "ABC12345"},
        {"amount_fen": order.total_fen, "reference": "x"},
        {"amount_fen": order.total_fen, "reference": "有中文的流水"},
        {"amount_fen": order.total_fen, "reference": "ABC12345", "received_on": _day(2)},
        # before the order was placed (a slip of the year): it quotes the order's code, so it cannot be
        {"amount_fen": order.total_fen, "reference": "ABC12345", "received_on": "2020-01-01"},
        {"amount_fen": order.total_fen, "reference": "ABC12345", "received_on": _day(-1)},
    ):
        assert client.post(f"/api/v1/orders/{order.code}/bank-transfer", headers=c, json=bad).status_code == 422
    r = _transfer(client, c, order.code, order.total_fen, received_on="2020-01-01")
    assert r.json["error"]["code"] == "transfer_date_before_order", r.json
    assert local_date(order.created_at).isoformat() in r.json["error"]["message"]
    _db.session.expire_all()
    payment = _db.session.get(OrderPayment, order.payments[0].id)
    assert (payment.state, payment.provider_ref, payment.order.status) == ("pending", None, "pending")
    assert (
        _db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "payment.bank_transfer"))
        == 0
    )


def test_only_the_county_office_and_the_selling_station_record_it_others_get_404(client, db, api_token):
    s = _placed(client, api_token)
    order = s["order"]
    other_operator = make_user(role="operator", station=make_station())
    stranger = make_user()
    commit()
    for user in (other_operator, stranger, s["buyer"]):
        r = _transfer(client, api_token(user), order.code, order.total_fen)
        assert r.status_code == 404, user.role
    assert _transfer(client, api_token(s["county"]), "NOSUCH99", order.total_fen).status_code == 404
    r = _transfer(client, api_token(s["operator"]), order.code, order.total_fen)
    assert r.status_code == 200 and r.json["recorded"] is True


def test_recording_credits_nothing_until_hand_over_twice_changes_nothing_and_refunds_balance(client, db, api_token):
    s = _placed(client, api_token)
    order = s["order"]
    c = api_token(s["county"])
    r = _transfer(client, c, order.code, order.total_fen, received_on=_day(0))
    assert r.status_code == 200, r.json
    assert (r.json["order_status"], r.json["payment_status"], r.json["recorded"]) == ("confirmed", "confirmed", True)
    events = _db.session.scalar(sa.select(sa.func.count(StatusEvent.id)))
    # the same transfer again (a double submit, the other recorder): nothing changes
    again = _transfer(client, api_token(s["operator"]), order.code, order.total_fen)
    assert again.status_code == 200 and again.json["recorded"] is False
    assert _db.session.scalar(sa.select(sa.func.count(StatusEvent.id))) == events
    # another transfer for the paid order, or this reference for another order: refused
    r = _transfer(client, c, order.code, order.total_fen, reference="OTHER0001")
    assert r.status_code == 409 and r.json["error"]["code"] == "transfer_already_recorded"
    second = _placed(client, api_token)["order"]
    r = _transfer(client, c, second.code, second.total_fen)
    assert r.status_code == 409 and r.json["error"]["code"] == "transfer_reference_used"
    audit = _db.session.execute(
        sa.select(AuditEntry.actor_id, AuditEntry.detail).where(AuditEntry.action == "payment.bank_transfer")
    ).all()
    assert len(audit) == 1 and audit[0][0] == s["county"].id
    assert audit[0][1]["reference"] == "ABC2026120300017" and audit[0][1]["amount_fen"] == order.total_fen
    # money received, but the households are credited at hand-over, as for a card
    assert _credited() == 0
    r = _walk(client, api_token(s["operator"]), order)
    assert r.status_code == 200, r.json
    assert _credited() > 0
    assert check_money()["discrepancies"] == [] and check_credits()["discrepancies"] == []
    # a refund of a transfer-paid line is a bank refund on that payment, reversing its credit
    _db.session.expire_all()
    line = _db.session.get(Order, order.id).lines[0]
    refund = refund_line(line, actor=s["county"], now=now_utc(), reason="质量问题")
    commit()
    assert refund is not None and refund.state == "succeeded"
    stored = _db.session.get(Refund, refund.id)
    assert _db.session.get(OrderPayment, stored.payment_id).provider == "bank_transfer"
    assert _credited() == 0
    assert check_money()["discrepancies"] == [] and check_credits()["discrepancies"] == []


def test_a_transfer_for_an_order_canceled_meanwhile_is_recorded_and_given_back(client, db, api_token):
    s = _placed(client, api_token)
    order = s["order"]
    assert client.post(f"/api/v1/orders/{order.code}/cancel", headers=s["b"]).status_code == 200
    r = _transfer(client, api_token(s["county"]), order.code, order.total_fen)
    assert r.status_code == 200 and r.json["order_status"] == "canceled"
    refunds = _db.session.scalars(sa.select(Refund)).all()
    assert [(x.amount_fen, x.state) for x in refunds] == [(order.total_fen, "succeeded")]
    assert check_money()["discrepancies"] == []


def test_unpaid_institutional_orders_expire_on_the_longer_configured_term(app, client, db, api_token, monkeypatch):
    monkeypatch.setitem(app.config, "INSTITUTIONAL_PAYMENT_DAYS", 10)
    s = _placed(client, api_token)
    order = s["order"]
    placed_at = order.created_at
    assert order.expires_at == placed_at + timedelta(days=10)
    # the retail hold (ORDER_PAYMENT_MINUTES) passes: still held
    assert expire_pending_orders(placed_at + timedelta(minutes=31)) == []
    assert expire_pending_orders(placed_at + timedelta(days=9, hours=23)) == []
    commit()
    assert expire_pending_orders(placed_at + timedelta(days=10, minutes=1)) == [order.code]
    commit()
    assert _db.session.get(Order, order.id).status == "expired"
    assert s["rice"].stock.allocated == 0


def test_retail_buyers_cannot_choose_a_bank_transfer(client, db, api_token):
    product = make_product(stock=5)
    buyer = make_user()
    commit()
    r = client.post(
        "/api/v1/orders",
        headers=api_token(buyer),
        json={
            "items": [{"product_id": product.id, "quantity": 1}],
            "address": ADDRESS_JSON,
            "payment_method": "bank_transfer",
        },
    )
    assert r.status_code == 422
    from orders.services.placement import AddressData, PlacementRequest, place_order
    from shop.errors import ValidationError

    try:
        place_order(
            PlacementRequest(
                items=[(product.id, 1)], payment_method="bank_transfer", address=AddressData(**ADDRESS_JSON)
            ),
            buyer=buyer,
            now=now_utc(),
        )
    except ValidationError as exc:
        assert exc.code == "bank_transfer_institutional_only"
    else:
        raise AssertionError("a retail bank transfer was placed")


def test_the_station_records_it_on_its_page_after_a_confirmation_step(app, client, db, api_token):
    s = _placed(client, api_token)
    order = s["order"]
    web = app.test_client()
    web.post("/login", data={"email": s["operator"].email, "password": "password123"})
    listing = web.get("/bank-transfers").get_data(as_text=True)
    assert order.code in listing
    assert web.get(f"/bank-transfers/{order.code}").status_code == 200
    yuan = f"{order.total_fen // 100}.{order.total_fen % 100:02d}"
    data = {"amount": yuan, "reference": "NB20261203001", "received_on": _day(0)}
    r = web.post(f"/bank-transfers/{order.code}", data=data, follow_redirects=True)
    assert r.status_code == 200 and 'name="confirm"' in r.get_data(as_text=True)  # asks first
    assert _db.session.get(Order, order.id).status == "pending"
    r = web.post(f"/bank-transfers/{order.code}", data={**data, "amount": "1.00", "confirm": "1"})
    assert r.status_code == 422 and "不符" in r.get_data(as_text=True)
    r = web.post(f"/bank-transfers/{order.code}", data={**data, "confirm": "1"})
    assert r.status_code == 303
    _db.session.expire_all()
    assert _db.session.get(Order, order.id).status == "confirmed"
    assert "NB20261203001" in web.get(r.headers["Location"]).get_data(as_text=True)
    assert order.code not in web.get("/bank-transfers").get_data(as_text=True)
    # another station's operator and a buyer: not found / forbidden
    other = app.test_client()
    other.post(
        "/login", data={"email": make_user(role="operator", station=make_station()).email, "password": "password123"}
    )
    commit()
    assert other.get(f"/bank-transfers/{order.code}").status_code == 404
    buyer = app.test_client()
    buyer.post("/login", data={"email": s["buyer"].email, "password": "password123"})
    assert buyer.get(f"/bank-transfers/{order.code}").status_code == 403


def test_a_transfer_that_can_only_be_refused_is_said_before_the_confirmation_step(app, client, db, api_token):
    """An amount other than what is due (a typing slip, or a partial payment) is said at once, with the
    amount due and the figures as typed, never confirmed first by a question that says the order will be
    prepared; so is a day still to come; the right amount is then asked for confirmation."""
    s = _placed(client, api_token)
    order = s["order"]
    web = app.test_client()
    web.post("/login", data={"email": s["county"].email, "password": "password123"})
    url = f"/bank-transfers/{order.code}"
    yuan = f"{order.total_fen // 100}.{order.total_fen % 100:02d}"
    r = web.post(url, data={"amount": "1000", "reference": "NB20261203009", "received_on": _day(0)})
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'name="confirm"' not in page
    assert f"到账金额与应付金额 ¥{int(yuan.split('.')[0]):,}.{yuan.split('.')[1]} 不符" in page
    assert 'value="1000"' in page and 'value="NB20261203009"' in page
    tomorrow = (local_date(now_utc()) + timedelta(days=1)).isoformat()
    r = web.post(url, data={"amount": yuan, "reference": "NB20261203009", "received_on": tomorrow})
    assert r.status_code == 422 and 'name="confirm"' not in r.get_data(as_text=True)
    r = web.post(url, data={"amount": yuan, "reference": "NB20261203009", "received_on": _day(0)})
    assert r.status_code == 303 and "/confirm/" in r.headers["Location"]
    assert _db.session.get(Order, order.id).status == "pending"


def test_the_purchase_page_shows_the_organisations_finance_where_to_pay_each_order(app, client, db, api_token):
    s = _placed(client, api_token)
    order = s["order"]
    from institutions.models import PurchaseOrder

    purchase_id = _db.session.scalar(sa.select(PurchaseOrder.purchase_id).where(PurchaseOrder.order_id == order.id))
    web = app.test_client()
    finance = [m for m in _organisation_members(purchase_id) if m.role == "approver"][0]
    web.post("/login", data={"email": finance.user.email, "password": "password123"})
    page = web.get(f"/purchases/{purchase_id}").get_data(as_text=True)
    assert 'id="bank-transfer"' in page and order.code in page and app.config["BANK_TRANSFER_ACCOUNT"] in page
    _transfer(client, api_token(s["county"]), order.code, order.total_fen)
    page = web.get(f"/purchases/{purchase_id}").get_data(as_text=True)
    assert 'id="bank-transfer"' not in page
    assert (
        client.get(f"/api/v1/purchases/{purchase_id}", headers=api_token(finance.user)).json["bank_transfers_due"] == []
    )


def test_the_purchase_api_lists_the_transfers_due(client, db, api_token):
    s = _placed(client, api_token)
    order = s["order"]
    from institutions.models import PurchaseOrder

    purchase_id = _db.session.scalar(sa.select(PurchaseOrder.purchase_id).where(PurchaseOrder.order_id == order.id))
    due = client.get(f"/api/v1/purchases/{purchase_id}", headers=s["b"]).json["bank_transfers_due"]
    assert [(d["order_code"], d["amount_fen"], d["reference"]) for d in due] == [
        (order.code, order.total_fen, order.code)
    ]
    assert due[0]["account"] and due[0]["expires_at"]


def _organisation_members(purchase_id):
    from institutions.models import Purchase

    return _db.session.get(Purchase, purchase_id).organisation.members


def test_the_transfer_pages_speak_english_too(app, client, db, api_token):

    s = _placed(client, api_token)
    order = s["order"]
    payee = {app.config["BANK_TRANSFER_PAYEE"], app.config["BANK_TRANSFER_BANK"], "本部食堂", "南昌大米"}
    for user, url in (
        (s["county"], f"/bank-transfers/{order.code}"),
        (s["county"], "/bank-transfers"),
        (s["buyer"], f"/orders/{order.code}"),
    ):
        web = app.test_client()
        web.get("/?lang=en")
        web.post("/login", data={"email": user.email, "password": "password123"})
        page = web.get(url)
        assert page.status_code == 200, url
        assert chinese_ui_on_en(page_text_nodes(page.get_data(as_text=True)), payee) == [], url


def test_the_purchase_page_and_the_api_ask_the_amount_the_transfer_must_bring(app, client, db, api_token):
    """The purchase page's 对公转账 card showed the order's total, the API's `bank_transfers_due` its payment's
    amount: both now show `transfers.transfer_due_fen`, the one figure recording the transfer accepts (any other
    is 422 transfer_amount_mismatch naming it). They cannot differ while the order waits (a line is canceled or
    refunded only once paid: `order_not_confirmed` before), which this keeps true: a station's cancel is refused."""
    s = _placed(client, api_token)
    order = s["order"]
    from institutions.models import PurchaseOrder

    purchase_id = _db.session.scalar(sa.select(PurchaseOrder.purchase_id).where(PurchaseOrder.order_id == order.id))
    [due] = client.get(f"/api/v1/purchases/{purchase_id}", headers=s["b"]).json["bank_transfers_due"]
    wrong = _transfer(client, api_token(s["county"]), order.code, due["amount_fen"] + 1)
    assert wrong.status_code == 422 and wrong.json["error"]["fields"]["amount_due_fen"] == str(due["amount_fen"])
    web = app.test_client()
    finance = [m for m in _organisation_members(purchase_id) if m.role == "approver"][0]
    web.post("/login", data={"email": finance.user.email, "password": "password123"})
    page = web.get(f"/purchases/{purchase_id}").get_data(as_text=True)
    card = page[page.index('id="bank-transfer"') :]
    yuan = f"¥{due['amount_fen'] // 100:,}.{due['amount_fen'] % 100:02d}"
    assert re.search(rf"附言 {order.code}</dt><dd>{re.escape(yuan)}</dd>", card), card[:2000]
    operator = api_token(s["operator"])
    shipment = order.shipments[0].code
    r = client.post(f"/api/v1/shipments/{shipment}/transition", headers=operator, json={"action": "cancel"})
    assert r.status_code == 409 and r.json["error"]["code"] == "order_not_confirmed", r.json
    assert _transfer(client, api_token(s["county"]), order.code, due["amount_fen"]).status_code == 200
