"""County pages and API: access, figures recomputed from entries, masking, reveal audit, approvals, links."""

from __future__ import annotations

import csv
import io
import re
from collections import defaultdict
from html import unescape
from urllib.parse import parse_qs, urlsplit

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from catalog.models import BenefitLink, Household, HouseholdStatusChange
from catalog.services import household_labels
from ledger.models import IncomeEntry
from shop.audit import AuditEntry
from shop.db import commit
from shop.money import format_yuan
from shop.once import new_form_token
from tests.county.conftest import SECRET_ID, SECRET_NAME, SECRET_PHONE, SECRET_REGISTRY
from tests.factories import make_category, make_document, make_household, make_product, make_user, make_village

SECRETS = (SECRET_NAME, SECRET_REGISTRY, SECRET_PHONE, SECRET_ID)

PAGES = [
    "/county/",
    "/county/income",
    "/county/income?group_by=household",
    "/county/households",
    "/county/households/new",
    "/county/links",
    "/county/approvals",
    "/county/targets",
    "/county/reconcile",
    "/county/overdue-bookings",
    "/county/households/import",
]
API = ["/api/v1/county/income", "/api/v1/county/targets"]


def _sums(db, key):
    out = defaultdict(int)
    for e in db.session.scalars(sa.select(IncomeEntry)):
        out[key(e)] += e.amount_fen
    return dict(out)


@pytest.mark.parametrize("role", ["consumer", "host", "operator"])
def test_other_roles_get_403_on_county_pages_and_api(client, auth, api_token, db, world, role):
    user = make_user(role=role, station=world["stations"][0] if role == "operator" else None)
    commit()
    headers = api_token(user)
    for path in API + [f"/api/v1/county/households/{world['households'][0].id}/statement"]:
        assert client.get(path, headers=headers).status_code == 403, path
    assert client.post("/api/v1/county/products/1/approve", json={}, headers=headers).status_code == 403
    auth.login(user)
    for path in PAGES + [f"/county/households/{world['households'][0].id}"]:
        assert client.get(path).status_code == 403, path
    response = client.post(f"/county/households/{world['households'][0].id}/reveal", data={"field": "phone"})
    assert response.status_code == 403
    assert SECRET_PHONE not in response.get_data(as_text=True)
    assert (
        client.post(
            f"/county/households/{world['households'][0].id}/status", data={"confirm": "1", "status": "lifted"}
        ).status_code
        == 403
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(AuditEntry)) == 0


def test_operator_gets_403_and_anonymous_is_sent_to_login(client, auth, world):
    operator = make_user(role="operator", station=world["stations"][0])
    commit()
    assert client.get("/county/").status_code in (302, 401)
    assert client.get("/api/v1/county/income").status_code == 401
    auth.login(operator)
    assert client.get("/county/households").status_code == 403


def test_county_pages_render_and_never_show_personal_data(client, auth, county_user, world):
    auth.login(county_user)
    a = world["households"][0]
    product = make_product(households=[a])
    commit()
    for path in PAGES + [
        f"/county/households/{a.id}",
        f"/county/households/{a.id}/statement",
        f"/county/households/{a.id}/edit",
        "/county/income?group_by=month",
        f"/county/links/product/{product.id}",
    ]:
        response = client.get(path)
        assert response.status_code == 200, path
        html = response.get_data(as_text=True)
        for secret in SECRETS:
            assert secret not in html, (path, secret)
    html = client.get("/county/households").get_data(as_text=True)
    assert "欧***" in html and "139****4321" in html


@pytest.mark.parametrize(
    "group_by,key",
    [
        ("household", lambda e: e.household_id),
        ("village", lambda e: e.village_id),
        ("station", lambda e: e.station_id),
        ("category", lambda e: e.category_id),
        ("month", lambda e: e.entry_date.strftime("%Y-%m")),
    ],
)
def test_api_income_equals_sum_of_entries(client, api_token, county_user, db, world, group_by, key):
    response = client.get(
        f"/api/v1/county/income?group_by={group_by}&from=2026-11-01&to=2026-11-30", headers=api_token(county_user)
    )
    assert response.status_code == 200
    body = response.json
    assert {r["key"]: r["total_fen"] for r in body["rows"]} == _sums(db, key)
    assert body["total_fen"] == sum(_sums(db, key).values())
    for r in body["rows"]:
        assert r["sale_fen"] + r["tourism_fen"] + r["reversal_fen"] == r["total_fen"]
    assert SECRET_NAME not in response.get_data(as_text=True)


