"""The station's shipment page offers exactly the steps the service would take (#24: one home per rule).

For each kind of shipment state the page shows, the steps it offers — its forms: the action buttons, the
counter's early cash, the line cancellations, an admin's unlock — are the steps whose first POST is taken
(asked for confirmation, or done at once when the step asks none), and the first POST of every other step
is refused with nothing changed. The page asks `stations.services.fulfilment.offered_steps`, which asks the
steps' own `*_refusal` predicates; it states no rule of its own.
"""

from __future__ import annotations

import re
from collections.abc import Callable

import pytest

from orders.models import Shipment
from orders.services import cashbook
from orders.services.amounts import is_cash_order
from orders.services.payments import cancel_order
from shop.db import commit
from shop.extensions import db as database
from stations.services import fulfilment
from tests.stations.factories import PICKUP_CODE, make_order

#: The steps a POST can ask for: the /action steps, the counter's early cash and a line's cancellation
#: ("cancel_line"; the page's form for "cancel", which is refused or taken alike).
STEPS = (*fulfilment.ACTIONS, "cash", "cancel_line")
#: Steps done by their first POST (no confirmation asked): checked last, the one the page offers at the end.
UNASKED = frozenset({"accept", "pack", "receive_return"})


def _page_offers(client, shipment: Shipment) -> set[str]:
    """The steps whose form the shipment page shows ("cancel": a line's cancellation form)."""
    page = client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True)
    steps = set(re.findall(r'name="action" value="([a-z_]+)"', page))
    if f'action="/station/shipments/{shipment.code}/cash"' in page:
        steps.add("cash")
    if re.search(rf'action="/station/shipments/{shipment.code}/lines/\d+/cancel"', page):
        steps.add("cancel")
    if f'action="/station/shipments/{shipment.code}/unlock-pickup"' in page:
        steps.add("unlock")
    return steps


def _state(shipment: Shipment) -> tuple:
    database.session.expire_all()
    return (
        shipment.status,
        shipment.return_status,
        shipment.pickup_failures,
        tuple(line.status for line in shipment.lines),
        cashbook.taken_entry(shipment.id) is not None,
    )


def _post(client, shipment: Shipment, step: str):
    base = f"/station/shipments/{shipment.code}"
    if step == "cash":
        return client.post(f"{base}/cash", data={})
    if step == "cancel_line":
        return client.post(f"{base}/lines/{shipment.lines[0].id}/cancel", data={"reason": "缺货"})
    data = {"action": step, "tracking_number": "SF123", "pickup_code": PICKUP_CODE, "reason": "缺货"}
    if step == "pickup" and is_cash_order(shipment.order):  # the cash due, counted in the same step
        due = cashbook.outstanding_cash_fen(fulfilment.order_shipments(shipment.order))
        data["cash_received"] = f"{due // 100}.{due % 100:02d}"
    return client.post(f"{base}/action", data=data)


def _taken(client, shipment: Shipment, step: str) -> bool:
    """Whether the first POST of `step` is taken: a 303 to the confirmation page (nothing changed yet), or, for a step
    that asks none, the step done; a refusal is the shipment page again (4xx; or a 403) with nothing changed."""
    before = _state(shipment)
    response = _post(client, shipment, step)
    if response.status_code == 303:  # to the confirmation page (shop.confirm)
        assert response.headers["Location"].startswith("/confirm/"), step
        assert 'name="confirm" value="1"' in client.get(response.headers["Location"]).get_data(as_text=True), step
        assert _state(shipment) == before, step
        return True
    assert response.status_code in (302, 403, 409, 422), (step, response.status_code)
    return response.status_code == 302 and _state(shipment) != before


# --- the states: each builds a shipment and names who looks at it -------------------------------


def _new(w, now):
    return make_order([(w.a.product, 1)]).shipments[0], w.a.operator


def _accepted(w, now):
    s, op = _new(w, now)
    fulfilment.accept(s, actor=op, now=now)
    return s, op


def _packed_parcel(w, now):
    s, op = _accepted(w, now)
    fulfilment.pack(s, actor=op, now=now)
    return s, op


