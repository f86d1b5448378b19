"""Quote requests (询价, #22): a buyer asks the selling station, the station answers (quantity, unit
price, lead time, valid until), the buyer accepts it into a draft purchase; the line holds the quoted
price through approval and placement (the retail placement path); a price from the client is refused;
an expired answer cannot be accepted; other organisations and stations see nothing (404)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from institutions.models import PurchaseLine, QuoteRequest
from orders.models import Order, OrderLine
from shop.audit import AuditEntry
from shop.db import commit
from shop.extensions import db as _db
from shop.once import new_form_token, valid_token
from shop.timeutil import local_date, now_utc
from tests.factories import make_product, make_station, make_user
from tests.institutions.factories import make_organisation
from tests.institutions.purchase_setup import answer_quote, ask_quote, purchase_form, requested_day
from tests.once_token import once_token
from tests.orders.factories import ADDRESS_JSON
from tests.page_language import chinese_ui_on_en, page_text_nodes


def _setup(client, api_token, *, stock: int = 200):
    buyer, approver, viewer = make_user(name="采购小张"), make_user(name="财务老李"), make_user()
    organisation = make_organisation(members={"buyer": buyer, "approver": approver, "viewer": viewer})
    station = make_station()
    rice = make_product(name="南昌大米", price_fen=6000, stock=stock, station=station)
    eggs = make_product(name="土鸡蛋", price_fen=4500, stock=stock)
    operator = make_user(role="operator", station=station)
    other_operator = make_user(role="operator", station=make_station())
    other_buyer = make_user()
    other_org = make_organisation(name="另一单位", members={"buyer": other_buyer})
    commit()
    b = api_token(buyer)
    r = client.post(
        "/api/v1/purchases",
        headers=b,
        json={
            "organisation_id": organisation.id,
            "delivery": "ship",
            "requested_date": requested_day(10),
            "payment_method": "cod",
            "destinations": [
                {"label": "本部食堂", "address": ADDRESS_JSON, "items": [{"product_id": eggs.id, "quantity": 5}]}
            ],
        },
    )
    assert r.status_code == 201, r.json
    return {
        "buyer": buyer,
        "approver": approver,
        "viewer": viewer,
        "organisation": organisation,
        "rice": rice,
        "eggs": eggs,
        "operator": operator,
        "other_operator": other_operator,
        "other_buyer": other_buyer,
        "other_org": other_org,
        "purchase": r.json,
        "b": b,
        "station": station,
    }


def test_answered_accepted_approved_placed_holds_the_quoted_price(client, db, api_token):
    s = _setup(client, api_token)
    q = ask_quote(client, s)
    assert (q["status"], q["station_id"]) == ("open", s["station"].id)
    o = api_token(s["operator"])
    r = answer_quote(client, o, q["id"])
    assert r.status_code == 200, r.json
    assert (r.json["status"], r.json["unit_price_fen"], r.json["answered_quantity"]) == ("answered", 5200, 8)
    assert answer_quote(client, o, q["id"]).status_code == 409  # answered once
    purchase = s["purchase"]
    destination = purchase["destinations"][0]["id"]
    r = client.post(
        f"/api/v1/quote-requests/{q['id']}/accept",
        headers=s["b"],
        json={"purchase_id": purchase["id"], "destination_id": destination},
    )
    assert r.status_code == 200, r.json
    quoted = next(line for line in r.json["lines"] if line["product_id"] == s["rice"].id)
    assert (quoted["unit_price_fen"], quoted["quantity"], quoted["quote_request_id"]) == (5200, 8, q["id"])
    assert (
        client.post(
            f"/api/v1/quote-requests/{q['id']}/accept",
            headers=s["b"],
            json={"purchase_id": purchase["id"], "destination_id": destination},
        ).status_code
        == 409
    )  # once
    # the catalogue price changes meanwhile: the accepted line keeps the quote
    s["rice"].price_fen = 9900
    commit()
    estimated = client.get(f"/api/v1/purchases/{purchase['id']}", headers=s["b"]).json["estimated_total_fen"]
    assert estimated >= 8 * 5200 + 5 * 4500 and estimated < 8 * 9900
    client.post(f"/api/v1/purchases/{purchase['id']}/submit", headers=s["b"])
    r = client.post(
        f"/api/v1/purchases/{purchase['id']}/approve",
        headers=api_token(s["approver"]),
        json={"shown_total_fen": estimated},
    )
    assert r.status_code == 200, r.json
    order = _db.session.scalar(sa.select(Order).where(Order.code == r.json["order_codes"][0]))
    line = _db.session.scalar(
        sa.select(OrderLine).where(OrderLine.order_id == order.id, OrderLine.product_id == s["rice"].id)
    )
    assert (line.unit_price_fen, line.quantity, line.line_total_fen) == (5200, 8, 41600)
    assert order.total_fen == estimated
    assert s["rice"].stock.allocated == 8  # the retail allocation
    actions = _db.session.scalars(
        sa.select(AuditEntry.action).where(AuditEntry.subject_type == "quote_requests").order_by(AuditEntry.id)
    ).all()
    assert actions == ["quote.answer", "quote.accept"]


def test_a_price_from_the_client_is_refused_and_never_used(client, db, api_token):
    s = _setup(client, api_token)
    q = ask_quote(client, s)
    answer_quote(client, api_token(s["operator"]), q["id"])
    purchase = s["purchase"]
    destination = purchase["destinations"][0]["id"]
    r = client.post(
        f"/api/v1/quote-requests/{q['id']}/accept",
        headers=s["b"],
        json={"purchase_id": purchase["id"], "destination_id": destination, "unit_price_fen": 1},
    )
    assert r.status_code == 422
    r = client.post(
        "/api/v1/purchases",
        headers=s["b"],
        json={
            "organisation_id": s["organisation"].id,
            "delivery": "ship",
            "requested_date": requested_day(),
            "payment_method": "cod",
            "destinations": [
                {
                    "label": "食堂",
                    "address": ADDRESS_JSON,
                    "items": [{"product_id": s["rice"].id, "quantity": 2, "unit_price_fen": 1}],
                }
            ],
        },
    )
    assert r.status_code == 422
    # the buyer cannot answer their own request with a price either
    assert answer_quote(client, s["b"], q["id"], unit_price_fen=1).status_code == 403
    assert (
        _db.session.scalar(sa.select(sa.func.count(PurchaseLine.id)).where(PurchaseLine.unit_price_fen.is_not(None)))
        == 0
    )
    assert _db.session.get(QuoteRequest, q["id"]).unit_price_fen == 5200


def test_an_answer_expires_on_its_valid_until_day(client, db, api_token):
    s = _setup(client, api_token)
    q = ask_quote(client, s)
    o = api_token(s["operator"])
    for bad in (
        {"valid_until": requested_day(-1)},
        {"valid_until": requested_day(91)},
        {"quantity": 9},
        {"lead_days": -1},
        {"unit_price_fen": 0},
    ):
        assert answer_quote(client, o, q["id"], **bad).status_code == 422, bad
    assert answer_quote(client, o, q["id"], valid_until=requested_day(0)).status_code == 200
    # the day after valid_until the answer cannot be accepted
    stored = _db.session.get(QuoteRequest, q["id"])
    stored.valid_until = local_date(now_utc()) - timedelta(days=1)
    commit()
    assert client.get(f"/api/v1/quote-requests/{q['id']}", headers=s["b"]).json["expired"] is True
    purchase = s["purchase"]
    r = client.post(
        f"/api/v1/quote-requests/{q['id']}/accept",
        headers=s["b"],
        json={"purchase_id": purchase["id"], "destination_id": purchase["destinations"][0]["id"]},
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "quote_expired"
    assert _db.session.scalar(sa.select(sa.func.count(PurchaseLine.id))) == 1  # only the eggs


def test_other_organisations_and_stations_see_nothing(client, db, api_token):
    s = _setup(client, api_token)
    q = ask_quote(client, s)
    oo, ob = api_token(s["other_operator"]), api_token(s["other_buyer"])
    for token in (oo, ob):
        assert client.get(f"/api/v1/quote-requests/{q['id']}", headers=token).status_code == 404
        assert answer_quote(client, token, q["id"]).status_code == 404
        assert (
            client.post(f"/api/v1/quote-requests/{q['id']}/decline", headers=token, json={"reason": "x"}).status_code
            == 404
        )
    assert client.get("/api/v1/quote-requests", headers=oo).json["items"] == []
    assert client.get(f"/api/v1/quote-requests?organisation_id={s['organisation'].id}", headers=ob).status_code == 404
    # a buyer of organisation B cannot ask in A's name, nor accept A's quote into B's purchase
    r = client.post(
        "/api/v1/quote-requests",
        headers=ob,
        json={
            "organisation_id": s["organisation"].id,
            "product_id": s["rice"].id,
            "quantity": 1,
            "needed_by": requested_day(),
        },
    )
    assert r.status_code == 404
    answer_quote(client, api_token(s["operator"]), q["id"])
    r = client.post(f"/api/v1/quote-requests/{q['id']}/accept", headers=ob, json={"purchase_id": s["purchase"]["id"]})
    assert r.status_code == 404
    # the addressed station and the organisation's members see it
    assert [x["id"] for x in client.get("/api/v1/quote-requests", headers=api_token(s["operator"])).json["items"]] == [
        q["id"]
    ]
    assert client.get(f"/api/v1/quote-requests/{q['id']}", headers=api_token(s["viewer"])).status_code == 200
    assert client.get("/api/v1/quote-requests/999999", headers=s["b"]).status_code == 404
    # a viewer or approver neither asks nor accepts
    r = client.post(
        "/api/v1/quote-requests",
        headers=api_token(s["viewer"]),
        json={
            "organisation_id": s["organisation"].id,
            "product_id": s["rice"].id,
            "quantity": 1,
            "needed_by": requested_day(),
        },
    )
    assert r.status_code == 403


def test_a_station_may_decline_with_a_reason(client, db, api_token):
    s = _setup(client, api_token)
    q = ask_quote(client, s)
    o = api_token(s["operator"])
    assert client.post(f"/api/v1/quote-requests/{q['id']}/decline", headers=o, json={"reason": " "}).status_code == 422
    r = client.post(f"/api/v1/quote-requests/{q['id']}/decline", headers=o, json={"reason": "今年减产"})
    assert r.status_code == 200 and r.json["status"] == "declined"
    assert answer_quote(client, o, q["id"]).status_code == 409


def _token(page: str) -> str:
    return (
        once_token(page)
        if 'name="form_token" type="hidden"' in page
        else page.split('name="form_token" value="')[1].split('"')[0]
    )


def test_the_pages_let_the_buyer_ask_the_station_answer_and_the_buyer_accept(app, client, db, api_token):
    s = _setup(client, api_token)
    buyer, station = app.test_client(), app.test_client()
    buyer.post("/login", data={"email": s["buyer"].email, "password": "password123"})
    station.post("/login", data={"email": s["operator"].email, "password": "password123"})
    url = f"/organisations/{s['organisation'].id}/quote-requests"
    page = buyer.get(url).get_data(as_text=True)
    assert "发送询价" in page and "南昌大米" in page
    form = {
        "product_id": str(s["rice"].id),
        "quantity": "20",
        "needed_by": requested_day(8),
        "note": "",
        "form_token": _token(page),
    }
    r = buyer.post(url, data=form)
    assert r.status_code == 303, r.get_data(as_text=True)
    quote_url = r.headers["Location"]
    assert buyer.post(url, data=form).status_code == 303  # the same page twice: one request
    assert _db.session.scalar(sa.select(sa.func.count(QuoteRequest.id))) == 1
    # the station finds it in its workspace and answers after a confirmation step
    assert quote_url.split("/")[-1] in station.get("/station/quote-requests").get_data(as_text=True)
    answer = {
        "quantity": "20",
        "unit_price": "48.50",
        "lead_days": "4",
        "valid_until": requested_day(6),
        "note": "新米",
    }
    r = station.post(quote_url + "/answer", data=answer, follow_redirects=True)
    assert r.status_code == 200 and 'name="confirm"' in r.get_data(as_text=True)
    assert _db.session.scalar(sa.select(QuoteRequest.status)) == "open"
    assert station.post(quote_url + "/answer", data={**answer, "confirm": "1"}).status_code == 303
    assert buyer.post(quote_url + "/answer", data={**answer, "confirm": "1"}).status_code == 403
    page = buyer.get(quote_url).get_data(as_text=True)
    assert "¥48.50" in page and "采纳并加入采购单" in page
    target = f"{s['purchase']['id']}:{s['purchase']['destinations'][0]['id']}"
    r = buyer.post(quote_url + "/accept", data={"target": target, "confirm": "1"})
    assert r.status_code == 303 and r.headers["Location"].endswith(f"/purchases/{s['purchase']['id']}")
    assert "报价单价 ¥48.50" in buyer.get(r.headers["Location"]).get_data(as_text=True)
    line = _db.session.scalar(sa.select(PurchaseLine).where(PurchaseLine.quote_request_id.is_not(None)))
    assert (line.unit_price_fen, line.quantity) == (4850, 20)
    # another station's operator: not found
    other = app.test_client()
    other.post("/login", data={"email": s["other_operator"].email, "password": "password123"})
    assert other.get(quote_url).status_code == 404
    href = 'href="/quote-requests/' + quote_url.split("/")[-1] + '"'
    assert href in station.get("/station/quote-requests").get_data(as_text=True)
    assert href not in other.get("/station/quote-requests").get_data(as_text=True)


def test_a_quote_request_corrected_after_a_refusal_is_sent_once(app, client, db, api_token):
    """The quote request form refused (422: a quantity of 0, and a page sent without its once-token, e.g.
    one opened before the token was drawn) comes back with a valid once-token: the corrected form sent
    from it creates exactly one request, and sent again creates none (it was refused forever: the page
    came back with an empty token)."""
    s = _setup(client, api_token)
    buyer = app.test_client()
    buyer.post("/login", data={"email": s["buyer"].email, "password": "password123"})
    url = f"/organisations/{s['organisation'].id}/quote-requests"
    form = {"product_id": str(s["rice"].id), "quantity": "0", "needed_by": requested_day(8), "note": ""}
    count = sa.select(sa.func.count(QuoteRequest.id))
    for sent, expected in (({**form, "form_token": _token(buyer.get(url).get_data(as_text=True))}, 1), (form, 2)):
        refused = buyer.post(url, data=sent)
        assert refused.status_code == 422
        token = _token(refused.get_data(as_text=True))
        assert valid_token(token), token
        corrected = {**sent, "quantity": "20", "form_token": token}
        assert buyer.post(url, data=corrected).status_code == 303
        assert buyer.post(url, data=corrected).status_code == 303  # the same page twice: one request
        assert _db.session.scalar(count) == expected


def test_the_quote_page_tells_a_member_who_may_not_ask_who_does(app, db):
    """An approver or viewer finds no 新询价 form: the page says the organisation's buyers ask; a buyer
    gets the form and no such line; someone from outside gets nothing of it (the page is a 404)."""
    buyer, approver = make_user(), make_user()
    organisation = make_organisation(members={"buyer": buyer, "approver": approver})
    commit()
    url = f"/organisations/{organisation.id}/quote-requests"
    for user, hinted in ((approver, True), (buyer, False)):
        client = app.test_client()
        client.post("/login", data={"email": user.email, "password": "password123"})
        page = client.get(url).get_data(as_text=True)
        assert ("询价由本单位的采购员发出（单位通过扶贫办审核后）。" in page) is hinted
        assert ("发送询价" in page) is not hinted
    client = app.test_client()
    client.post("/login", data={"email": approver.email, "password": "password123"})
    assert "Quote requests are sent by the organisation's buyers" in client.get(url + "?lang=en").get_data(as_text=True)


def test_the_quote_and_transfer_pages_speak_english_too(app, client, db, api_token):

    s = _setup(client, api_token)
    q = ask_quote(client, s)
    open_q = ask_quote(client, s, quantity=3)
    answer_quote(client, api_token(s["operator"]), q["id"], note="新米")
    data = {
        s["organisation"].name,
        s["rice"].name,
        s["eggs"].name,
        "本部食堂",
        "食堂月度用米",
        "新米",
        s["station"].name,
        s["rice"].unit,
        s["buyer"].name,
    }
    for user, urls in (
        (
            s["buyer"],
            [
                f"/quote-requests/{q['id']}",
                f"/organisations/{s['organisation'].id}/quote-requests",
                f"/purchases/{s['purchase']['id']}",
            ],
        ),
        (s["operator"], [f"/quote-requests/{open_q['id']}", "/station/quote-requests", "/bank-transfers"]),
    ):
        web = app.test_client()
        web.get("/?lang=en")
        web.post("/login", data={"email": user.email, "password": "password123"})
        for url in urls:
            page = web.get(url)
            assert page.status_code == 200, url
            assert chinese_ui_on_en(page_text_nodes(page.get_data(as_text=True)), data) == [], url


def test_a_quote_request_keeps_the_station_menu_for_its_operator(client, db, api_token, auth):
    """Opened from 单位询价, a request's page (where the station answers) dropped the station's menu."""
    s = _setup(client, api_token)
    q = ask_quote(client, s)
    auth.login(s["operator"])
    page = client.get(f"/quote-requests/{q['id']}").get_data(as_text=True)
    assert 'class="station-nav' in page and 'href="/station/quote-requests"' in page and 'href="/station/"' in page


def test_the_station_s_answer_refused_before_its_confirmation_keeps_what_was_typed(app, client, db, api_token):
    """A price of 0, a validity past 90 days, an answer to a request answered already: each is refused by
    the first POST (422 / 409), the quote page again with the form as typed and the reason, never a
    confirmation step the action then refuses, nor a redirect that empties the form. The page's way back
    leads the operator to its station's list (the organisation's page, 404 to it, was a dead end)."""
    s = _setup(client, api_token)
    q = ask_quote(client, s)
    station = app.test_client()
    station.post("/login", data={"email": s["operator"].email, "password": "password123"})
    url = f"/quote-requests/{q['id']}"
    answer = {
        "quantity": "8",
        "unit_price": "0",
        "lead_days": "30",
        "valid_until": requested_day(5),
        "note": "新米上市",
    }
    r = station.post(url + "/answer", data=answer)
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and 'name="confirm"' not in page, page
    assert "单价须在 0.01 元到 1000 万元之间" in page
    assert 'value="新米上市"' in page and 'value="30"' in page and f'value="{requested_day(5)}"' in page
    # typed with three decimals or as words: said as an amount of at most two decimals, not as out of range
    for typed in ("15.555", "十五元"):
        r = station.post(url + "/answer", data={**answer, "unit_price": typed})
        page = r.get_data(as_text=True)
        assert r.status_code == 422 and "单价须为 0.01 元到 1000 万元之间的金额，最多两位小数" in page
    r = station.post(url + "/answer", data={**answer, "unit_price": "52", "valid_until": requested_day(120)})
    assert r.status_code == 422 and "报价有效期须为今天起 90 天内" in r.get_data(as_text=True)
    assert 'value="52"' in r.get_data(as_text=True)
    assert _db.session.scalar(sa.select(QuoteRequest.status)) == "open"
    assert 'href="/station/quote-requests"' in station.get(url).get_data(as_text=True)
    # answered (through the confirmation), then the same answer again, e.g. from another tab: refused at once
    assert station.post(url + "/answer", data={**answer, "unit_price": "52", "confirm": "1"}).status_code == 303
    r = station.post(url + "/answer", data={**answer, "unit_price": "53"})
    assert r.status_code == 409 and "该询价已答复" in r.get_data(as_text=True)
    assert 'name="confirm"' not in r.get_data(as_text=True)
    assert _db.session.scalar(sa.select(QuoteRequest.unit_price_fen)) == 5200


def test_the_station_desk_says_a_quote_request_waits_and_leads_to_it(app, client, db, api_token):
    """The station's desk names the quote requests waiting for its answer and links to 单位询价 (it said
    nothing of them); answered ones are no longer counted, and another station's desk shows none."""
    s = _setup(client, api_token)
    q = ask_quote(client, s)
    station, other = app.test_client(), app.test_client()
    station.post("/login", data={"email": s["operator"].email, "password": "password123"})
    other.post("/login", data={"email": s["other_operator"].email, "password": "password123"})
    page = station.get("/station/").get_data(as_text=True)
    assert "单位询价待报价" in page and 'href="/station/quote-requests"' in page
    assert page.split("单位询价待报价")[0].rsplit('class="n">', 1)[1].startswith("1<")
    assert "单位询价待报价" not in other.get("/station/").get_data(as_text=True)
    assert answer_quote(client, api_token(s["operator"]), q["id"]).status_code == 200
    assert "单位询价待报价" not in station.get("/station/").get_data(as_text=True)