def test_api_income_out_of_range_is_empty_and_bad_input_is_422(client, api_token, county_user, world):
    headers = api_token(county_user)
    body = client.get("/api/v1/county/income?from=2020-01-01&to=2020-01-31", headers=headers).json
    assert body["rows"] == [] and body["total_fen"] == 0
    assert client.get("/api/v1/county/income?group_by=planet", headers=headers).status_code == 422
    assert client.get("/api/v1/county/income?from=2026-12-01&to=2026-11-01", headers=headers).status_code == 422
    assert client.get("/api/v1/county/income?from=yesterday", headers=headers).status_code == 422


def test_income_page_figures_equal_sum_of_entries(client, auth, county_user, db, world):
    auth.login(county_user)
    for group_by, key in (("village", lambda e: e.village_id), ("station", lambda e: e.station_id)):
        html = client.get(f"/county/income?group_by={group_by}").get_data(as_text=True)
        for k, total in _sums(db, key).items():
            assert f'data-key="{k}"' in html
            assert f'data-fen="{total}"' in html
        total = sum(e.amount_fen for e in db.session.scalars(sa.select(IncomeEntry)))
        assert f'id="total-fen" data-fen="{total}">{format_yuan(total)}' in html
    dashboard = client.get("/county/").get_data(as_text=True)
    assert f'data-fen="{total}"' in dashboard


def test_statement_lists_every_entry_and_total(client, api_token, county_user, db, world):
    b = world["households"][1]
    entries = db.session.scalars(sa.select(IncomeEntry).where(IncomeEntry.household_id == b.id)).all()
    body = client.get(f"/api/v1/county/households/{b.id}/statement", headers=api_token(county_user)).json
    assert sorted(e["id"] for e in body["entries"]) == sorted(e.id for e in entries)
    assert body["total_fen"] == sum(e.amount_fen for e in entries) == body["closing_fen"]
    assert body["household"]["head_name"] == "王**"
    assert {e["source"] for e in body["entries"]} == {"sale", "reversal"}
    assert {e["kind"] for e in body["entries"]} == {"sale"}  # a reversal has the kind of what it reverses
    later = client.get(
        f"/api/v1/county/households/{b.id}/statement?from=2026-12-01", headers=api_token(county_user)
    ).json
    assert later["entries"] == [] and later["opening_fen"] == body["total_fen"]
    assert client.get("/api/v1/county/households/999999/statement", headers=api_token(county_user)).status_code == 404


def test_statement_page_total_matches_entries(client, auth, county_user, db, world):
    auth.login(county_user)
    a = world["households"][0]
    total = sum(
        e.amount_fen for e in db.session.scalars(sa.select(IncomeEntry).where(IncomeEntry.household_id == a.id))
    )
    html = client.get(f"/county/households/{a.id}/statement").get_data(as_text=True)
    assert f'id="total-fen" data-fen="{total}"' in html


def test_targets_api_progress_from_data(client, api_token, county_user, db, world, now):
    from county.demo import seed

    assert seed(now) is True
    assert seed(now) is False
    body = client.get("/api/v1/county/targets", headers=api_token(county_user)).json
    by_key = {t["key"]: t for t in body["items"]}
    # households with positive net sale income: a and b (l1), b and c (l2 partly reversed)
    assert by_key["ecommerce_households"]["actual"] == 3
    assert by_key["ecommerce_households"]["target"] == 100
    assert by_key["tourism_households"]["actual"] == 1
    assert by_key["village_station_coverage"]["actual"] >= 2


