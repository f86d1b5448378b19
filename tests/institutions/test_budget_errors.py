"""An organisation's budget typed wrong says what is wrong and what is allowed: 0 to ¥10,000,000,000 with at
most two decimals (the service's limit, `statements.MAX_BUDGET_FEN`), under its field with what was typed
kept on the statement page (422), and as 422 `invalid_budget` naming the field and the limit on the API."""

from __future__ import annotations

from html import escape

import pytest
import sqlalchemy as sa

from institutions.services import statements
from shop.audit import AuditEntry
from shop.extensions import db as _db
from shop.timeutil import local_date, now_utc
from tests.institutions.purchase_setup import organisation_with_products

BUDGET_RULE = "年度食品采购预算须为 0 到 10,000,000,000 元之间的金额，最多两位小数"
SHARE_RULE = "预留比例须在 0 到 100 之间，最多两位小数"


def _audited() -> int:
    return _db.session.scalar(sa.select(sa.func.count(AuditEntry.id)).where(AuditEntry.action == "organisation.budget"))


def _field(page: str, name: str) -> str:
    """The `<div class="field">` of the budget form's field `name`."""
    start = page.index(f'<label for="{name}">')
    return page[page.rindex("<div", 0, start) : page.index("</div>", start)]


@pytest.fixture
def approver_client(app, db):
    organisation, _buyer, approver, _viewer, _rice, _eggs = organisation_with_products()
    client = app.test_client()
    client.post("/login", data={"email": approver.email, "password": "password123"})
    return client, organisation, approver


@pytest.mark.parametrize(
    "typed",
    ["abc", "1e3", "12,5", "-5", "-0.01", "50000.555", "0.001", "10000000000.01", "99999999999999999999"],
)
def test_a_budget_typed_wrong_is_said_under_its_field_with_the_limit_and_what_was_typed(approver_client, typed):
    client, organisation, _approver = approver_client
    year = local_date(now_utc()).year
    r = client.post(
        f"/organisations/{organisation.id}/budget", data={"year": str(year), "budget": typed, "reserved_pct": "30.5"}
    )
    page = r.get_data(as_text=True)
    assert r.status_code == 422, typed
    field = _field(page, "budget")
    assert "has-error" in field and BUDGET_RULE in field and f'value="{escape(typed)}"' in field, typed
    assert 'aria-invalid="true"' in field and 'aria-describedby="budget-error"' in field
    share = _field(page, "reserved_pct")  # the other field, right, keeps what was typed and says nothing
    assert 'value="30.5"' in share and "has-error" not in share
    assert "预算金额无效" not in page and "请填写正确的预算金额和预留比例" not in page
    assert f"对账单 · {year}" in page and _audited() == 0


def test_the_largest_budget_and_zero_are_taken(approver_client):
    client, organisation, _approver = approver_client
    year = local_date(now_utc()).year
    for typed, shown in (("10,000,000,000.00", "¥10,000,000,000.00"), ("0", "¥0.00"), ("¥8000.5", "¥8,000.50")):
        r = client.post(
            f"/organisations/{organisation.id}/budget", data={"year": str(year), "budget": typed, "reserved_pct": "30"}
        )
        assert r.status_code == 303, typed
        page = client.get(r.headers["Location"]).get_data(as_text=True)
        assert "预算已保存" in page and shown in page, typed
    assert _audited() == 3


def test_a_share_typed_wrong_is_said_under_its_own_field(approver_client):
    client, organisation, _approver = approver_client
    year = local_date(now_utc()).year
    for typed in ("abc", "-1", "100.01", "30.555"):
        r = client.post(
            f"/organisations/{organisation.id}/budget",
            data={"year": str(year), "budget": "50000", "reserved_pct": typed},
        )
        page = r.get_data(as_text=True)
        assert r.status_code == 422, typed
        share = _field(page, "reserved_pct")
        assert SHARE_RULE in share and f'value="{escape(typed)}"' in share, typed
        assert 'value="50000"' in _field(page, "budget") and "has-error" not in _field(page, "budget")
    r = client.post(
        f"/organisations/{organisation.id}/budget", data={"year": str(year), "budget": "-1", "reserved_pct": "101"}
    )
    page = r.get_data(as_text=True)  # both wrong: each said under its own field
    assert BUDGET_RULE in _field(page, "budget") and SHARE_RULE in _field(page, "reserved_pct")
    assert _audited() == 0


def test_the_budget_error_is_in_english_on_an_english_page(approver_client):
    client, organisation, _approver = approver_client
    year = local_date(now_utc()).year
    r = client.post(
        f"/organisations/{organisation.id}/budget?lang=en",
        data={"year": str(year), "budget": "12.345", "reserved_pct": "30"},
    )
    field = _field(r.get_data(as_text=True), "budget")
    assert r.status_code == 422
    assert "must be an amount from 0 to 10,000,000,000 yuan, with at most two decimals" in field
    assert 'value="12.345"' in field


