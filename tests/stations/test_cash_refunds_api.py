"""Cash refunds a station's till owes buyers (待退还现金) through the JSON API (stations.cash_refunds_api): the
desk's list (`GET /api/v1/stations/{id}/cash-refunds`) and its 退还现金 button (`POST
/api/v1/cash-refunds/{id}/hand-back`), the same services as the pages (orders.services.payments): handed back
once, into the owing till's book by the caller; a second call books nothing; another station's operator is
refused (its list 403, the refund 404) and nothing is booked."""

from __future__ import annotations

import pytest

from orders.models import Refund
from orders.services.pickup import collector_name
from shop.db import commit
from shop.timeutil import now_utc
from tests.factories import make_user
from tests.stations.cash_refund_setup import canceled_after_counter_cash, cash_book
from tests.stations.factories import make_order


def test_the_station_lists_the_cash_it_owes_and_hands_it_back_once(db, world, client, auth, api_token):
    order, refund = canceled_after_counter_cash(world, client, auth)
    headers = api_token(world.a.operator)
    listed = client.get(f"/api/v1/stations/{world.a.station.id}/cash-refunds?state=owed", headers=headers)
    assert listed.status_code == 200, listed.json
    assert listed.json["total"] == 1 and (listed.json["page"], listed.json["per_page"]) == (1, 20)
    item = listed.json["items"][0]
    assert item["id"] == refund.id and item["amount_fen"] == 3333 and item["state"] == "owed"
    assert item["order_id"] == order.code and item["shipment_id"] == order.shipments[0].code
    assert item["collector"] == collector_name(order)  # whom the desk names
    # the desk lists the same
    auth.login(world.a.operator)
    desk = client.get("/station/").get_data(as_text=True)
    assert order.code in desk.split("待退还现金", 1)[1].split("</section>", 1)[0]
    auth.logout()

    done = client.post(f"/api/v1/cash-refunds/{refund.id}/hand-back", headers=headers)
    assert done.status_code == 200, done.json
    assert done.json["handed_back"] is True and done.json["state"] == "succeeded" and done.json["id"] == refund.id
    assert cash_book() == [("station_cash", 3333, world.a.operator.id), ("refund", -3333, world.a.operator.id)]
    # a second tap: found, nothing booked
    again = client.post(f"/api/v1/cash-refunds/{refund.id}/hand-back", headers=headers)
    assert again.status_code == 200 and again.json["handed_back"] is False and again.json["state"] == "succeeded"
    assert cash_book() == [("station_cash", 3333, world.a.operator.id), ("refund", -3333, world.a.operator.id)]
    assert client.get(f"/api/v1/stations/{world.a.station.id}/cash-refunds", headers=headers).json["items"] == []
    # the shipment's page says it is handed back
    auth.login(world.a.operator)
    page = client.get(f"/station/shipments/{order.shipments[0].code}").get_data(as_text=True)
    assert "已退还" in page


def test_another_stations_operator_is_refused_and_nothing_is_booked(db, world, client, auth, api_token):
    order, refund = canceled_after_counter_cash(world, client, auth)
    headers = api_token(world.b.operator)
    res = client.post(f"/api/v1/cash-refunds/{refund.id}/hand-back", headers=headers)
    assert res.status_code == 404 and res.json["error"]["code"] == "cash_refund_not_found"
    listed = client.get(f"/api/v1/stations/{world.a.station.id}/cash-refunds", headers=headers)
    assert listed.status_code == 403 and listed.json["error"]["code"] == "not_your_station"
    own = client.get(f"/api/v1/stations/{world.b.station.id}/cash-refunds", headers=headers)
    assert own.status_code == 200 and own.json["items"] == []
    assert cash_book() == [("station_cash", 3333, world.a.operator.id)]
    assert db.session.get(Refund, refund.id).state == "owed"
    assert order.code  # (kept)


def test_an_admin_hands_back_any_stations_cash(db, world, client, auth, api_token):
    _order, refund = canceled_after_counter_cash(world, client, auth)
    headers = api_token(world.admin)
    assert client.get(f"/api/v1/stations/{world.a.station.id}/cash-refunds", headers=headers).json["total"] == 1
    res = client.post(f"/api/v1/cash-refunds/{refund.id}/hand-back", headers=headers)
    assert res.status_code == 200 and res.json["handed_back"] is True
    assert cash_book() == [("station_cash", 3333, world.a.operator.id), ("refund", -3333, world.admin.id)]


def test_anonymous_and_other_roles_are_refused(db, world, client, auth, api_token):
    _order, refund = canceled_after_counter_cash(world, client, auth)
    list_url = f"/api/v1/stations/{world.a.station.id}/cash-refunds"
    hand_url = f"/api/v1/cash-refunds/{refund.id}/hand-back"
    assert client.get(list_url).status_code == 401
    assert client.post(hand_url).status_code == 401
    for role in ("consumer", "host", "county"):
        headers = api_token(make_user(role=role))
        assert client.get(list_url, headers=headers).status_code == 403
        res = client.post(hand_url, headers=headers)
        assert res.status_code == 403 and res.json["error"]["code"] == "forbidden"
    buyer = api_token(world.buyer)  # the buyer it is owed to cannot book it either
    assert client.post(hand_url, headers=buyer).status_code == 403
    assert cash_book() == [("station_cash", 3333, world.a.operator.id)]


def test_a_refund_that_is_no_owed_cash_is_a_404(db, world, client, api_token):
    """An id no refund has, past any row's, or a refund no till owes (a card refund) is a 404."""
    order = make_order([(world.a.product, 1)], payment_method="card", buyer=world.buyer)
    card = Refund(payment_id=order.payments[0].id, amount_fen=100, state="succeeded", created_at=now_utc())
    db.session.add(card)
    commit()
    headers = api_token(world.a.operator)
    for refund_id in (card.id, card.id + 1000, 2**31, 2**63):
        res = client.post(f"/api/v1/cash-refunds/{refund_id}/hand-back", headers=headers)
        assert res.status_code == 404, (refund_id, res.json)
    assert cash_book() == []


@pytest.mark.parametrize(
    "args,field",
    [
        ("state=handed", "state"),
        ("page=0", "page"),
        ("page=abc", "page"),
        ("per_page=101", "per_page"),
        (f"page={2**64}", "page"),
    ],
)
def test_bad_list_arguments_are_422_naming_them(db, world, client, api_token, args, field):
    res = client.get(f"/api/v1/stations/{world.a.station.id}/cash-refunds?{args}", headers=api_token(world.a.operator))
    assert res.status_code == 422 and res.json["error"]["code"] == "validation_error"
    assert field in res.json["error"]["fields"]


def test_an_unknown_station_is_a_404(db, world, client, api_token):
    headers = api_token(world.admin)
    for station_id in (world.b.station.id + 1000, 2**63):
        assert client.get(f"/api/v1/stations/{station_id}/cash-refunds", headers=headers).status_code == 404


def test_the_list_pages_oldest_first(db, world, client, auth, api_token):
    owed = [canceled_after_counter_cash(world, client, auth)[1] for _ in range(3)]
    headers = api_token(world.a.operator)
    url = f"/api/v1/stations/{world.a.station.id}/cash-refunds"
    first = client.get(f"{url}?per_page=2", headers=headers).json
    second = client.get(f"{url}?per_page=2&page=2", headers=headers).json
    assert (first["total"], second["total"]) == (3, 3)
    assert [r["id"] for r in first["items"] + second["items"]] == [r.id for r in owed]
    assert client.get(f"{url}?page=9", headers=headers).json["items"] == []