def test_every_reveal_is_audited_and_shows_the_value_once(client, auth, county_user, db, world):
    auth.login(county_user)
    a = world["households"][0]
    for field, secret in (("phone", SECRET_PHONE), ("registry_no", SECRET_REGISTRY), ("head_name", SECRET_NAME)):
        response = client.post(f"/county/households/{a.id}/reveal", data={"field": field})
        assert response.status_code == 200
        assert secret in response.get_data(as_text=True)
        assert response.headers["Cache-Control"] == "no-store"
    audits = db.session.scalars(sa.select(AuditEntry).where(AuditEntry.action == "household.reveal")).all()
    assert [(x.actor_id, x.subject_id, x.detail["field"]) for x in audits] == [
        (county_user.id, a.id, "phone"),
        (county_user.id, a.id, "registry_no"),
        (county_user.id, a.id, "head_name"),
    ]
    assert all(SECRET_PHONE not in str(x.detail) for x in audits)
    # the next plain view is masked again
    assert SECRET_PHONE not in client.get(f"/county/households/{a.id}").get_data(as_text=True)
    assert client.post(f"/county/households/{a.id}/reveal", data={"field": "members"}).status_code == 422


def test_exports_are_masked_and_match_entries(client, auth, county_user, db, world):
    auth.login(county_user)
    xlsx = client.get("/county/households?format=xlsx")
    assert xlsx.status_code == 200
    cells = [str(c) for row in load_workbook(io.BytesIO(xlsx.data)).active.iter_rows(values_only=True) for c in row]
    text = client.get("/county/households?format=csv").data.decode("utf-8-sig")
    for secret in SECRETS:
        assert secret not in " ".join(cells) and secret not in text
    assert "139****4321" in text
    rows = list(
        csv.reader(io.StringIO(client.get("/county/income?group_by=village&format=csv").data.decode("utf-8-sig")))
    )
    total = sum(e.amount_fen for e in db.session.scalars(sa.select(IncomeEntry)))
    column = rows[0].index("合计(元)")
    assert sum(round(float(r[column]) * 100) for r in rows[1:]) == total
    a = world["households"][0]
    for path in (
        "/county/targets?format=xlsx",
        "/county/approvals?format=csv",
        "/county/links?format=csv",
        "/county/reconcile?format=csv",
        f"/county/households/{a.id}/statement?format=xlsx",
        "/county/income?group_by=household&format=xlsx",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
        assert SECRET_NAME.encode() not in response.data
    assert client.get("/county/income?format=pdf").status_code == 400


def test_create_edit_and_status_history(client, auth, county_user, db, world):
    auth.login(county_user)
    v1 = world["villages"][0]
    response = client.post(
        "/county/households/new",
        data={
            "village_id": v1.id,
            "head_name": "赵六",
            "registry_no": "36010000112233",
            "phone": "13800001111",
            "members": "4",
            "status": "poor",
            "form_token": new_form_token(),
        },
    )
    assert response.status_code == 302
    h = db.session.scalar(sa.select(Household).where(Household.head_name.is_not(None)).order_by(Household.id.desc()))
    assert h.members == 4 and h.phone == "13800001111"
    dup = client.post(
        "/county/households/new",
        data={
            "village_id": v1.id,
            "head_name": "赵六",
            "registry_no": "36010000112233",
            "members": "1",
            "form_token": new_form_token(),
        },
    )
    assert dup.status_code == 422 and "36010000112233" not in dup.get_data(as_text=True)
    bad_phone = client.post(
        f"/county/households/{h.id}/edit", data={"village_id": v1.id, "phone": "12345", "members": "4"}
    )
    assert bad_phone.status_code == 422
    assert client.post(f"/county/households/{h.id}/edit", data={"village_id": v1.id, "members": "5"}).status_code == 302
    assert db.session.get(Household, h.id).members == 5
    assert (
        client.post(f"/county/households/{h.id}/status", data={"confirm": "1", "status": "lifted"}).status_code == 302
    )
    assert (
        client.post(f"/county/households/{h.id}/status", data={"confirm": "1", "status": "monitored"}).status_code
        == 302
    )
    refused = client.post(
        f"/county/households/{h.id}/status", data={"confirm": "1", "status": "monitored"}, follow_redirects=True
    )
    assert refused.status_code == 200 and "不能从「监测对象」变为「监测对象」" in refused.get_data(as_text=True)
    history = db.session.scalars(
        sa.select(HouseholdStatusChange.to_status)
        .where(HouseholdStatusChange.household_id == h.id)
        .order_by(HouseholdStatusChange.id)
    ).all()
    assert history == ["poor", "lifted", "monitored"]


def test_household_search_by_registry_number_and_status(client, auth, county_user, world):
    auth.login(county_user)
    response = client.post("/county/households/find", data={"registry_no": SECRET_REGISTRY})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/county/households/{world['households'][0].id}")
    assert SECRET_REGISTRY not in response.headers["Location"]
    assert client.post("/county/households/find", data={"registry_no": "0000"}).status_code == 302
    assert "(0)" in client.get("/county/households?status=lifted").get_data(as_text=True)


def test_a_registry_number_typed_in_full_width_digits_finds_its_household(client, auth, county_user, world):
    """Typed in full-width mode (３６０１…), the number was said not to exist, though the household is there."""
    auth.login(county_user)
    wide = "".join(chr(ord(c) + 0xFEE0) for c in SECRET_REGISTRY)
    response = client.post("/county/households/find", data={"registry_no": wide})
    assert response.headers["Location"].endswith(f"/county/households/{world['households'][0].id}")


def test_benefit_link_change_is_audited(client, auth, county_user, db, world):
    auth.login(county_user)
    a, b, c = world["households"]
    product = make_product(households=[a])
    commit()
    response = client.post(
        f"/county/links/product/{product.id}", data={"household_id": [str(b.id), str(c.id)], "weight": ["3", "1"]}
    )
    assert response.status_code == 302
    links = db.session.execute(
        sa.select(BenefitLink.household_id, BenefitLink.weight)
        .where(BenefitLink.product_id == product.id)
        .order_by(BenefitLink.household_id)
    ).all()
    assert [tuple(l) for l in links] == [(b.id, 3), (c.id, 1)]
    audit = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "benefit_link.update"))
    assert audit.actor_id == county_user.id and audit.detail["before"] == [{"household_id": a.id, "weight": 1}]
    bad = client.post(
        f"/county/links/product/{product.id}", data={"household_id": [str(b.id), str(b.id)], "weight": ["1", "1"]}
    )
    assert bad.status_code == 422
    assert client.get("/county/links/planet/1").status_code == 404


