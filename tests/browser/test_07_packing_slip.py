"""The packing slip (#17.8, #19.6): no pick-up code on it, and its 打印 button prints under the CSP."""
from __future__ import annotations

from playwright.sync_api import expect

from tests.browser.harness import DEMO
from tests.browser.journeys import VILLAGE_A, api, api_token, demo_product, order_facts


def test_slip_never_shows_the_pick_up_code_and_its_print_button_works_under_the_csp(open_page, live_server,
                                                                                    viewport):
    product = demo_product(live_server, VILLAGE_A)  # NC01, the demo operator's station
    token = api_token(live_server, DEMO["consumer"])
    status, stations = api(live_server, "GET", "/stations", token=token)
    assert status == 200, stations
    station_list = stations if isinstance(stations, list) else stations.get("items", [])
    nc01 = next(s for s in station_list if s["code"] == product["station_code"])
    status, order = api(live_server, "POST", "/orders", {
        "items": [{"product_id": product["id"], "quantity": 1}], "delivery": "pickup",
        "pickup_station_id": nc01["id"], "payment_method": "station_cash"}, token=token)
    assert status == 201, order
    code = order["shipments"][0]["pickup_code"]
    assert code and code.isdigit()
    shipment = order_facts(live_server, order["id"])["shipments"][0]["code"]

    operator = open_page("operator")
    page = operator.page
    page.add_init_script("window.__printed = 0; window.print = function () { window.__printed += 1; };")
    operator.login(DEMO["operator"])
    for action in ("accept", "pack"):  # on the pick-up shelf: the moment a slip is printed for it
        status, body = api(live_server, "POST", f"/shipments/{shipment}/transition", {"action": action},
                           token=api_token(live_server, DEMO["operator"]))
        assert status == 200, (action, body)
    operator.goto(f"/station/shipments/{shipment}/slip")
    expect(page.get_by_role("heading", level=1)).to_contain_text("装箱单")
    assert code not in operator.text(), "the pick-up code is printed on the slip"
    assert code not in page.content()
    operator.step("slip")
    page.get_by_role("button", name="打印").click()
    operator.poll(lambda: page.evaluate("window.__printed") == 1, timeout=5, what="window.print() to be called")
    operator.step("printed")  # fails on any console error, a CSP refusal included
    operator.goto(f"/station/shipments/{shipment}")
    assert code not in page.content(), "the pick-up code is on the operator's shipment page"
