"""Stock: every change is a movement; movements sum to on_hand; no lost update under concurrency."""

from __future__ import annotations

import threading
from datetime import date

import pytest
import sqlalchemy as sa

from shop.errors import Conflict, ValidationError
from shop.once import new_form_token
from stations.services import fulfilment
from stock.models import StockMovement, StockRecord
from stock.services import correct_stock, movements_total, receive_stock, set_on_hand
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.stations.factories import make_order


def test_movements_sum_to_on_hand_through_receipts_corrections_and_hand_over(db, world, now):
    record = world.a.product.stock
    receive_stock(
        record,
        12,
        actor=world.a.operator,
        now=now,
        lot_note="第3批",
        harvest_date=date(2026, 11, 27),
        from_household_id=world.a.h1.id,
    )
    correct_stock(record, -3, reason="破损", actor=world.a.operator, now=now)
    order = make_order([(world.a.product, 4)])
    s = order.shipments[0]
    for step in (fulfilment.accept, fulfilment.pack):
        step(s, actor=world.a.operator, now=now)
    fulfilment.ship(s, tracking_number="T1", actor=world.a.operator, now=now)
    fulfilment.deliver(s, actor=world.a.operator, now=now)
    db.session.refresh(record)
    assert record.on_hand == 20 + 12 - 3 - 4
    assert movements_total(record.id) == record.on_hand
    kinds = db.session.scalars(
        sa.select(StockMovement.kind).where(StockMovement.stock_record_id == record.id).order_by(StockMovement.id)
    ).all()
    assert kinds == ["receive", "receive", "correct", "consume"]


def test_correction_below_allocated_is_refused_and_changes_nothing(db, world, now):
    make_order([(world.a.product, 15)])
    record = world.a.product.stock
    with pytest.raises(Conflict):
        correct_stock(record, -10, reason="盘亏", actor=world.a.operator, now=now)
    with pytest.raises(ValidationError):
        correct_stock(record, -1, reason="  ", actor=world.a.operator, now=now)
    db.session.refresh(record)
    assert (record.on_hand, record.allocated) == (20, 15)
    assert movements_total(record.id) == 20


def test_a_correction_below_what_is_sold_names_the_lowest_count_and_the_most_to_take_off(
    db, world, client, auth, api_token
):
    """15 of 20 sold: the form, and the API's absolute count, say the stock is at least 15 and 5 can come off."""
    make_order([(world.a.product, 15)])
    record_id = world.a.product.stock.id
    headers = {**api_token(world.a.operator), "Accept-Language": "en"}  # before the form's session logs in
    auth.login(world.a.operator)
    for lang, words in (("zh_CN", ("库存最少为 15", "最多只能减少 5 件")), ("en", ("no lower than 15", "at most 5"))):
        response = client.post(
            f"/station/stock/{record_id}/correct?lang={lang}",
            data={"form_token": new_form_token(), "delta": "-10", "reason": "盘亏"},
        )
        assert response.status_code == 409
        page = response.get_data(as_text=True)
        assert all(w in page for w in words), lang
    response = client.patch(
        f"/api/v1/products/{world.a.product.id}",
        json={"stock": 3, "reason": "盘点"},
        headers=headers,
    )
    assert response.status_code == 409 and response.json["error"]["code"] == "stock_below_allocated"
    assert "no lower than 15" in response.json["error"]["message"], response.json
    assert movements_total(record_id) == 20