def test_approve_and_reject_pending_products(client, auth, api_token, county_user, db, world):
    pending = make_product(approval_status="pending")
    other = make_product(approval_status="pending")
    commit()
    headers = api_token(county_user)  # before the session login (the token endpoint then needs CSRF)
    auth.login(county_user)
    assert pending.name in client.get("/county/approvals").get_data(as_text=True)
    assert client.post(f"/county/approvals/{pending.id}/approve", data={"confirm": "1"}).status_code == 302
    db.session.refresh(pending)
    assert pending.approval_status == "approved" and pending.approved_by_id == county_user.id
    client.post("/logout")
    assert client.post(f"/api/v1/county/products/{other.id}/reject", json={}, headers=headers).status_code == 422
    response = client.post(f"/api/v1/county/products/{other.id}/reject", json={"reason": "非扶贫产品"}, headers=headers)
    assert response.status_code == 200 and response.json["approval_status"] == "rejected"
    assert client.post(f"/api/v1/county/products/{other.id}/approve", json={}, headers=headers).status_code == 409
    assert client.post("/api/v1/county/products/999999/approve", json={}, headers=headers).status_code == 404
    actions = db.session.scalars(sa.select(AuditEntry.action).where(AuditEntry.action.like("product.%"))).all()
    assert sorted(actions) == ["product.approve", "product.reject"]


def test_reconciliation_finds_a_delivered_line_without_credit(client, auth, county_user, db, world, now):
    from county.services.reconcile import check
    from tests.county.factories import make_line

    assert check()["discrepancies"] == []
    missing = make_line(households=[world["households"][0]])
    commit()
    result = check()
    assert [d["line_id"] for d in result["discrepancies"]] == [missing.id]
    assert result["discrepancies"][0]["problem"] == "missing_credit"
    auth.login(county_user)
    assert 'id="discrepancies">1<' in client.get("/county/reconcile").get_data(as_text=True)


