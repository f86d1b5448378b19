"""Journey 8: pick-up at the chosen station as the buyer and the station see it; the packing slip (#17.8,
#19.6): no pick-up code on it, its lot and shipment codes each on one line on a phone (the lot code broke
beside its QR code), and its 打印 button prints under the CSP."""

from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import VILLAGE_A, api, api_token, demo_product, order_facts, pickup_order_by_api


def station_list(stations) -> list[dict]:
    return stations if isinstance(stations, list) else stations.get("items", [])


def test_slip_never_shows_the_pick_up_code_and_its_print_button_works_under_the_csp(open_page, live_server, viewport):
    product = demo_product(live_server, VILLAGE_A)  # NC01, the demo operator's station
    order = pickup_order_by_api(live_server, product)
    code = order["shipments"][0]["pickup_code"]
    assert code and code.isdigit()
    shipment = order_facts(live_server, order["id"])["shipments"][0]["code"]

    operator = open_page("operator")
    page = operator.page
    page.add_init_script("window.__printed = 0; window.print = function () { window.__printed += 1; };")
    operator.login(DEMO["operator"])
    for action in ("accept", "pack"):  # on the pick-up shelf: the moment a slip is printed for it
        status, body = api(
            live_server,
            "POST",
            f"/shipments/{shipment}/transition",
            {"action": action},
            token=api_token(live_server, DEMO["operator"]),
        )
        assert status == 200, (action, body)
    operator.goto(f"/station/shipments/{shipment}/slip")
    expect(page.get_by_role("heading", level=1)).to_contain_text(operator.t("装箱单"))
    assert code not in operator.text(), "the pick-up code is printed on the slip"
    assert code not in page.content()
    operator.step("slip")
    lots = page.locator(".slip-lot code")
    assert lots.count() >= 1, "no lot code on the slip"
    for code_box in [*lots.all(), page.locator(".slip-head .code").first]:  # a code broken over two lines has two boxes
        boxes = code_box.evaluate(
            "e => { const r = document.createRange(); r.selectNodeContents(e); return r.getClientRects().length; }"
        )
        assert boxes == 1, (code_box.inner_text(), boxes)
    page.get_by_role("button", name=operator.t("打印")).click()
    operator.poll(lambda: page.evaluate("window.__printed") == 1, timeout=5, what="window.print() to be called")
    operator.step("printed")  # fails on any console error, a CSP refusal included
    operator.goto(f"/station/shipments/{shipment}")
    assert code not in page.content(), "the pick-up code is on the operator's shipment page"


def test_buyer_sees_the_chosen_station_and_one_code_and_the_station_sees_what_comes_to_it(
    open_page, live_server, viewport
):
    from tests.browser.journeys import VILLAGE_B

    a, b = demo_product(live_server, VILLAGE_A), demo_product(live_server, VILLAGE_B)
    token = api_token(live_server, DEMO["consumer"])
    _status, stations = api(live_server, "GET", "/stations", token=token)
    nc01 = next(s for s in station_list(stations) if s["code"] == a["station_code"])
    status, order = api(
        live_server,
        "POST",
        "/orders",
        {
            "items": [{"product_id": a["id"], "quantity": 1}, {"product_id": b["id"], "quantity": 1}],
            "delivery": "pickup",
            "pickup_station_id": nc01["id"],
            "payment_method": "station_cash",
        },
        token=token,
    )
    assert status == 201, order
    codes = {s["pickup_code"] for s in order["shipments"]}
    assert len(order["shipments"]) == 2 and len(codes) == 1
    assert {s["pickup_station_id"] for s in order["shipments"]} == {nc01["id"]}
    (code,) = codes
    incoming = next(s["id"] for s in order["shipments"] if s["station_id"] != nc01["id"])

    buyer = open_page("buyer")
    buyer.login(DEMO["consumer"])
    buyer.goto(f"/orders/{order['id']}")
    card = buyer.page.locator("main section.pickup")
    expect(card).to_contain_text(nc01["name"])
    expect(card).to_contain_text(nc01["address"])
    expect(card).to_contain_text(code)
    expect(card.get_by_role("img", name=buyer.t("取货码二维码"))).to_be_visible()
    buyer.step("order page: station, code and QR")

    operator = open_page("operator")
    operator.login(DEMO["operator"])
    operator.goto("/station/")
    coming = operator.page.locator("main section").filter(has_text=operator.t("送来本站自提"))
    expect(coming.get_by_role("link", name=incoming, exact=True)).to_be_visible()
    operator.step("workspace: shipment coming for pick-up")
    operator.goto(f"/station/shipments/{incoming}")
    coming_from = next(s["station_id"] for s in order["shipments"] if s["station_id"] != nc01["id"])
    from_name = next(s["name"] for s in station_list(stations) if s["id"] == coming_from)
    expect(operator.page.locator("main")).to_contain_text(
        operator.t("从 %(from)s 送往 %(to)s", **{"from": from_name, "to": nc01["name"]})
    )
    assert code not in operator.page.content()
    operator.step("incoming shipment")