@pytest.mark.parametrize(
    "value, reason",
    [
        ("50000", "not_an_integer"),
        (1.5, "not_an_integer"),
        (True, "not_an_integer"),
        (None, "not_an_integer"),
        ([1], "not_an_integer"),
        (-1, "negative"),
        (statements.MAX_BUDGET_FEN + 1, "too_high"),
        (10**30, "too_high"),
    ],
)
def test_the_api_refuses_a_wrong_budget_with_its_code_field_and_limit(
    client, api_token, approver_client, value, reason
):
    _client, organisation, approver = approver_client
    year = local_date(now_utc()).year
    r = client.post(
        f"/api/v1/organisations/{organisation.id}/budget",
        headers=api_token(approver),
        json={"year": year, "budget_fen": value, "reserved_bps": 3000},
    )
    assert r.status_code == 422, value
    error = r.json["error"]
    assert error["code"] == "invalid_budget" and error["fields"] == {"budget_fen": reason}, value
    assert error["message"] == BUDGET_RULE
    assert _audited() == 0


def test_the_api_takes_the_limit_and_refuses_a_wrong_share_with_its_own_code(client, api_token, approver_client):
    _client, organisation, approver = approver_client
    year = local_date(now_utc()).year
    h = api_token(approver)
    url = f"/api/v1/organisations/{organisation.id}/budget"
    r = client.post(url, headers=h, json={"year": year, "budget_fen": statements.MAX_BUDGET_FEN, "reserved_bps": 0})
    assert r.status_code == 200 and r.json["budget_fen"] == statements.MAX_BUDGET_FEN
    for value, reason in ((10001, "too_high"), (-1, "negative"), ("30", "not_an_integer"), (30.5, "not_an_integer")):
        r = client.post(url, headers=h, json={"year": year, "budget_fen": 1, "reserved_bps": value})
        assert r.status_code == 422 and r.json["error"]["code"] == "invalid_reserved_share", value
        assert r.json["error"]["fields"] == {"reserved_bps": reason} and r.json["error"]["message"] == SHARE_RULE
    r = client.post(f"{url}?lang=en", headers=h, json={"year": year, "budget_fen": -1, "reserved_bps": 0})
    assert "from 0 to 10,000,000,000 yuan" in r.json["error"]["message"]


def test_a_budget_below_what_the_year_has_purchased_is_refused_naming_that_amount(app, client, api_token, db):
    """Approvals never go past the year's budget (`purchase_over_budget`), so a budget is never set below
    what the year's purchase orders are due already (the statement's 已采购): 409 `budget_below_purchased`
    naming that amount, on the page under the field with what was typed, and on the API; nothing saved.
    That amount itself is taken."""
    from institutions.models import OrganisationBudget
    from shop.money import format_yuan
    from tests.institutions.purchase_setup import approved_purchase

    organisation, buyer, approver, _viewer, rice, eggs = organisation_with_products()
    year = local_date(now_utc()).year
    assert approved_purchase(client, api_token, organisation, buyer, approver, rice, eggs)
    purchased = statements.statement(organisation, year).purchased_fen
    assert purchased > 5000
    said = f"本单位 {year} 年已采购 {format_yuan(purchased)}，年度预算不能低于已采购的金额"

    web = app.test_client()
    web.post("/login", data={"email": approver.email, "password": "password123"})
    r = web.post(
        f"/organisations/{organisation.id}/budget", data={"year": str(year), "budget": "50", "reserved_pct": "30"}
    )
    assert r.status_code == 409
    field = _field(r.get_data(as_text=True), "budget")
    assert "has-error" in field and said in field and 'value="50"' in field
    r = client.post(
        f"/api/v1/organisations/{organisation.id}/budget",
        headers=api_token(approver),
        json={"year": year, "budget_fen": 5000, "reserved_bps": 3000},
    )
    assert r.status_code == 409 and r.json["error"]["code"] == "budget_below_purchased", r.json
    assert r.json["error"]["message"] == said
    assert r.json["error"]["fields"] == {"budget_fen": "below_purchased", "purchased_fen": str(purchased)}
    assert _audited() == 0 and _db.session.scalar(sa.select(sa.func.count(OrganisationBudget.id))) == 0

    r = web.post(
        f"/organisations/{organisation.id}/budget",
        data={"year": str(year), "budget": f"{purchased / 100:.2f}", "reserved_pct": "30"},
    )
    assert r.status_code == 303 and _audited() == 1