def test_public_benefit_summary_for_order_and_product(db, world, app):
    from county.services.public import public_benefit_summary
    from ledger.services import expected_credit

    l1 = world["lines"][0]
    summary = public_benefit_summary(l1.order)
    assert summary["credited_households"] == 2 and summary["credited_villages"] == ["柳溪村"]
    assert summary["credited_fen"] == 3003 and summary["expected_fen"] == 0  # credited: nothing more to come
    from tests.county.factories import make_line

    # a line of the same order not yet delivered, for a household of another village: what has been
    # credited so far names only the households credited (it said 3 households in 柳溪村、罗渡村); the
    # line still to come names its own
    line = make_line(order=l1.order, shipment=l1.shipment, households=[world["households"][2]], shipment_status="new")
    summary = public_benefit_summary(l1.order)
    assert summary["credited_households"] == 2 and summary["credited_villages"] == ["柳溪村"]
    assert summary["credited_fen"] == 3003
    assert summary["expected_households"] == 1 and summary["expected_villages"] == ["罗渡村"]
    assert summary["expected_fen"] == sum(expected_credit(line).values()) > 0
    assert summary["households"] == 3 and sorted(summary["villages"]) == sorted(["柳溪村", "罗渡村"])
    product = make_product(price_fen=1000, households=[world["households"][2]])
    s = public_benefit_summary(product)
    assert s == {
        "total_fen": 1000,
        "credited_fen": 0,
        "credited_households": 0,
        "credited_villages": [],
        "expected_fen": 1000,
        "expected_households": 1,
        "expected_villages": ["罗渡村"],
        "awaiting_payment": False,  # a product: no order waiting for its money
        "households": 1,
        "villages": ["罗渡村"],
    }
    from flask import render_template_string

    with app.test_request_context():
        html = render_template_string(
            '{% with benefit=county_benefit_summary(p) %}{% include "county/_benefit_note.html" %}{% endwith %}',
            p=product,
        )
    assert "1 户" in html and "罗渡村" in html and "¥10.00" in html


def test_openapi_documents_the_county_endpoints(client):
    spec = client.get("/api/v1/openapi.json").json
    for path in (
        "/api/v1/county/income",
        "/api/v1/county/households/{household_id}/statement",
        "/api/v1/county/targets",
        "/api/v1/county/products/{product_id}/approve",
    ):
        assert path in spec["paths"], path
    params = {p["name"] for p in spec["paths"]["/api/v1/county/income"]["get"]["parameters"]}
    assert {"group_by", "from", "to"} <= params


def test_listing_links_accept_typed_households_from_other_villages(client, auth, county_user, db, world):
    from tests.county.factories import make_booking_line

    a, b, c = world["households"]
    listing, _booking, _line = make_booking_line(households=[])
    commit()
    auth.login(county_user)
    response = client.post(f"/county/links/listing/{listing.id}", data={"links_text": f"{a.id}:2\n{c.id}"})
    assert response.status_code == 302
    links = db.session.execute(
        sa.select(BenefitLink.household_id, BenefitLink.weight)
        .where(BenefitLink.listing_id == listing.id)
        .order_by(BenefitLink.household_id)
    ).all()
    assert [tuple(l) for l in links] == [(a.id, 2), (c.id, 1)]
    assert client.post(f"/county/links/listing/{listing.id}", data={"links_text": "abc"}).status_code == 422
    page = client.get(f"/county/links/listing/{listing.id}").get_data(as_text=True)
    assert SECRET_NAME not in page and "欧***" in page


def test_the_links_page_names_each_household_by_the_one_household_label(client, auth, county_user, db, world):
    """The county's benefit-link picker names a household as the station's pickers and the approvals do
    (catalog.services.household_labels): its number, the head's masked name, its village — for the
    target's own village and for a household of another village already linked."""
    a, b, c = world["households"]
    product = make_product(village=a.village, households=[c])
    commit()
    auth.login(county_user)
    page = unescape(client.get(f"/county/links/product/{product.id}").get_data(as_text=True))
    labels = household_labels([a, b, c])
    assert f'<option value="{c.id}" selected>{labels[c.id]}</option>' in page
    for household in (a, b):
        assert f'<option value="{household.id}">{labels[household.id]}</option>' in page
    assert SECRET_NAME not in page


