"""#22 statements by period (对账单 from/to) and the county's report with the households credited: every
figure the sum of its orders (and of their ledger entries), downloadable as XLSX with text never formulas."""

from __future__ import annotations

from datetime import timedelta
from io import BytesIO

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from institutions.models import PurchaseDestination
from ledger.models import IncomeEntry
from orders.models import Order, OrderLine
from orders.services.amounts import order_due_fen
from shop.db import commit
from shop.extensions import db as _db
from shop.timeutil import local_date, now_utc
from stations.services import fulfilment
from tests.county.handover import hand_over
from tests.factories import make_household, make_product, make_user, make_village
from tests.institutions.factories import make_organisation
from tests.institutions.purchase_setup import approved_purchase, organisation_with_products
from tests.orders.factories import make_order


def _orders(codes) -> list[Order]:
    _db.session.expire_all()
    return list(_db.session.scalars(sa.select(Order).where(Order.code.in_(codes)).order_by(Order.id)))


def test_a_period_statement_is_the_sum_of_its_orders_order_by_order(client, db, api_token):
    organisation, buyer, approver, viewer, rice, eggs = organisation_with_products()
    codes = approved_purchase(client, api_token, organisation, buyer, approver, rice, eggs)
    make_order(make_user(), [(rice, 1)], now=now_utc(), payment_method="cod")  # retail: not the organisation's
    # a line canceled by its station: the order counts what it is due now
    first = _orders(codes)[0]
    line = next(ln for ln in first.lines if ln.product_id == eggs.id)
    fulfilment.cancel_line(line, actor=make_user(role="admin"), now=now_utc(), reason="缺货")
    commit()
    today = local_date(now_utc())
    h = api_token(viewer)
    url = f"/api/v1/organisations/{organisation.id}/statement"
    st = client.get(f"{url}?from={(today - timedelta(days=40)).isoformat()}&to={today.isoformat()}", headers=h).json
    orders = _orders(codes)
    dues = {o.code: order_due_fen(o) for o in orders}
    assert dues[first.code] < first.total_fen  # the canceled line is not counted
    assert (
        st["purchased_fen"]
        == sum(dues.values())
        == sum(m["purchased_fen"] for m in st["months"])
        == sum(o["due_fen"] for o in st["orders"])
    )
    assert {o["code"]: o["due_fen"] for o in st["orders"]} == dues
    assert [o["label"] for o in st["orders"]] == ["东校区食堂", "西校区食堂"]
    assert st["months"][-1]["cumulative_fen"] == st["purchased_fen"]
    assert (st["period_from"], st["period_to"]) == ((today - timedelta(days=40)).isoformat(), today.isoformat())
    # a period before the orders: nothing
    earlier = today - timedelta(days=30)
    st = client.get(f"{url}?from={(earlier - timedelta(days=5)).isoformat()}&to={earlier.isoformat()}", headers=h).json
    assert (st["purchased_fen"], st["orders"]) == (0, [])
    # the year statement has the same orders
    year = client.get(f"{url}?year={today.year}", headers=h).json
    assert year["purchased_fen"] == sum(dues.values()) and len(year["months"]) == 12
    # bad periods are refused
    for query in (
        "",
        f"from={today.isoformat()}",
        f"from={today.isoformat()}&to={(today - timedelta(days=1)).isoformat()}",
        f"from={(today - timedelta(days=400)).isoformat()}&to={today.isoformat()}",
    ):
        r = client.get(f"{url}?{query}", headers=h)
        assert r.status_code == 422, query
        assert r.json["error"]["code"] in ("statement_period_required", "invalid_statement_period")
    stranger = make_user()
    commit()
    assert (
        client.get(f"{url}?from={today.isoformat()}&to={today.isoformat()}", headers=api_token(stranger)).status_code
        == 404
    )