def test_an_answer_that_misses_the_organisation_s_date_says_so_before_it_is_sent(app, client, db, api_token):
    """A lead time that delivers after the day the organisation asked for (30 days for goods needed in 9,
    or any answer to a request whose day has passed) is the station's to give, but its confirmation step
    says the earliest day and the day asked (it said nothing: the buyer learnt it from the figures); an
    answer in time says nothing more. A request whose day has passed says so on its page and in the list."""
    s = _setup(client, api_token)
    q = ask_quote(client, s)  # needed in 9 days
    station = app.test_client()
    station.post("/login", data={"email": s["operator"].email, "password": "password123"})
    url = f"/quote-requests/{q['id']}"
    answer = {"quantity": "8", "unit_price": "52", "lead_days": "30", "valid_until": requested_day(5)}
    page = station.post(url + "/answer", data=answer, follow_redirects=True).get_data(as_text=True)
    assert 'name="confirm"' in page
    assert f"按此交货周期，最早 {requested_day(30)} 送达，晚于单位希望送达的 {requested_day(9)}。" in page
    page = station.post(url + "/answer", data={**answer, "lead_days": "9"}, follow_redirects=True)
    assert "晚于单位希望送达" not in page.get_data(as_text=True)
    assert "已过希望送达日期" not in station.get(url).get_data(as_text=True)
    _db.session.get(QuoteRequest, q["id"]).needed_by = local_date(now_utc()) - timedelta(days=1)
    commit()
    assert "已过希望送达日期" in station.get(url).get_data(as_text=True)
    assert "已过希望送达日期" in station.get("/station/quote-requests").get_data(as_text=True)
    page = station.post(url + "/answer", data={**answer, "lead_days": "0"}, follow_redirects=True)
    assert f"按此交货周期，最早 {requested_day(0)} 送达" in page.get_data(as_text=True)