def test_the_income_page_offers_one_labelled_export_per_table(client, auth, county_user, world):
    """The income page has two tables (the income by group, the sales' split): each has one set of export
    links, the county pages' 导出 · XLSX · CSV, named after its table — never a second, differently worded
    set (下载 Excel · 下载 CSV) beside the first."""
    auth.login(county_user)
    page = unescape(client.get("/county/income?group_by=station&from=2026-01-01").get_data(as_text=True))
    assert "下载 Excel" not in page and "下载 CSV" not in page
    exports = re.findall(r'<p class="county-exports">(.*?)</p>', page, re.S)
    assert len(exports) == 2
    income, sales = exports
    assert income.startswith("导出「收入统计」") and sales.startswith("导出「销售去向」")
    for block, table in ((income, None), (sales, "sales")):
        links = re.findall(r'<a href="([^"]+)"[^>]*>([^<]+)</a>', block)
        assert [text for _href, text in links] == ["XLSX", "CSV"]
        for href, text in links:
            args = parse_qs(urlsplit(href).query)
            assert args["format"] == [text.lower()] and args["group_by"] == ["station"]
            assert args["from"] == ["2026-01-01"] and args.get("table") == ([table] if table else None)


def test_an_approval_card_says_what_the_products_papers_lack(client, auth, county_user, db, world):
    """The officer certifying a product sees its food-safety papers' state next to the photo: a product
    lacking one is not sold even once certified (catalog.papers)."""
    fresh = make_product(name="鲜无花果待认定", approval_status="pending", category=make_category(food_class="farm"))
    pickles = make_product(name="腌菜待认定", approval_status="pending", category=make_category(food_class="processed"))
    make_document(pickles, "production_licence")
    make_document(pickles, "test_report", status="pending")
    make_document(fresh, "compliance_certificate")
    commit()
    auth.login(county_user)
    page = client.get("/county/approvals").get_data(as_text=True)
    fresh_card = page[page.index('id="product-%d"' % fresh.id) :].split("</article>")[0]
    pickles_card = page[page.index('id="product-%d"' % pickles.id) :].split("</article>")[0]
    assert 'data-paper-gaps="0"' in fresh_card and "齐全有效" in fresh_card
    assert 'data-paper-gaps="1"' in pickles_card and "检测报告" in pickles_card and "/county/papers" in pickles_card


def test_an_approval_card_names_each_linked_household_with_its_number(client, auth, county_user, db):
    """利益联结 on an approval card read 「张** · 柳溪村（权重 1）、张** · 柳溪村（权重 2）」 for two households of
    one village whose heads share a surname: the officer certifying the product could not tell who gets
    what. Each is named with its registry number and links to its page (masked there too)."""
    village = make_village(name="柳溪村")
    one = make_household(village=village, head_name="张三")
    two = make_household(village=village, head_name="张四")
    pending = make_product(name="同姓两户的腌菜", approval_status="pending", households=[one, two], weights=[1, 2])
    commit()
    auth.login(county_user)
    page = client.get("/county/approvals").get_data(as_text=True)
    card = page[page.index('id="product-%d"' % pending.id) :].split("</article>")[0]
    for household, weight in ((one, 1), (two, 2)):
        assert f'href="/county/households/{household.id}">#{household.id} 张* · 柳溪村</a>（权重 {weight}）' in card
    assert "张三" not in card and "张四" not in card
    client.get("/?lang=en")  # in English: "(weight 1), " where 「（权重 1）、」 stood untranslated
    page = client.get("/county/approvals").get_data(as_text=True)
    card = page[page.index('id="product-%d"' % pending.id) :].split("</article>")[0]
    assert f"#{one.id} 张* · 柳溪村</a> (weight 1), <a" in card
    for mark in ("（", "）", "、"):
        assert mark not in card, mark


def test_the_links_page_shows_each_households_share_of_the_weights(client, auth, county_user, db, world):
    """Weights are relative (3 and 1 are three quarters and a quarter): a first-time officer typed weights
    meant to add up to 100 and could not see what each household gets. The page shows each share, says how
    it is computed, and leads back to the list of links."""
    a, b, c = world["households"]
    product = make_product(households=[a])
    commit()
    auth.login(county_user)
    url = f"/county/links/product/{product.id}"
    client.post(url, data={"household_id": [str(a.id), str(b.id), str(c.id)], "weight": ["2", "1", "1"]})
    page = client.get(url).get_data(as_text=True)
    assert re.findall(r'<td class="num">([\d.]+%)</td>', page) == ["50.0%", "25.0%", "25.0%"]
    assert "不必加起来等于 100" in page and 'href="/county/links"' in page
    client.get("/?lang=en")
    assert "need not add up to 100" in client.get(url).get_data(as_text=True)


