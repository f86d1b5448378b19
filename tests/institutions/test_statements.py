"""An organisation's year (#22 c): budget and reserved share (audited), purchases against the share
month by month — always the sum of its purchase orders — and the statement as XLSX."""

from __future__ import annotations

from io import BytesIO

import sqlalchemy as sa
from openpyxl import load_workbook

from orders.models import Order
from shop.audit import AuditEntry
from shop.db import commit
from shop.extensions import db as _db
from shop.money import apply_bps
from shop.timeutil import local_date, now_utc
from tests.factories import make_user
from tests.institutions.factories import make_organisation
from tests.institutions.purchase_setup import approved_purchase, organisation_with_products


def test_the_share_progress_is_the_sum_of_the_purchase_orders_month_by_month(client, db, api_token):
    organisation, buyer, approver, viewer, rice, eggs = organisation_with_products()
    year, month = local_date(now_utc()).year, local_date(now_utc()).month
    a = api_token(approver)
    r = client.post(
        f"/api/v1/organisations/{organisation.id}/budget",
        headers=a,
        json={"year": year, "budget_fen": 120_000_00, "reserved_bps": 3000},
    )
    assert r.status_code == 200, r.json
    assert (r.json["share_fen"], r.json["purchased_fen"], r.json["progress_bps"]) == (36_000_00, 0, 0)
    assert (
        client.post(
            f"/api/v1/organisations/{organisation.id}/budget",
            headers=api_token(viewer),
            json={"year": year, "budget_fen": 1, "reserved_bps": 1},
        ).status_code
        == 403
    )
    codes = approved_purchase(client, api_token, organisation, buyer, approver, rice, eggs)
    retail = make_user()  # a retail order of the same products is not the organisation's
    from tests.orders.factories import make_order

    make_order(retail, [(rice, 1)], now=now_utc(), payment_method="cod")
    commit()
    orders = _db.session.scalars(sa.select(Order).where(Order.code.in_(codes))).all()
    total = sum(o.total_fen for o in orders)
    st = client.get(f"/api/v1/organisations/{organisation.id}/statement?year={year}", headers=api_token(viewer)).json
    assert st["purchased_fen"] == total == sum(m["purchased_fen"] for m in st["months"])
    assert st["months"][month - 1] == {
        "year": year,
        "month": month,
        "orders": 2,
        "purchased_fen": total,
        "cumulative_fen": total,
    }
    assert st["progress_bps"] == total * 10000 // apply_bps(120_000_00, 3000)
    audit = _db.session.scalar(sa.select(AuditEntry.detail).where(AuditEntry.action == "organisation.budget"))
    assert audit == {"year": year, "budget_fen": 120_000_00, "reserved_bps": 3000, "old": None}
    last_year = client.get(
        f"/api/v1/organisations/{organisation.id}/statement?year={year - 1}", headers=api_token(viewer)
    ).json
    assert (last_year["purchased_fen"], last_year["budget_fen"]) == (0, None)


def test_the_statement_page_sets_the_budget_and_downloads_as_xlsx_with_text_never_formulas(app, db):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    organisation.name = '=HYPERLINK("http://evil")'
    commit()
    year = local_date(now_utc()).year
    client = app.test_client()
    client.post("/login", data={"email": approver.email, "password": "password123"})
    page = client.get(f"/organisations/{organisation.id}/statement?year={year}").get_data(as_text=True)
    assert f"设置 {year} 年度预算" in page and "未设置" in page
    r = client.post(
        f"/organisations/{organisation.id}/budget", data={"year": str(year), "budget": "50000", "reserved_pct": "30.5"}
    )
    assert r.status_code == 303
    page = client.get(r.headers["Location"]).get_data(as_text=True)
    assert "¥50,000.00" in page or "¥50000.00" in page
    assert "30.50%" in page
    client.post(
        f"/organisations/{organisation.id}/budget", data={"year": str(year), "budget": "-1", "reserved_pct": "30"}
    )
    client.post(
        f"/organisations/{organisation.id}/budget", data={"year": str(year), "budget": "1", "reserved_pct": "101"}
    )
    assert (
        _db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "organisation.budget"))
        == 1
    )
    r = client.get(f"/organisations/{organisation.id}/statement.xlsx?year={year}")
    assert r.status_code == 200 and r.mimetype.endswith("spreadsheetml.sheet")
    sheet = load_workbook(BytesIO(r.data)).active
    assert sheet["B1"].value == organisation.name and sheet["B1"].data_type == "s"  # text, not a formula
    assert sheet["B4"].value == 50000 and sheet["B5"].value == 30.5 and sheet["B6"].value == 15250
    assert [sheet.cell(row=9, column=c).value for c in (1, 2, 3, 4)] == [1, 0, 0, 0]


def test_a_reserved_share_typed_with_its_percent_sign_is_read(app, db):
    """The field's label says (%): "30%" (or the full-width "30％") is 30 percent, not 请填写正确的…"""
    organisation, _buyer, approver, _viewer, _rice, _eggs = organisation_with_products()
    year = local_date(now_utc()).year
    client = app.test_client()
    client.post("/login", data={"email": approver.email, "password": "password123"})
    for typed, shown in (("30%", "30.00%"), (" 12.5 ％ ", "12.50%")):
        r = client.post(
            f"/organisations/{organisation.id}/budget",
            data={"year": str(year), "budget": "50000", "reserved_pct": typed},
        )
        page = client.get(r.headers["Location"]).get_data(as_text=True)
        assert "预算已保存" in page and shown in page and "预留比例须在" not in page, typed
    r = client.post(
        f"/organisations/{organisation.id}/budget", data={"year": str(year), "budget": "50000", "reserved_pct": "%"}
    )
    assert r.status_code == 422 and "预留比例须在 0 到 100 之间，最多两位小数" in r.get_data(as_text=True)


