"""Steps the journeys share (a shopper's search, cart and checkout; reading the database).

Selectors prefer roles, labels and visible text, so that the design-system work can restyle the
pages without breaking the journeys.
"""

from __future__ import annotations

import re
import uuid

import sqlalchemy as sa
from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import expect

from tests.browser.harness import DEMO_PASSWORD, LiveServer, WatchedPage

# Two villages whose signature product is 三江腌菜 (found by typing `yancai`), served by two
# different stations: 柳溪村 → NC01 (the demo operator's station), 前进村 → NC02.
VILLAGE_A, STATION_A = "柳溪村", "NC01"
VILLAGE_B, STATION_B = "前进村", "NC02"
PICKLES = "三江腌菜500克"  # the 500克袋装 variant (规格), shown first on the product's card and page
PICKLES_FAMILY = "三江腌菜"  # the product's name on its card and page

ADDRESS = {"收货人": "李游客", "手机号": "13900001234", "详细地址": "莲塘镇澄湖东路88号"}


def demo_product(live: LiveServer, village: str, name: str = PICKLES) -> dict:
    """The demo product `name` of `village`: id, slug, price, station code."""
    from catalog.models import Product, Village
    from stock.models import Station

    with live.app_context() as db:
        row = db.session.execute(
            sa.select(Product.id, Product.slug, Product.price_fen, Station.code, Station.name)
            .join(Village, Product.village_id == Village.id)
            .join(Station, Product.station_id == Station.id)
            .where(Village.name == village, Product.name == name)
        ).one()
    return {"id": row[0], "slug": row[1], "price_fen": row[2], "station_code": row[3], "station_name": row[4]}


def new_account(live: LiveServer, prefix: str, viewport=None) -> str:
    """A buyer account of its own for one test (registered through the API, password DEMO_PASSWORD):
    its e-mail, `<prefix>-<viewport>-<random>@test.cn`."""
    middle = f"-{viewport.name}" if viewport is not None else ""
    email = f"{prefix}{middle}-{uuid.uuid4().hex[:8]}@test.cn"
    status, body = api(live, "POST", "/auth/register", {"email": email, "password": DEMO_PASSWORD})
    assert status == 201, body
    return email


def new_shopper_on_product(open_page, live: LiveServer, prefix: str, viewport) -> tuple[WatchedPage, dict]:
    """A shopper who has just registered (`prefix`-<viewport>-<random>@test.cn), signed in, with an
    empty cart, on the page of 三江腌菜 of VILLAGE_A: (the shopper, the product's facts)."""
    product = demo_product(live, VILLAGE_A)
    email = new_account(live, prefix, viewport)
    shopper = open_page("shopper")
    shopper.login(email)
    empty_cart(shopper)
    shopper.goto(f"/products/{product['id']}-{product['slug']}")
    return shopper, product


def empty_cart(user: WatchedPage) -> None:
    """Start from an empty cart (a journey that failed earlier may have left lines behind)."""
    page = user.page
    user.goto("/cart")
    for _ in range(20):
        remove = page.locator("main").get_by_role("button", name=user.t("删除"), exact=True)
        if remove.count() == 0:
            return
        user.submit_and_wait(remove.first.click)
    raise AssertionError("could not empty the cart")


def search(user: WatchedPage, words: str) -> None:
    """Type into the search box in the page header and submit, as a person would."""
    page = user.page
    # a searchbox, or a combobox once suggest.js attaches its suggestion list
    box = page.get_by_role("search").get_by_label(user.t("搜索"), exact=True)
    if not box.is_visible():  # a phone layout may fold the search behind a button
        page.get_by_role("button", name=user.t("搜索")).first.click()
    box.fill(words)
    user.submit_and_wait(lambda: box.press("Enter"))


def add_from_results(user: WatchedPage, *, village: str, name: str = PICKLES_FAMILY) -> None:
    """From a result list, open `name` of `village` and add one (of its first variant) to the cart."""
    page = user.page
    card = page.get_by_role("article").filter(has_text=village).filter(has_text=name)
    expect(card).to_have_count(1)
    user.submit_and_wait(lambda: card.get_by_role("link").first.click())
    expect(page.get_by_role("heading", level=1)).to_contain_text(name)
    expect(page.locator("main")).to_contain_text(village)
    user.submit_and_wait(lambda: page.get_by_role("button", name=user.t("加入购物车")).click())