def test_a_stock_correction_reason_over_200_characters_is_refused_under_its_field_not_cut(
    db, world, client, auth, api_token
):
    """A correction's reason of 201 characters used to be kept cut to 200: refused now on the stock page,
    the limit named under the field and what was typed kept, the count unchanged; the API's stock change
    answers the same code; 200 characters are kept whole. The field says the limit."""
    record_id, product_id = world.a.product.stock.id, world.a.product.id
    db.session.commit()
    headers = api_token(world.a.operator)
    on_hand = db.session.get(StockRecord, record_id).on_hand
    long = "盘" * 201
    r = client.patch(f"/api/v1/products/{product_id}", json={"stock_delta": -1, "reason": long}, headers=headers)
    assert r.status_code == 422 and r.json["error"]["code"] == "count_reason_too_long", r.json
    auth.login(world.a.operator)
    page = client.get(f"/station/stock/{record_id}").get_data(as_text=True)
    assert 'maxlength="200"' in page and "最多 200 个字" in page
    r = client.post(
        f"/station/stock/{record_id}/correct", data={"form_token": new_form_token(), "delta": "-1", "reason": long}
    )
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and f'value="{long}"' in html
    field = html.split('id="reason"', 1)[1].split("</div>", 1)[0]
    assert '<p class="error" role="alert">调整原因最多 200 个字，请删减后再提交</p>' in field
    db.session.expire_all()
    assert db.session.get(StockRecord, record_id).on_hand == on_hand
    assert "At most 200 characters" in client.get(f"/station/stock/{record_id}?lang=en").get_data(as_text=True)
    r = client.post(
        f"/station/stock/{record_id}/correct",
        data={"form_token": new_form_token(), "delta": "-1", "reason": "盘" * 200},
    )
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(StockRecord, record_id).on_hand == on_hand - 1
    assert db.session.scalar(sa.select(StockMovement.reason).where(StockMovement.kind == "correct")) == "盘" * 200


def test_receive_and_correct_pages_write_movements(db, world, client, auth):
    auth.login(world.a.operator)
    record_id = world.a.product.stock.id
    response = client.post(
        f"/station/stock/{record_id}/receive",
        data={
            "form_token": new_form_token(),
            "quantity": "8",
            "harvest_date": "2026-11-26",
            "lot_note": "早稻",
            "from_household_id": str(world.a.h2.id),
        },
    )
    assert response.status_code == 302
    response = client.post(
        f"/station/stock/{record_id}/correct", data={"form_token": new_form_token(), "delta": "-2", "reason": "盘点"}
    )
    assert response.status_code == 302
    response = client.post(
        f"/station/stock/{record_id}/correct", data={"form_token": new_form_token(), "delta": "-2", "reason": ""}
    )
    assert response.status_code == 422  # refused: the page again, with the reason
    response = client.post(
        f"/station/stock/{record_id}/receive",
        data={"form_token": new_form_token(), "quantity": "-4", "from_household_id": "0"},
    )
    assert response.status_code == 422
    db.session.expire_all()
    record = db.session.get(StockRecord, record_id)
    assert record.on_hand == 26 and movements_total(record_id) == 26
    page = client.get(f"/station/stock/{record_id}").get_data(as_text=True)
    assert "早稻" in page and "盘点" in page and "2026-11-26" in page
    assert client.get("/station/stock").status_code == 200


def test_api_patch_sets_stock_as_a_correction_with_reason(db, world, client, api_token):
    headers = api_token(world.a.operator)
    url = f"/api/v1/products/{world.a.product.id}"
    response = client.patch(url, json={"stock": 7}, headers=headers)
    assert response.status_code == 422 and response.json["error"]["fields"] == {"reason": "required"}
    response = client.patch(
        url, json={"stock": 7, "reason": "盘点", "price_fen": 3500, "is_published": False}, headers=headers
    )
    assert response.status_code == 200, response.json
    # the product is approved: the new price waits for the county's re-certification (catalog.changes)
    assert response.json["on_hand"] == 7 and response.json["price_fen"] == 3333
    assert response.json["pending_change"]["price_fen"] == 3500
    assert response.json["is_published"] is False
    movement = db.session.scalar(sa.select(StockMovement).order_by(StockMovement.id.desc()))
    assert (movement.kind, movement.quantity, movement.reason) == ("correct", -13, "盘点")
    assert movements_total(world.a.product.stock.id) == 7
    response = client.patch(url, json={"price_fen": -5}, headers=headers)
    assert response.status_code == 422