def _shipped_parcel(w, now):
    s, op = _packed_parcel(w, now)
    fulfilment.ship(s, tracking_number="SF1", actor=op, now=now)
    return s, op


def _own_pickup(w, now, **kw):
    s = make_order([(w.a.product, 1)], delivery="pickup", pickup_station=w.a.station, **kw).shipments[0]
    fulfilment.accept(s, actor=w.a.operator, now=now)
    fulfilment.pack(s, actor=w.a.operator, now=now)  # straight onto the counter shelf
    return s


def _packed_own_pickup(w, now):
    """A pick-up packed before packing put it on the shelf: the station puts it there (`ready`)."""
    s = make_order([(w.a.product, 1)], delivery="pickup", pickup_station=w.a.station).shipments[0]
    fulfilment.accept(s, actor=w.a.operator, now=now)
    s.status = "packed"
    return s, w.a.operator


def _transfer(w, now, *, to: str = "packed"):
    """A pick-up order collected at A holding B's goods, worked by B up to `to` (then A, to "arrived")."""
    s = make_order([(w.b.product, 1)], delivery="pickup", pickup_station=w.a.station).shipments[0]
    fulfilment.accept(s, actor=w.b.operator, now=now)
    fulfilment.pack(s, actor=w.b.operator, now=now)
    if to in ("shipped", "arrived"):
        fulfilment.ship(s, tracking_number=None, actor=w.b.operator, now=now)
    if to == "arrived":
        fulfilment.receive(s, actor=w.a.operator, now=now)
    return s


def _canceled_order(w, now):
    s, op = _accepted(w, now)
    cancel_order(s.order, actor=w.buyer, now=now, reason="不要了")
    return s, op


def _waiting_at_the_counter(w, now):
    """A's part is on A's shelf, B's still on the road: the counter waits for the whole order."""
    order = make_order([(w.a.product, 1), (w.b.product, 1)], delivery="pickup", pickup_station=w.a.station)
    own, incoming = sorted(order.shipments, key=lambda s: s.station_id != w.a.station.id)
    fulfilment.accept(own, actor=w.a.operator, now=now)
    fulfilment.pack(own, actor=w.a.operator, now=now)
    for step in ("accept", "pack", "ship"):
        fulfilment.apply_action(incoming, step, actor=w.b.operator, now=now)
    return own, w.a.operator


def _locked(w, now):
    s = _own_pickup(w, now)
    s.pickup_failures = fulfilment.PICKUP_MAX_FAILURES
    return s


def _returning(w, now):
    s = _transfer(w, now, to="arrived")
    fulfilment.cancel_shipment(s, actor=w.b.operator, now=now, reason="质量问题")
    assert s.return_status == "returning"
    return s