def test_accepting_again_after_back_is_told_where_the_quote_went(app, client, db, api_token):
    """采纳 sent again (a double tap on 确认, or Back and 确认 again) adds nothing and is answered with the
    purchase that holds the quote, an info message on that purchase's page, where it was an error, 该报价已采纳,
    in red on the quote page, which read as if the first had failed."""
    s = _setup(client, api_token)
    q = ask_quote(client, s)
    assert answer_quote(client, api_token(s["operator"]), q["id"]).status_code == 200
    buyer = app.test_client()
    buyer.post("/login", data={"email": s["buyer"].email, "password": "password123"})
    target = f"{s['purchase']['id']}:{s['purchase']['destinations'][0]['id']}"
    url = f"/quote-requests/{q['id']}/accept"
    assert buyer.post(url, data={"target": target, "confirm": "1"}).status_code == 303
    again = buyer.post(url, data={"target": target, "confirm": "1"})
    assert again.status_code == 303 and again.headers["Location"].endswith(f"/purchases/{s['purchase']['id']}")
    page = buyer.get(again.headers["Location"]).get_data(as_text=True)
    assert f'class="alert alert-info" role="status">该报价已采纳，已在采购单 {s["purchase"]["id"]} 中<' in page
    assert (
        _db.session.scalar(sa.select(sa.func.count(PurchaseLine.id)).where(PurchaseLine.quote_request_id.is_not(None)))
        == 1
    )