def go_to_checkout(user: WatchedPage, expected_lines: int) -> None:
    page = user.page
    if not page.url.rstrip("/").endswith("/cart"):
        user.goto("/cart")
    rows = page.locator("main").get_by_role("row").filter(has=page.get_by_role("spinbutton"))
    expect(rows).to_have_count(expected_lines)
    user.step("cart")
    user.submit_and_wait(lambda: page.get_by_role("link", name=user.t("去结算")).click())
    expect(page.get_by_role("heading", level=1)).to_contain_text(user.t("结算"))


def fill_address(user: WatchedPage) -> None:
    page = user.page
    page.get_by_label(user.t("快递到家")).check()
    new_address = page.get_by_label(user.t("选择已保存的地址"), exact=True)
    if new_address.count() and new_address.is_visible():
        new_address.select_option(label=user.t("新地址"))
    for label, value in ADDRESS.items():
        page.get_by_label(user.t(label), exact=True).fill(value)


def order_code_from_url(user: WatchedPage) -> str:
    m = re.search(r"/orders/([A-Za-z0-9-]+)$", user.page.url.split("?")[0])
    assert m, f"not on an order page: {user.page.url}"
    return m.group(1)


def order_facts(live: LiveServer, code: str) -> dict:
    """What the database says about an order: status, payment method, shipments by station code."""
    from orders.models import Order, Shipment
    from stock.models import Station

    with live.app_context() as db:
        order = db.session.scalar(sa.select(Order).where(Order.code == code))
        assert order is not None, f"no order {code} in the database"
        shipments = db.session.execute(
            sa.select(Shipment.code, Shipment.status, Station.code, Station.name)
            .join(Station, Shipment.station_id == Station.id)
            .where(Shipment.order_id == order.id)
            .order_by(Shipment.code)
        ).all()
        return {
            "id": order.id,
            "status": str(order.status),
            "payment_method": str(order.payment_method),
            "total_fen": order.total_fen,
            "paid_at": order.paid_at,
            "shipments": [
                {"code": s[0], "status": str(s[1]), "station": s[2], "station_name": s[3]} for s in shipments
            ],
        }


def order_bookings(live: LiveServer, code: str) -> list[dict]:
    """The bookings of an order: code, status, confirmation code, dates."""
    from orders.models import Order

    with live.app_context() as db:
        order = db.session.scalar(sa.select(Order).where(Order.code == code))
        assert order is not None, f"no order {code}"
        return [
            {
                "code": b.code,
                "status": str(b.status),
                "confirmation": b.confirmation_code,
                "check_in": b.check_in_date,
                "check_out": b.check_out_date,
            }
            for b in order.bookings
        ]


def select_option_containing(select, text: str) -> None:
    """Choose the option of a <select> whose visible text contains `text`."""
    labels = [t.strip() for t in select.locator("option").all_inner_texts()]
    matching = [t for t in labels if text in t]
    assert matching, f"no option containing {text!r} in {labels}"
    select.select_option(label=matching[0])


def payment_facts(live: LiveServer, code: str) -> dict:
    """The order's latest payment and the Stripe webhook events stored for it."""
    from orders.models import Order, OrderPayment, StripeEvent

    with live.app_context() as db:
        order = db.session.scalar(sa.select(Order).where(Order.code == code))
        payment = db.session.scalars(
            sa.select(OrderPayment).where(OrderPayment.order_id == order.id).order_by(OrderPayment.id.desc())
        ).first()
        events = []
        if payment is not None and payment.provider_ref:
            events = [
                (e.type, e.processed_at is not None)
                for e in db.session.scalars(sa.select(StripeEvent).where(StripeEvent.object_id == payment.provider_ref))
            ]
        return {
            "order_status": str(order.status),
            "paid_at": order.paid_at,
            "state": str(payment.state) if payment else None,
            "provider": payment.provider if payment else None,
            "intent": payment.provider_ref if payment else None,
            "amount_fen": payment.amount_fen if payment else None,
            "events": events,
        }


def api(
    live: LiveServer, method: str, path: str, body: dict | None = None, token: str | None = None
) -> tuple[int, dict]:
    """Call the JSON API of the live server (to prepare what a journey starts from)."""
    import json
    import urllib.error
    import urllib.request

    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(f"{live.url}/api/v1{path}", data=data, method=method, headers=headers)
    try:
        with urllib.request.urlopen(request, timeout=15) as r:
            return r.status, json.loads(r.read() or b"{}")
    except urllib.error.HTTPError as exc:
        raw = exc.read()
        try:
            return exc.code, json.loads(raw or b"{}")
        except ValueError:
            return exc.code, {"raw": raw.decode(errors="replace")[:500]}