@requires_postgres
def test_concurrent_sale_and_correction_do_not_lose_an_update(committed_db, app):
    """A checkout allocating and an operator setting a counted stock, at the same time, many times."""
    from shop.db import commit
    from stock.services import allocate
    from tests.factories import make_product, make_user

    with app.app_context():
        product = make_product(stock=100)
        operator = make_user(role="operator", station=product.station)
        record_id, operator_id = product.stock.id, operator.id
        commit()

    barrier = threading.Barrier(2)
    errors = []
    rounds = 10

    def sale():
        with app.app_context():
            try:
                for _ in range(rounds):
                    barrier.wait(timeout=10)
                    allocate({record_id: 1})
                    commit()
            except Exception as exc:  # pragma: no cover - reported below
                errors.append(exc)
            finally:
                committed_db.session.remove()

    def correction():
        from datetime import datetime, timezone

        from shop.auth.models import User

        with app.app_context():
            try:
                for i in range(rounds):
                    barrier.wait(timeout=10)
                    record = committed_db.session.get(StockRecord, record_id)
                    user = committed_db.session.get(User, operator_id)
                    set_on_hand(record, 100 + i + 1, reason="盘点", actor=user, now=datetime.now(timezone.utc))
                    commit()
            except Exception as exc:  # pragma: no cover
                errors.append(exc)
            finally:
                committed_db.session.remove()

    threads = [threading.Thread(target=sale), threading.Thread(target=correction)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors, errors
    with app.app_context():
        committed_db.session.remove()
        record = committed_db.session.get(StockRecord, record_id)
        assert record.allocated == rounds  # every sale kept
        assert record.on_hand == 100 + rounds  # the last count kept
        assert movements_total(record_id) == record.on_hand


@requires_postgres
def test_two_operators_handing_over_at_once_consume_and_credit_once(committed_db, app):
    """Both click "deliver" on the same shipment: one wins, the other is refused; stock and income once."""
    from datetime import datetime, timezone

    from ledger.models import IncomeEntry
    from orders.models import Shipment
    from shop.auth.models import User
    from shop.db import commit
    from shop.errors import DomainError
    from tests.factories import make_household, make_product, make_user
    from tests.stations.factories import make_order

    now = datetime.now(timezone.utc)
    with app.app_context():
        product = make_product(stock=10)
        product_households = [make_household(village=product.village)]
        from catalog.models import BenefitLink

        committed_db.session.add(
            BenefitLink(product_id=product.id, household_id=product_households[0].id, weight=1, created_at=now)
        )
        committed_db.session.flush()
        ops = [make_user(role="operator", station=product.station) for _ in range(2)]
        order = make_order([(product, 3)])
        shipment = order.shipments[0]
        for step in (fulfilment.accept, fulfilment.pack):
            step(shipment, actor=ops[0], now=now)
        fulfilment.ship(shipment, tracking_number="T", actor=ops[0], now=now)
        commit()
        shipment_id, record_id, op_ids = shipment.id, product.stock.id, [u.id for u in ops]

    def deliver(op_id) -> Loaded:
        return Loaded(
            lambda: (committed_db.session.get(Shipment, shipment_id), committed_db.session.get(User, op_id)),
            lambda loaded: fulfilment.deliver(loaded[0], actor=loaded[1], now=now),
        )

    outcomes = at_once(app, [deliver(op_id) for op_id in op_ids], refused=(DomainError,)).labels
    assert sorted(outcomes) == ["cannot_deliver", "ok"]  # the loser sees the shipment already delivered
    with app.app_context():
        record = committed_db.session.get(StockRecord, record_id)
        assert (record.on_hand, record.allocated) == (7, 0)
        assert movements_total(record_id) == 7
        assert committed_db.session.scalar(sa.select(sa.func.count(IncomeEntry.id))) == 1


def test_the_price_form_refuses_a_price_above_the_ceiling_as_too_high(db, world, client, auth):
    """改价 ¥10,000,000 on the station's product page: the message names the ceiling (价格不能超过
    ¥1,000,000.00), not 价格必须大于零; the price is unchanged."""
    product = world.a.product
    before = product.price_fen
    auth.login(world.a.operator)
    response = client.post(
        f"/station/products/{product.id}/edit", data={"price": "10000000", "is_published": "1"}, follow_redirects=True
    )
    page = response.get_data(as_text=True)
    assert "价格必须大于零" not in page and "价格不能超过 ¥1,000,000.00" in page
    db.session.expire_all()
    assert db.session.get(type(product), product.id).price_fen == before


def test_a_refused_intake_is_shown_again_as_typed_and_receives_nothing(db, world, client, auth):
    """A wrong best-before date on a phone: the operator fixes that one field, not the quantity, dates,
    household, source and price again (the page once redirected and lost them all)."""
    auth.login(world.a.operator)
    record_id = world.a.product.stock.id
    before = movements_total(record_id)
    typed = {
        "form_token": new_form_token(),
        "quantity": "7",
        "harvest_date": "2026-11-26",
        "best_before_date": "2026-11-20",  # before the harvest
        "lot_note": "晚稻第二批",
        "from_household_id": str(world.a.h2.id),
        "acquisition": "purchased",
        "purchase_price": "3.50",
    }
    response = client.post(f"/station/stock/{record_id}/receive", data=typed)
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "保质期不能早于采收/生产日期" in page
    for value in ("7", "2026-11-26", "2026-11-20", "晚稻第二批", "3.50"):
        assert f'value="{value}"' in page, value
    assert f'<option selected value="{world.a.h2.id}">' in page or f'value="{world.a.h2.id}" selected' in page
    assert 'value="purchased" selected' in page or '<option selected value="purchased">' in page
    assert movements_total(record_id) == before

    form_refused = client.post(
        f"/station/stock/{record_id}/receive",
        data={**typed, "best_before_date": "", "purchase_price": "", "form_token": new_form_token()},
    )
    assert form_refused.status_code == 422
    page = form_refused.get_data(as_text=True)
    assert "收购须填写收购单价" in page and 'value="晚稻第二批"' in page and 'value="7"' in page
    assert movements_total(record_id) == before


def test_a_refused_count_correction_is_shown_again_as_typed(db, world, client, auth):
    auth.login(world.a.operator)
    record_id = world.a.product.stock.id
    before = movements_total(record_id)
    response = client.post(
        f"/station/stock/{record_id}/correct",
        data={"form_token": new_form_token(), "delta": "-100000", "reason": "盘点少了"},
    )
    assert response.status_code in (409, 422)
    page = response.get_data(as_text=True)
    assert 'value="-100000"' in page and 'value="盘点少了"' in page
    assert movements_total(record_id) == before


def _on_hand_seen(page: str) -> str:
    """The count the stock record page's 盘点调整 form says it was decided on (its hidden field)."""
    return page.split('name="on_hand_seen"', 1)[1].split('value="', 1)[1].split('"', 1)[0]


def test_a_correction_from_a_page_open_while_another_corrected_is_refused_not_added(db, world, client, auth):
    """Two operators count the same shelf, two broken eggs: each page says 在库 N and each sends -2. The second
    page, opened before the first correction, was decided on a count that is no longer there: it is refused
    (409, the count now named, the typed -2 kept), not taken off a second time; sent again from the page it
    answers with (the count as it is now), it goes through."""
    auth.login(world.a.operator)
    record_id = world.a.product.stock.id
    before = db.session.get(StockRecord, record_id).on_hand
    url = f"/station/stock/{record_id}"
    first, second = client.get(url).get_data(as_text=True), client.get(url).get_data(as_text=True)
    assert _on_hand_seen(first) == _on_hand_seen(second) == str(before)
    sent = {"delta": "-2", "reason": "破损", "on_hand_seen": _on_hand_seen(first)}
    response = client.post(f"{url}/correct", data={**sent, "form_token": new_form_token()})
    assert response.status_code == 302
    stale = client.post(f"{url}/correct", data={**sent, "form_token": new_form_token()})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert f"页面打开后库存已有变动，现在在库 {before - 2}" in page
    assert 'value="-2"' in page and 'value="破损"' in page
    db.session.expire_all()
    assert db.session.get(StockRecord, record_id).on_hand == before - 2 == movements_total(record_id)
    # the operator counts again and still finds two more broken: sent from the refused page, it is taken
    assert _on_hand_seen(page) == str(before - 2)
    again = client.post(
        f"{url}/correct", data={**sent, "on_hand_seen": _on_hand_seen(page), "form_token": new_form_token()}
    )
    assert again.status_code == 302
    db.session.expire_all()
    assert db.session.get(StockRecord, record_id).on_hand == before - 4