def test_another_organisations_statement_is_a_404(client, db, api_token):
    organisation, buyer, _approver, _viewer, _rice, _eggs = organisation_with_products()
    stranger = make_user()
    other = make_organisation(name="乙单位", members={"approver": stranger})
    commit()
    year = local_date(now_utc()).year
    h = api_token(stranger)
    assert client.get(f"/api/v1/organisations/{organisation.id}/statement?year={year}", headers=h).status_code == 404
    assert (
        client.post(
            f"/api/v1/organisations/{organisation.id}/budget",
            headers=h,
            json={"year": year, "budget_fen": 1, "reserved_bps": 1},
        ).status_code
        == 404
    )
    assert client.get(f"/api/v1/organisations/{other.id}/statement?year={year}", headers=h).status_code == 200


def test_the_county_report_by_organisation_type_and_month_is_the_sum_of_the_statements(client, db, api_token):
    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    union_buyer, union_approver = make_user(), make_user()
    union = make_organisation(name="县总工会", kind="union", members={"buyer": union_buyer, "approver": union_approver})
    county = make_user(role="county")
    commit()
    approved_purchase(client, api_token, organisation, buyer, approver, rice, eggs)
    approved_purchase(client, api_token, union, union_buyer, union_approver, rice, eggs)
    year, month = local_date(now_utc()).year, local_date(now_utc()).month
    h = api_token(county)
    report = client.get(f"/api/v1/county/institutions?year={year}", headers=h).json
    statements = {
        o.id: client.get(f"/api/v1/organisations/{o.id}/statement?year={year}", headers=h).json
        for o in (organisation, union)
    }
    assert {r["organisation_id"]: r["total_fen"] for r in report["organisations"]} == {
        oid: st["purchased_fen"] for oid, st in statements.items()
    }
    assert report["by_kind_fen"] == {
        "budget_unit": statements[organisation.id]["purchased_fen"],
        "union": statements[union.id]["purchased_fen"],
    }
    assert (
        report["by_month_fen"][month - 1]
        == report["total_fen"]
        == sum(o.total_fen for o in _db.session.scalars(sa.select(Order)))
    )
    assert client.get(f"/api/v1/county/institutions?year={year}", headers=api_token(buyer)).status_code == 403
    client.post("/login", data={"email": county.email, "password": "password123"})
    page = client.get(f"/county/organisations/report?year={year}").get_data(as_text=True)
    assert "县总工会" in page and "单位采购统计" in page


def test_a_year_typed_wrong_into_the_url_is_said_on_the_page_which_shows_this_year(app, db):
    organisation, _buyer, approver, _viewer, _rice, _eggs = organisation_with_products()
    county = make_user(role="county")
    commit()
    year = local_date(now_utc()).year
    client = app.test_client()
    client.post("/login", data={"email": county.email, "password": "password123"})
    r = client.get("/county/organisations/report?year=99999")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and f"单位采购统计 · {year}" in page
    assert "年份「99999」无效：应为 2016 至 2100 之间的年份（YYYY）；已显示今年的统计" in page
    assert client.get("/county/organisations/report.xlsx?year=99999").status_code == 400
    r = client.get(f"/county/organisations/report?year={year - 1}")
    assert r.status_code == 200 and "无效" not in r.get_data(as_text=True)

    client.post("/login", data={"email": approver.email, "password": "password123"})
    r = client.get(f"/organisations/{organisation.id}/statement?year=abc")
    page = r.get_data(as_text=True)
    assert r.status_code == 422 and "年份「abc」无效" in page and "已显示今年的对账单" in page
    assert f"对账单 · {year}" in page
    assert client.get(f"/organisations/{organisation.id}/statement.xlsx?year=abc").status_code == 400
    r = client.get(f"/organisations/{organisation.id}/statement?year=abc&lang=en")
    assert (
        r.status_code == 422
        and "Year “abc” is not valid: expected a year (YYYY) between 2016 and 2100; showing" in r.get_data(as_text=True)
    )


def test_a_budget_typed_wrong_for_next_year_is_said_on_next_years_statement(app, db):
    """The budget form of 2027's statement (planned in 2026) with an amount that is none: the refusal is said on
    2027's statement, its form still for 2027 — never this year's, where the amount typed again would set this
    year's budget."""
    organisation, _buyer, approver, _viewer, _rice, _eggs = organisation_with_products()
    next_year = local_date(now_utc()).year + 1
    client = app.test_client()
    client.post("/login", data={"email": approver.email, "password": "password123"})
    for budget, pct in (("1e9", "30"), ("-5", "30"), ("50000.555", "30"), ("50000", "abc")):
        r = client.post(
            f"/organisations/{organisation.id}/budget",
            data={"year": str(next_year), "budget": budget, "reserved_pct": pct},
        )
        page = r.get_data(as_text=True)
        said = "年度食品采购预算须为 0 到" in page or "预留比例须在 0 到 100 之间" in page
        assert r.status_code == 422 and said and f"对账单 · {next_year}" in page, budget
        assert f'name="year" value="{next_year}"' in page
    assert not _db.session.scalar(
        sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "organisation.budget")
    )