def test_the_period_statement_page_and_its_xlsx_list_the_orders_as_text(app, db, api_token, client):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    codes = approved_purchase(client, api_token, organisation, buyer, approver, rice, eggs)
    destination = _db.session.scalar(sa.select(PurchaseDestination).order_by(PurchaseDestination.id))
    destination.label = "=1+2"
    commit()
    today = local_date(now_utc()).isoformat()
    web = app.test_client()
    web.post("/login", data={"email": approver.email, "password": "password123"})
    page = web.get(f"/organisations/{organisation.id}/statement?from={today}&to={today}").get_data(as_text=True)
    orders = _orders(codes)
    assert all(o.code in page for o in orders) and "订单明细" in page
    r = web.get(f"/organisations/{organisation.id}/statement.xlsx?from={today}&to={today}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    rows = list(load_workbook(BytesIO(r.data)).active.iter_rows(values_only=True))
    order_rows = [row for row in rows if row[0] in {o.code for o in orders}]
    assert len(order_rows) == 2
    assert sum(row[5] for row in order_rows) * 100 == sum(order_due_fen(o) for o in orders)
    assert rows[-1][5] * 100 == sum(order_due_fen(o) for o in orders)
    sheet = load_workbook(BytesIO(r.data)).active
    label_cells = [c for row in sheet.iter_rows() for c in row if c.value == "=1+2"]
    assert label_cells and all(c.data_type == "s" for c in label_cells)  # text, not a formula
    # a bad period on the page falls back to the year with a message
    page = web.get(f"/organisations/{organisation.id}/statement?from={today}&to=2016-01-01").get_data(as_text=True)
    assert "对账期间" in page


def test_the_county_report_shows_the_households_credited_by_the_purchases_and_exports_it(app, client, db, api_token):
    organisation, buyer, approver, _viewer, _rice, _eggs = organisation_with_products()
    village = make_village()
    households = [
        make_household(village=village, head_name="张建华"),
        make_household(village=village, head_name="李秀英"),
    ]
    rice = make_product(
        name="南昌大米", price_fen=6000, stock=50, village=village, households=households, weights=[2, 1]
    )
    eggs = make_product(name="土鸡蛋", stock=50, village=village, households=households[1:])
    union_buyer, union_approver = make_user(), make_user()
    union = make_organisation(name="县总工会", kind="union", members={"buyer": union_buyer, "approver": union_approver})
    county, admin = make_user(role="county"), make_user(role="admin")
    commit()
    codes = approved_purchase(client, api_token, organisation, buyer, approver, rice, eggs)
    codes += approved_purchase(client, api_token, union, union_buyer, union_approver, rice, eggs)
    retail = make_order(make_user(), [(rice, 2)], now=now_utc(), payment_method="cod")
    now = now_utc()
    for order in _orders(codes) + [retail]:
        hand_over(order, admin, now)  # handed over, cash taken: the households are credited
    commit()
    orders = _orders(codes)
    lines = sa.select(OrderLine.id).where(OrderLine.order_id.in_([o.id for o in orders]))
    expected = dict(
        _db.session.execute(
            sa.select(IncomeEntry.household_id, sa.func.sum(IncomeEntry.amount_fen))
            .where(IncomeEntry.order_line_id.in_(lines))
            .group_by(IncomeEntry.household_id)
        ).all()
    )
    assert expected and sum(expected.values()) > 0
    year = local_date(now).year
    report = client.get(f"/api/v1/county/institutions?year={year}", headers=api_token(county)).json
    assert {h["household_id"]: h["credited_fen"] for h in report["households"]} == expected
    assert report["credited_fen"] == sum(expected.values())
    assert report["total_fen"] == sum(order_due_fen(o) for o in orders)  # not the retail order
    assert all("*" in h["label"] for h in report["households"])  # masked names
    web = app.test_client()
    web.post("/login", data={"email": county.email, "password": "password123"})
    page = web.get(f"/county/organisations/report?year={year}").get_data(as_text=True)
    assert "带动农户" in page
    r = web.get(f"/county/organisations/report.xlsx?year={year}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    book = load_workbook(BytesIO(r.data))
    by_org = list(book.worksheets[0].iter_rows(values_only=True))
    assert {row[0] for row in by_org[1:-1]} == {organisation.name, union.name}
    assert round(by_org[-1][-1] * 100) == report["total_fen"]
    homes = list(book.worksheets[2].iter_rows(values_only=True))
    assert round(homes[-1][1] * 100) == report["credited_fen"]
    assert web.get(f"/county/organisations/report.xlsx?year={year}").status_code == 200
    other = app.test_client()
    other.post("/login", data={"email": buyer.email, "password": "password123"})
    assert other.get(f"/county/organisations/report.xlsx?year={year}").status_code == 403


@pytest.mark.parametrize(
    "query, said",
    [
        ("from=2026-13-45&to=2026-12-01", "起始日期"),  # a date that is none
        ("from=2026-12-01&to=12/31/2026", "截止日期"),
        ("from=2026-12-01", "请同时填写起始日期和截止日期"),  # one end missing
        ("to=2026-12-01", "请同时填写起始日期和截止日期"),
    ],
)
def test_a_period_typed_wrong_is_said_and_the_year_shown(app, db, query, said):
    """A period typed by hand into the URL wrong: the year's statement with the reason on top (422), not a
    silent fall-back; its XLSX is refused (400) rather than a file of another period."""
    organisation, _buyer, approver, _viewer, _rice, _eggs = organisation_with_products()
    commit()
    web = app.test_client()
    web.post("/login", data={"email": approver.email, "password": "password123"})
    res = web.get(f"/organisations/{organisation.id}/statement?{query}")
    page = res.get_data(as_text=True)
    assert res.status_code == 422
    assert said in page and "已显示全年对账单" in page
    assert f"对账单 · {local_date(now_utc()).year}" in page
    assert web.get(f"/organisations/{organisation.id}/statement.xlsx?{query}").status_code == 400


def test_the_first_and_last_years_link_to_no_year_their_page_refuses(app, db):
    """Statements and the county's report are kept for 2016 to 2100; the 2016 page linked to 2015 (and 2100's to
    2101), answered 422 with this year instead. The edge year now offers no link past it; a year inside keeps both."""
    organisation, _buyer, approver, _viewer, _rice, _eggs = organisation_with_products()
    county = make_user(role="county")
    commit()
    for email, url in (
        (approver.email, f"/organisations/{organisation.id}/statement"),
        (county.email, "/county/organisations/report"),
    ):
        web = app.test_client()
        web.post("/login", data={"email": email, "password": "password123"})
        for year, outside, inside in ((2016, 2015, 2017), (2100, 2101, 2099)):
            res = web.get(f"{url}?year={year}")
            page = res.get_data(as_text=True)
            assert res.status_code == 200, (url, year)
            assert f"year={outside}" not in page and f"year={inside}" in page, (url, year)
        assert web.get(f"{url}?year=2015").status_code == 422


def test_a_period_statement_says_its_purchases_are_the_periods_not_the_years_share_done(app, db, api_token, client):
    """A month's statement beside the year's budget: its purchases are 本期采购, never 已采购 · 完成 x% of the year's
    reserved share (a month's orders said as the year's progress); the year's statement keeps 完成. The budget
    form says which year it sets."""
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    approved_purchase(client, api_token, organisation, buyer, approver, rice, eggs)
    year = local_date(now_utc()).year
    web = app.test_client()
    web.post("/login", data={"email": approver.email, "password": "password123"})
    web.post(
        f"/organisations/{organisation.id}/budget", data={"year": str(year), "budget": "100000", "reserved_pct": "50"}
    )
    today = local_date(now_utc())
    start = today.replace(day=1).isoformat()
    page = web.get(f"/organisations/{organisation.id}/statement?from={start}&to={today}").get_data(as_text=True)
    assert "本期采购" in page and "已采购" not in page and "完成" not in page
    assert f"设置 {year} 年度预算" in page
    page = web.get(f"/organisations/{organisation.id}/statement?year={year}").get_data(as_text=True)
    assert "已采购" in page and "完成" in page and "本期采购" not in page


def test_a_period_over_two_years_says_so_never_budget_not_set(app, db, api_token, client):
    """December to January with both years' budgets set: the page says the period spans two years and links each
    year's statement, never 未设置 (not set) for budgets that are set, and offers no budget form (which would set
    the first year's from empty fields)."""
    organisation, _buyer, approver, _viewer, _rice, _eggs = organisation_with_products()
    year = local_date(now_utc()).year
    web = app.test_client()
    web.post("/login", data={"email": approver.email, "password": "password123"})
    for y in (year - 1, year):
        web.post(
            f"/organisations/{organisation.id}/budget", data={"year": str(y), "budget": "1000", "reserved_pct": "50"}
        )
    r = web.get(f"/organisations/{organisation.id}/statement?from={year - 1}-12-01&to={year}-01-31")
    page = r.get_data(as_text=True)
    assert r.status_code == 200 and "未设置" not in page and "本期跨两个年度" in page
    assert f"statement?year={year - 1}" in page and f"statement?year={year}" in page
    assert "/budget" not in page and "年度预算</h2>" not in page
    page = web.get(f"/organisations/{organisation.id}/statement?from={year}-01-01&to={year}-01-31").get_data(
        as_text=True
    )
    assert "¥1,000.00" in page and "本期跨两个年度" not in page and f"设置 {year} 年度预算" in page


def test_the_api_gives_no_progress_for_a_period_within_the_year(app, db, api_token, client):
    """The page says a period's purchases as 本期采购 with no 完成 x%; the API's `progress_bps` said the period's
    orders against the whole year's reserved share. Now null for a period, a number for the year."""
    organisation, buyer, approver, viewer, rice, eggs = organisation_with_products()
    approved_purchase(client, api_token, organisation, buyer, approver, rice, eggs)
    year = local_date(now_utc()).year
    url = f"/api/v1/organisations/{organisation.id}/budget"
    body = {"year": year, "budget_fen": 10_000_000, "reserved_bps": 5000}
    assert client.post(url, json=body, headers=api_token(approver)).status_code == 200
    today = local_date(now_utc())
    statement = f"/api/v1/organisations/{organisation.id}/statement"
    period = client.get(f"{statement}?from={today.replace(day=1)}&to={today}", headers=api_token(viewer)).json
    assert period["purchased_fen"] > 0 and period["share_fen"] == 5_000_000 and period["progress_bps"] is None
    whole = client.get(f"{statement}?year={year}", headers=api_token(viewer)).json
    assert whole["progress_bps"] == whole["purchased_fen"] * 10000 // 5_000_000
