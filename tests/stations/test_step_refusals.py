"""A shipment step that cannot be taken is refused at once, not after its confirmation (shop.confirm).

The station's ship / deliver / … buttons ask first. When the step is not allowed as things stand (wrong
state, the other station's step, the order canceled meanwhile, no tracking number), the first POST gives the
refusal the confirmed POST gives — the same message on the shipment page, shown again with what the operator
typed, the same status — and no
confirmation page (`stations.services.fulfilment.step_refusal`, the steps' own predicates).
"""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from orders.models import Shipment
from shop.db import commit
from shop.extensions import db as database
from tests.stations.factories import make_order


def _status(shipment) -> str:
    database.session.expire_all()
    return database.session.scalar(sa.select(Shipment.status).where(Shipment.id == shipment.id))


def _refused_alike(client, shipment, data: dict, message: str) -> None:
    """The first POST and the confirmed one answer alike: the shipment page with `message` (a 4xx, what was
    typed kept), no confirmation page, nothing changed."""
    url = f"/station/shipments/{shipment.code}/action"
    before = _status(shipment)
    answers = []
    for extra in ({}, {"confirm": "1"}):
        response = client.post(url, data={**data, **extra})
        assert response.status_code in (403, 409, 422), (extra, response.status_code)
        page = response.get_data(as_text=True)
        assert message in page and "请确认" not in page and shipment.code in page, extra
        answers.append(response.status_code)
        assert _status(shipment) == before
    assert answers[0] == answers[1]


def _at(shipment, status: str) -> None:
    shipment.status = status
    commit()


@pytest.mark.parametrize(
    ("status", "data", "message"),
    [
        ("new", {"action": "ship", "tracking_number": "SF123"}, "当前状态「新订单」不能发货"),
        ("accepted", {"action": "ship", "tracking_number": "SF123"}, "当前状态「已接单」不能发货"),
        ("delivered", {"action": "ship", "tracking_number": "SF123"}, "当前状态「已交付」不能发货"),
        ("packed", {"action": "ship", "tracking_number": ""}, "请填写运单号"),
        ("packed", {"action": "deliver"}, "当前状态「已打包」不能交付"),
        ("shipped", {"action": "cancel", "reason": "缺货"}, "当前状态「已发货」不能取消"),
    ],
)
def test_a_step_the_state_refuses_is_refused_before_the_confirmation(db, world, client, auth, status, data, message):
    shipment = make_order([(world.a.product, 1)]).shipments[0]
    _at(shipment, status)
    auth.login(world.a.operator)
    _refused_alike(client, shipment, data, message)


@pytest.mark.parametrize("action", ["ship", "deliver"])
def test_a_shipment_canceled_meanwhile_is_refused_before_the_confirmation(db, world, client, auth, action):
    order = make_order([(world.a.product, 1)])
    shipment = order.shipments[0]
    _at(shipment, "packed" if action == "ship" else "shipped")
    auth.login(world.a.operator)
    page = client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True)
    assert 'value="' + action + '"' in page  # the button the operator is about to press
    # meanwhile the order is canceled (by the buyer, the expiry or an admin)
    shipment.status = "canceled"
    order.status = "canceled"
    commit()
    message = "订单未确认" if action == "ship" else "当前状态「已取消」不能交付"
    _refused_alike(client, shipment, {"action": action, "tracking_number": "SF123"}, message)


@pytest.mark.parametrize("action", ["ship", "deliver"])
def test_the_other_stations_step_is_refused_before_the_confirmation(db, world, client, auth, action):
    """A pick-up order collected at A holds a shipment packed at B: A sees it, but B sends it."""
    order = make_order([(world.b.product, 1)], delivery="pickup", pickup_station=world.a.station)
    shipment = order.shipments[0]
    _at(shipment, "packed" if action == "ship" else "shipped")
    auth.login(world.a.operator)
    _refused_alike(client, shipment, {"action": action, "tracking_number": "SF123"}, "这一步由发货站点操作")


@pytest.mark.parametrize("action", ["ship", "deliver"])
def test_another_stations_order_is_a_404_on_both_pages(db, world, client, auth, action):
    shipment = make_order([(world.b.product, 1)]).shipments[0]
    _at(shipment, "packed" if action == "ship" else "shipped")
    auth.login(world.a.operator)
    url = f"/station/shipments/{shipment.code}/action"
    for extra in ({}, {"confirm": "1"}):
        assert client.post(url, data={"action": action, "tracking_number": "SF1", **extra}).status_code == 404
    assert _status(shipment) == ("packed" if action == "ship" else "shipped")