STATES: dict[str, tuple[Callable, set[str]]] = {
    "new": (_new, {"accept", "cancel"}),
    "accepted": (_accepted, {"pack", "cancel"}),
    "packed parcel": (_packed_parcel, {"ship", "cancel"}),
    "packed pick-up at own station": (_packed_own_pickup, {"ready", "cancel"}),
    "packed transfer, its packing station": (lambda w, now: (_transfer(w, now), w.b.operator), {"ship", "cancel"}),
    "packed transfer, the pick-up station": (lambda w, now: (_transfer(w, now), w.a.operator), set()),
    "shipped parcel": (_shipped_parcel, {"deliver"}),
    "shipped transfer, the pick-up station": (
        lambda w, now: (_transfer(w, now, to="shipped"), w.a.operator),
        {"receive"},
    ),
    "shipped transfer, its packing station": (lambda w, now: (_transfer(w, now, to="shipped"), w.b.operator), set()),
    "at the counter": (lambda w, now: (_own_pickup(w, now), w.a.operator), {"pickup", "cancel"}),
    "arrived transfer at the counter": (lambda w, now: (_transfer(w, now, to="arrived"), w.a.operator), {"pickup"}),
    "arrived transfer, its packing station": (
        lambda w, now: (_transfer(w, now, to="arrived"), w.b.operator),
        {"cancel"},
    ),
    "the counter waits for the rest of the order": (_waiting_at_the_counter, {"cancel"}),
    "the counter locked by wrong codes": (lambda w, now: (_locked(w, now), w.a.operator), {"cancel"}),
    "the counter locked, an admin": (lambda w, now: (_locked(w, now), w.admin), {"cancel", "unlock"}),
    "canceled order": (_canceled_order, set()),
    "unpaid order": (
        lambda w, now: (make_order([(w.a.product, 1)], status="pending").shipments[0], w.a.operator),
        set(),
    ),
    "station-cash pick-up, new": (
        lambda w, now: (
            make_order(
                [(w.a.product, 1)], delivery="pickup", pickup_station=w.a.station, payment_method="station_cash"
            ).shipments[0],
            w.a.operator,
        ),
        {"accept", "cancel", "cash"},
    ),
    "station-cash pick-up at the counter": (
        lambda w, now: (_own_pickup(w, now, payment_method="station_cash"), w.a.operator),
        {"pickup", "cancel"},
    ),
    "cash-on-delivery parcel, new": (  # paid at the door, never at the counter
        lambda w, now: (make_order([(w.a.product, 1)], payment_method="cod").shipments[0], w.a.operator),
        {"accept", "cancel"},
    ),
    "station-cash parcel, new": (  # paid at the counter, then sent home
        lambda w, now: (make_order([(w.a.product, 1)], payment_method="station_cash").shipments[0], w.a.operator),
        {"accept", "cancel", "cash"},
    ),
    "transfer going back, its packing station": (lambda w, now: (_returning(w, now), w.b.operator), {"receive_return"}),
    "transfer going back, the pick-up station": (lambda w, now: (_returning(w, now), w.a.operator), set()),
}


@pytest.mark.parametrize("state", list(STATES))
def test_the_page_offers_exactly_the_steps_a_post_would_take(db, world, now, client, auth, state):
    build, expected = STATES[state]
    shipment, viewer = build(world, now)
    commit()
    auth.login(viewer)
    offered = _page_offers(client, shipment)
    assert offered == expected
    # the steps the page offers are taken; the others refused (the one step done at once goes last)
    order = sorted(STEPS, key=lambda step: step in UNASKED and step in offered)
    taken = {step for step in order if _taken(client, shipment, step)}
    assert taken - {"cancel_line"} == offered - {"unlock"}, state
    assert ("cancel_line" in taken) == ("cancel" in offered), state


def test_a_cash_on_delivery_parcel_is_delivered_with_its_cash_and_offers_no_early_cash(db, world, now, client, auth):
    shipment = make_order([(world.a.product, 1)], payment_method="cod").shipments[0]
    for step in ("accept", "pack"):
        fulfilment.apply_action(shipment, step, actor=world.a.operator, now=now)
    fulfilment.ship(shipment, tracking_number="SF1", actor=world.a.operator, now=now)
    commit()
    auth.login(world.a.operator)
    assert _page_offers(client, shipment) == {"deliver"}
    page = client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True)
    assert 'name="cash_received"' in page and "收款并确认已送达" in page
    refused = client.post(f"/station/shipments/{shipment.code}/cash", data={}, follow_redirects=True)
    assert "货到付款的订单由送货人在送达时向收货人收款" in refused.get_data(as_text=True)
    assert cashbook.taken_entry(shipment.id) is None


def test_the_counter_says_why_it_holds_the_order(db, world, now, client, auth):
    waiting, operator = _waiting_at_the_counter(world, now)
    locked = _locked(world, now)
    commit()
    auth.login(operator)
    page = client.get(f"/station/shipments/{waiting.code}").get_data(as_text=True)
    assert "还有发货单未到自提站点" in page and "已锁定" not in page and 'name="pickup_code"' not in page
    page = client.get(f"/station/shipments/{locked.code}").get_data(as_text=True)
    assert "已锁定" in page and "还有发货单未到自提站点" not in page and 'name="pickup_code"' not in page