def test_a_period_without_entries_says_so_instead_of_an_empty_chart(client, auth, county_user, world):
    """A fresh install, or a period with nothing credited: the dashboard's 按月收入 and the income page say
    there is no entry yet, where each drew an empty chart with a 0-1 axis; with entries the charts are there."""
    auth.login(county_user)
    for url in ("/county/?from=2001-01-01&to=2001-01-31", "/county/income?from=2001-01-01&to=2001-01-31"):
        page = client.get(url).get_data(as_text=True)
        assert (
            "这段时间还没有入账记录。" in page and 'id="chart-months"' not in page and 'id="chart-income"' not in page
        ), url
    assert 'id="chart-months"' in client.get("/county/").get_data(as_text=True)
    income = client.get("/county/income").get_data(as_text=True)
    assert 'id="chart-income"' in income and "这段时间还没有入账记录。" not in income


def test_the_overview_says_how_many_organisations_wait_for_verification_and_leads_to_them(client, auth, county_user):
    """An organisation registered (a canteen) waits for the county office: the overview counts those
    waiting, beside the products, and leads to 采购单位审核 (it said nothing of them)."""
    from tests.institutions.factories import make_organisation

    make_organisation(name="南昌县莲塘第一小学", status="pending")
    make_organisation(name="南昌县第二中学", status="pending")
    make_organisation(name="已审核的单位", status="approved")
    commit()
    auth.login(county_user)
    page = client.get("/county/").get_data(as_text=True)
    assert "待审核单位" in page
    assert '<a href="/county/organisations" id="pending-organisations">2</a>' in page
    assert "Organisations to verify" in client.get("/county/?lang=en").get_data(as_text=True)


def test_a_status_note_over_255_characters_is_refused_not_cut(client, auth, county_user, db, world):
    """A status change's 说明 of 256 characters was kept cut to 255: refused now at once (no confirmation
    step), the limit named, the status unchanged; 255 are kept whole. The field says the limit."""
    h = world["households"][1]
    auth.login(county_user)
    page = client.get(f"/county/households/{h.id}").get_data(as_text=True)
    assert 'name="note" maxlength="255"' in page and "最多 255 个字" in page
    for data in ({"status": "lifted", "note": "说" * 256}, {"confirm": "1", "status": "lifted", "note": "说" * 256}):
        html = client.post(f"/county/households/{h.id}/status", data=data, follow_redirects=True).get_data(as_text=True)
        assert "状态变更说明最多 255 个字" in html and "确认将" not in html
    db.session.expire_all()
    assert db.session.get(Household, h.id).status == "poor"
    client.post(f"/county/households/{h.id}/status", data={"confirm": "1", "status": "lifted", "note": "说" * 255})
    db.session.expire_all()
    change = db.session.scalar(sa.select(HouseholdStatusChange).where(HouseholdStatusChange.household_id == h.id))
    assert change.note == "说" * 255 and db.session.get(Household, h.id).status == "lifted"


def test_the_links_page_tells_products_of_the_same_name_apart_by_their_village(client, auth, county_user, db, world):
    """Two villages sell a product of the same name (the demo's 三江腌菜500克 at 柳溪村 and at 前进村): the
    benefit-link overview, its export and the edit page name each one's village, so the officer edits the
    households of the one meant — they were two identical rows, 三江腌菜500克 · 3 · 编辑."""
    v1, v2 = world["villages"]
    here = make_product(name="三江腌菜500克", village=v1, station=world["stations"][0])
    there = make_product(name="三江腌菜500克", village=v2, station=world["stations"][1])
    commit()
    auth.login(county_user)
    page = unescape(client.get("/county/links").get_data(as_text=True))
    rows = re.findall(r"<tr><td>三江腌菜500克</td><td>([^<]*)</td>", page)
    assert sorted(rows) == sorted([v1.name, v2.name])
    exported = list(csv.reader(io.StringIO(client.get("/county/links?format=csv").get_data(as_text=True))))
    village = exported[0].index("村")
    assert sorted(r[village] for r in exported[1:] if r[exported[0].index("名称")] == "三江腌菜500克") == sorted(
        [v1.name, v2.name]
    )
    for product, name in ((here, v1.name), (there, v2.name)):
        edit = unescape(client.get(f"/county/links/product/{product.id}").get_data(as_text=True))
        assert f"<h1>利益联结 · 三江腌菜500克 · {name}</h1>" in edit