def test_a_quote_is_accepted_into_a_new_purchase_that_holds_only_it(app, client, db, api_token):
    """The buyer asked because the shop could not sell enough rice: the quote is the purchase. The quote
    page offers 新建采购单并采纳; the new form shows the quote and needs only the address; the draft holds the
    quoted line at its price, and its edit with the address alone saves. Before, an address had to hold a
    product of its own, so a buyer with no draft could only buy something else to accept the quote."""
    s = _setup(client, api_token)
    q = ask_quote(client, s, quantity=20)
    assert answer_quote(client, api_token(s["operator"]), q["id"], quantity=20, unit_price_fen=4850).status_code == 200
    buyer = app.test_client()
    buyer.post("/login", data={"email": s["buyer"].email, "password": "password123"})
    new = f"/organisations/{s['organisation'].id}/purchases/new?quote={q['id']}"
    assert f'href="{new}"' in buyer.get(f"/quote-requests/{q['id']}").get_data(as_text=True).replace("&amp;", "&")
    page = buyer.get(new).get_data(as_text=True)
    assert f"采纳报价 {q['id']}：南昌大米" in page and "¥48.50" in page
    only_address = purchase_form(s["rice"], s["eggs"], product_0="", quantity_0="", product_1="", quantity_1="")
    r = buyer.post(new, data=only_address)
    assert r.status_code == 303, r.get_data(as_text=True)
    purchase_id = int(r.headers["Location"].rsplit("/", 1)[1])
    lines = _db.session.scalars(sa.select(PurchaseLine).where(PurchaseLine.purchase_id == purchase_id)).all()
    assert [(l.product_id, l.quantity, l.unit_price_fen, l.quote_request_id) for l in lines] == [
        (s["rice"].id, 20, 4850, q["id"])
    ]
    assert _db.session.get(QuoteRequest, q["id"]).status == "accepted"
    edited = {**only_address, "requested_date": requested_day(12)}
    assert buyer.post(f"/purchases/{purchase_id}/edit", data=edited).status_code == 303
    # without a quote an address still needs a product
    fresh = {**only_address, "form_token": new_form_token()}
    r = buyer.post(f"/organisations/{s['organisation'].id}/purchases/new", data=fresh)
    assert r.status_code == 422