def test_the_refusal_speaks_the_operators_language(db, world, client, auth):
    shipment = make_order([(world.a.product, 1)]).shipments[0]
    auth.login(world.a.operator)
    client.get("/lang/en")
    response = client.post(
        f"/station/shipments/{shipment.code}/action", data={"action": "ship", "tracking_number": "SF1"}
    )
    page = response.get_data(as_text=True)
    assert "Cannot ship in status “New”" in page and "Please confirm" not in page


@pytest.mark.parametrize(
    ("before", "data", "after"),
    [
        ("packed", {"action": "ship", "tracking_number": "SF123"}, "shipped"),
        ("shipped", {"action": "deliver"}, "delivered"),
    ],
)
def test_an_allowed_step_still_asks_first_then_acts(db, world, client, auth, before, data, after):
    shipment = make_order([(world.a.product, 1)]).shipments[0]
    _at(shipment, before)
    auth.login(world.a.operator)
    url = f"/station/shipments/{shipment.code}/action"
    first = client.post(url, data=data, follow_redirects=True)
    assert first.status_code == 200 and 'name="confirm" value="1"' in first.get_data(as_text=True)
    assert _status(shipment) == before
    assert client.post(url, data={**data, "confirm": "1"}).status_code == 302
    assert _status(shipment) == after


def test_a_tracking_number_too_long_says_so_and_keeps_what_was_typed(db, world, client, auth):
    """41 characters: the length rule under the 运单号 field and the number typed again — it said "无效的
    操作" and sent back to an empty form, nothing to tell the operator what was wrong."""
    shipment = make_order([(world.a.product, 1)]).shipments[0]
    _at(shipment, "packed")
    auth.login(world.a.operator)
    typed = "SF" + "1" * 39
    response = client.post(
        f"/station/shipments/{shipment.code}/action", data={"action": "ship", "tracking_number": typed}
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "无效的操作" not in page
    assert "运单号" in page and "40" in page and f'value="{typed}"' in page
    assert _status(shipment) == "packed"


def test_a_tracking_number_typed_full_width_or_in_groups_is_kept_as_the_courier_issued_it(db, world, client, auth):
    """A Chinese input method in full-width mode, the number typed in groups as it is read out: kept as
    SF12345678, what the buyer copies into the courier's site — it was kept as ＳＦ１２３４ ５６７８, a number
    no courier knows."""
    shipment = make_order([(world.a.product, 1)]).shipments[0]
    _at(shipment, "packed")
    auth.login(world.a.operator)
    typed = " ＳＦ１２３４ ５６７８ "
    url = f"/station/shipments/{shipment.code}/action"
    asked = client.post(url, data={"action": "ship", "tracking_number": typed})
    assert asked.status_code == 303 and "/confirm/" in asked.headers["Location"]  # accepted, asked first
    assert _status(shipment) == "packed"
    response = client.post(url, data={"action": "ship", "tracking_number": typed, "confirm": "1"})
    assert response.status_code == 302
    assert _status(shipment) == "shipped"
    assert database.session.scalar(sa.select(Shipment.tracking_number).where(Shipment.id == shipment.id)) == (
        "SF12345678"
    )
    page = client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True)
    assert "SF12345678" in page and "ＳＦ" not in page


@pytest.mark.parametrize(
    ("status", "data"),
    [
        ("delivered", {"action": "deliver"}),
        ("delivered", {"action": "pickup", "pickup_code": "123456"}),
        ("shipped", {"action": "ship", "tracking_number": "SF123"}),
        ("canceled", {"action": "cancel", "reason": "缺货"}),
    ],
)
def test_a_step_taken_already_says_so_and_changes_nothing(db, world, client, auth, status, data):
    """A second tap, or 确认 again after Back once the step went through: the shipment page with the step's
    state (已是「已交付」，无需重复操作), not a red "当前状态「已交付」不能交付" that reads as if the hand-over failed,
    nor 已更新：已交付 as if this tap had done it again."""
    shipment = make_order([(world.a.product, 1)]).shipments[0]
    _at(shipment, status)
    auth.login(world.a.operator)
    url = f"/station/shipments/{shipment.code}/action"
    for extra in ({}, {"confirm": "1"}):
        response = client.post(url, data={**data, **extra}, follow_redirects=True)
        page = response.get_data(as_text=True)
        assert response.status_code == 200 and "当前状态「" not in page, extra
        assert "，无需重复操作" in page and "已更新" not in page and "请确认" not in page, extra
        assert _status(shipment) == status