def api_token(live: LiveServer, email: str) -> str:
    from tests.browser.harness import DEMO_PASSWORD

    status, body = api(live, "POST", "/auth/token", {"email": email, "password": DEMO_PASSWORD})
    assert status == 200, (status, body)
    return body["token"]


def pickup_order_by_api(live: LiveServer, product: dict, email: str = "consumer@demo.cn") -> dict:
    """An order of one `product` (`demo_product`'s facts) to be collected and paid in cash at the product's
    own station, placed by `email` through POST /api/v1/orders; returns the API's answer (the order)."""
    token = api_token(live, email)
    status, stations = api(live, "GET", "/stations", token=token)
    assert status == 200, stations
    listed = stations if isinstance(stations, list) else stations.get("items", [])
    station = next(s for s in listed if s["code"] == product["station_code"])
    body = {
        "items": [{"product_id": product["id"], "quantity": 1}],
        "delivery": "pickup",
        "pickup_station_id": station["id"],
        "payment_method": "station_cash",
    }
    status, order = api(live, "POST", "/orders", body, token=token)
    assert status == 201, order
    return order


def place_order_by_api(
    live: LiveServer, email: str, product_ids: list[int], *, payment_method: str = "cod", quantity: int = 1
) -> str:
    """A consumer's order for home delivery of `quantity` of each product, placed through POST
    /api/v1/orders; returns its code."""
    token = api_token(live, email)
    status, body = api(
        live,
        "POST",
        "/orders",
        {
            "items": [{"product_id": pid, "quantity": quantity} for pid in product_ids],
            "address": {
                "name": "李游客",
                "phone": "13900001234",
                "province": "江西省",
                "city": "南昌市",
                "district": "南昌县",
                "line": "莲塘镇澄湖东路88号",
            },
            "delivery": "ship",
            "payment_method": payment_method,
        },
        token=token,
    )
    assert status == 201, (status, body)
    return body["id"]


def income_of_order(live: LiveServer, code: str) -> dict:
    """Ledger entries written for an order's lines: total fen, households, villages."""
    from catalog.models import Village
    from ledger.models import IncomeEntry
    from orders.models import Order, OrderLine

    with live.app_context() as db:
        rows = db.session.execute(
            sa.select(IncomeEntry.household_id, IncomeEntry.amount_fen, Village.name)
            .join(OrderLine, IncomeEntry.order_line_id == OrderLine.id)
            .join(Order, OrderLine.order_id == Order.id)
            .outerjoin(Village, IncomeEntry.village_id == Village.id)
            .where(Order.code == code)
        ).all()
    return {
        "total_fen": sum(r[1] for r in rows),
        "households": {r[0] for r in rows},
        "villages": {r[2] for r in rows},
        "entries": len(rows),
    }


def yuan(fen: int) -> str:
    """How the pages show money (shop.money.format_yuan): ¥1,234.50."""
    from shop.money import format_yuan

    return format_yuan(fen)


def deliver_by_api(live: LiveServer, code: str) -> None:
    """The demo operator works every NC01 shipment of the order to delivered through the API."""
    token = api_token(live, "operator@demo.cn")
    for shipment in order_facts(live, code)["shipments"]:
        if shipment["station"] != STATION_A:
            continue
        body = {}
        for action, extra in (
            ("accept", {}),
            ("pack", {}),
            ("ship", {"tracking_number": "SF0000000001"}),
            ("deliver", {}),
        ):
            if action == "deliver" and body.get("payment_method") in ("cod", "station_cash"):
                extra = {"cash_received_fen": body["amount_fen"]}  # cash is taken in the hand-over step
            status, body = api(
                live, "POST", f"/shipments/{shipment['code']}/transition", {"action": action, **extra}, token=token
            )
            assert status == 200, (action, status, body)


def delivered_to_new_account(live: LiveServer, prefix: str, viewport, quantity: int) -> tuple[dict, str, str]:
    """The after-sales journeys' start: a new account (`prefix`) orders `quantity` of 柳溪村's 三江腌菜 (NC01,
    the demo operator's station; cash on delivery), and NC01 delivers it, all through the API. Returns
    the product (`demo_product`), the account's e-mail and the order's code."""
    product = demo_product(live, VILLAGE_A)
    email = new_account(live, prefix, viewport)
    code = place_order_by_api(live, email, [product["id"]], quantity=quantity)
    deliver_by_api(live, code)
    return product, email, code