def test_a_new_purchase_with_a_quote_it_may_not_take_saves_nothing(app, client, db, api_token):
    s = _setup(client, api_token)
    q = ask_quote(client, s)  # not answered yet
    buyer = app.test_client()
    buyer.post("/login", data={"email": s["buyer"].email, "password": "password123"})
    only_address = purchase_form(s["rice"], s["eggs"], product_0="", quantity_0="", product_1="", quantity_1="")
    count = sa.select(sa.func.count()).select_from(PurchaseLine)
    before = _db.session.scalar(count)
    new = f"/organisations/{s['organisation'].id}/purchases/new"
    r = buyer.post(f"{new}?quote={q['id']}", data=only_address)
    assert r.status_code == 409 and "南昌大米" in r.get_data(as_text=True)  # the form again, the quote named
    other = app.test_client()
    other.post("/login", data={"email": s["other_buyer"].email, "password": "password123"})
    assert other.get(f"/organisations/{s['other_org'].id}/purchases/new?quote={q['id']}").status_code == 404
    assert buyer.get(f"{new}?quote=x").status_code == 404
    assert _db.session.scalar(count) == before


def test_the_api_writes_a_new_purchase_of_a_quote_alone(client, db, api_token):
    s = _setup(client, api_token)
    q = ask_quote(client, s, quantity=20)
    assert answer_quote(client, api_token(s["operator"]), q["id"], quantity=20, unit_price_fen=4850).status_code == 200
    body = {
        "organisation_id": s["organisation"].id,
        "delivery": "ship",
        "requested_date": requested_day(10),
        "payment_method": "cod",
        "destinations": [{"label": "本部食堂", "address": ADDRESS_JSON, "items": []}],
    }
    other = client.post(
        "/api/v1/purchases",
        headers=api_token(s["other_buyer"]),
        json={**body, "organisation_id": s["other_org"].id, "quote_request_id": q["id"]},
    )
    assert other.status_code == 404
    assert client.post("/api/v1/purchases", headers=s["b"], json=body).status_code == 422  # no quote: items needed
    r = client.post("/api/v1/purchases", headers=s["b"], json={**body, "quote_request_id": q["id"]})
    assert r.status_code == 201, r.json
    assert [(l["product_id"], l["quantity"], l["unit_price_fen"]) for l in r.json["lines"]] == [
        (s["rice"].id, 20, 4850)
    ]
    again = client.post("/api/v1/purchases", headers=s["b"], json={**body, "quote_request_id": q["id"]})
    assert again.status_code == 409  # accepted already: nothing saved
    assert (
        _db.session.scalar(sa.select(sa.func.count(PurchaseLine.id)).where(PurchaseLine.quote_request_id.is_not(None)))
        == 1
    )


def test_the_quote_form_names_each_products_village(app, db):
    """Two villages sell a 三江腌菜500克, each from its own station: the quote request's product choices
    name the village, as the purchase form's do, so the buyer asks the right station."""
    buyer = make_user()
    organisation = make_organisation(members={"buyer": buyer})
    first = make_product(name="三江腌菜500克", price_fen=1880, stock=20)
    second = make_product(name="三江腌菜500克", price_fen=1880, stock=20)
    commit()
    client = app.test_client()
    client.post("/login", data={"email": buyer.email, "password": "password123"})
    page = client.get(f"/organisations/{organisation.id}/quote-requests").get_data(as_text=True)
    for product in (first, second):
        assert f'<option value="{product.id}">三江腌菜500克 · {product.village.name} · ¥18.80 / ' in page


def test_a_boolean_is_no_quantity_price_or_id_in_the_api(client, db, api_token):
    """`true` is a JSON boolean, not 1: a quote request of `true` bags, an answer at `true` fen for `true`
    days, a purchase line of `true` units were each saved as 1; now 422 validation_error, nothing saved."""
    s = _setup(client, api_token)
    quotes_before = _db.session.scalar(sa.select(sa.func.count(QuoteRequest.id)))
    base = {"organisation_id": s["organisation"].id, "product_id": s["rice"].id, "quantity": 8}
    for field in ("quantity", "product_id", "organisation_id"):
        r = client.post(
            "/api/v1/quote-requests", headers=s["b"], json={**base, field: True, "needed_by": requested_day(9)}
        )
        assert r.status_code == 422 and r.json["error"]["code"] == "validation_error", (field, r.json)
        assert field in r.json["error"]["fields"]
    assert _db.session.scalar(sa.select(sa.func.count(QuoteRequest.id))) == quotes_before
    q = ask_quote(client, s)
    answer = {"quantity": 8, "unit_price_fen": 5200, "lead_days": 3, "valid_until": requested_day(5)}
    for field in ("quantity", "unit_price_fen", "lead_days"):
        r = client.post(
            f"/api/v1/quote-requests/{q['id']}/answer",
            headers=api_token(s["operator"]),
            json={**answer, field: True},
        )
        assert r.status_code == 422 and field in r.json["error"]["fields"], (field, r.json)
    assert _db.session.scalar(sa.select(QuoteRequest.status).where(QuoteRequest.id == q["id"])) == "open"
    r = client.post(
        "/api/v1/purchases",
        headers=s["b"],
        json={
            "organisation_id": s["organisation"].id,
            "delivery": "pickup",
            "pickup_station_id": s["station"].id,
            "requested_date": requested_day(10),
            "payment_method": "station_cash",
            "items": [{"product_id": s["rice"].id, "quantity": True}],
        },
    )
    assert r.status_code == 422 and r.json["error"]["code"] == "validation_error", r.json