def waiting_refund_requests(live: LiveServer, station_code: str, kind: str | None = None) -> int:
    """How many refund requests wait for the station's decision (`kind`: only those the buyer asked as
    that kind, `return` or `refund_only`), what its desk's 退款申请待处理 tile counts. Other journeys on
    the same server may have left some."""
    from orders.models import RefundRequest
    from stock.models import Station

    with live.app_context() as db:
        station_id = db.session.scalar(sa.select(Station.id).where(Station.code == station_code))
        query = sa.select(sa.func.count(RefundRequest.id)).where(
            RefundRequest.station_id == station_id, RefundRequest.status == "requested"
        )
        if kind is not None:
            query = query.where(RefundRequest.kind == kind)
        return db.session.scalar(query)


def tap_height(locator) -> float:
    """The element's height on the page, in CSS pixels: a thumb's target is 40 px or more (44 for a row)."""
    box = locator.bounding_box()
    assert box is not None
    return box["height"]


def shipment_due_yuan(live: LiveServer, shipment_code: str) -> str:
    """What the buyer owes for a shipment, as typed into the cash field ("12.50")."""
    from orders.models import Shipment
    from orders.services.amounts import shipment_due_fen

    with live.app_context() as db:
        fen = shipment_due_fen(db.session.scalar(sa.select(Shipment).where(Shipment.code == shipment_code)))
    return f"{fen // 100}.{fen % 100:02d}"


def village_income_fen(live: LiveServer, village: str) -> int:
    """All ledger entries credited to households of `village` (what the county page must show)."""
    from catalog.models import Village
    from ledger.models import IncomeEntry

    with live.app_context() as db:
        return int(
            db.session.scalar(
                sa.select(sa.func.coalesce(sa.func.sum(IncomeEntry.amount_fen), 0))
                .join(Village, IncomeEntry.village_id == Village.id)
                .where(Village.name == village)
            )
        )


def pay_with_card(shopper) -> bool:
    """Press pay; complete the emulator's stand-in for 3-D Secure if it asks (-> True); wait for the page to move on."""
    page = shopper.page
    navigated = []
    page.on("framenavigated", lambda frame: navigated.append(frame.url) if frame == page.main_frame else None)
    page.get_by_role("button", name=re.compile("^" + re.escape(shopper.t("支付")))).click()
    authenticate = page.get_by_role("button", name="Complete authentication")
    asked = False
    for _ in range(150):
        if navigated:
            page.wait_for_load_state("load")
            return asked
        if not asked and authenticate.count() and authenticate.is_visible():
            shopper.step("3-D Secure")
            authenticate.click()
            asked = True
            continue
        try:  # the page may be navigating away right now
            text = page.evaluate("(document.getElementById('payment-message') || {}).textContent || ''").strip()
        except PlaywrightError:
            text = ""
        if text:
            shopper.step("payment refused", check=False)
            problems = "\n  ".join(shopper.problems.items)
            raise AssertionError(f"the payment form says {text!r}{' and: ' + problems if problems else ''}")
        page.wait_for_timeout(100)
    raise AssertionError("after pressing pay the page neither moved on nor showed a message within 15 s")


THREE_D_SECURE_CARD = "4000000000003220"  # localstripe: confirmation needs authentication (requires_action)
TEST_CARD = {"number": "4242424242424242", "exp_month": "12", "exp_year": "34", "cvc": "123", "postal_code": "330200"}


def enter_card(user: WatchedPage, card_data: dict) -> None:
    """Type a test card into the card element (served by localstripe's Stripe.js)."""
    card = user.page.locator("#card-element")
    expect(card.get_by_placeholder("number")).to_be_visible()
    for field, value in card_data.items():
        card.get_by_placeholder(field, exact=True).fill(value)
    user.step("card entered")


def confirm_if_asked(user: WatchedPage) -> bool:
    """The confirmation step of an irreversible action (shop/confirm.py, templates/confirm.html):
    when the page asks, the question is recorded as a step and confirmed with its primary button.
    True when there was a question."""
    page = user.page
    heading = page.get_by_role("heading", level=1)
    if not heading.count() or user.t("请确认") not in heading.first.inner_text():
        return False
    user.step("asked to confirm")
    user.submit_and_wait(lambda: page.locator("main form").get_by_role("button", name=re.compile(".")).first.click())
    return True
