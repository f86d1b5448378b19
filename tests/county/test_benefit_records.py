"""Recording purchases, wages, dividends, rents and collective distributions (issue #20): validated,
credited by kind, audited, payable; who may record what."""

from __future__ import annotations

import sqlalchemy as sa

from county.services import cards, payouts
from ledger.models import IncomeEntry
from ledger.records import BenefitRecord
from shop.audit import AuditEntry
from shop.db import commit
from shop.once import new_form_token
from tests.factories import make_household, make_station, make_user, make_village

PERIOD = {"period_from": "2026-11-01", "period_to": "2026-11-27"}


def _entries(db, kind=None):
    query = sa.select(IncomeEntry).where(IncomeEntry.kind == "recorded")
    if kind:
        query = query.where(IncomeEntry.benefit_kind == kind)
    return db.session.scalars(query.order_by(IncomeEntry.id)).all()


def _setup(db):
    village = make_village()
    a = make_household(village=village)
    a.members = 3
    b = make_household(village=village)
    station = make_station(village=village)
    county = make_user(role="county")
    commit()
    return village, a, b, station, county


def _wage_form(household, **extra) -> dict:
    """A station's wage sheet: member 2 of `household`, 3 days at ¥120, with a fresh form token."""
    return {
        "kind": "wage",
        "description": "分拣工 11月",
        "unit": "day",
        "form_token": new_form_token(),
        **PERIOD,
        "household_0": str(household.id),
        "member_0": "2",
        "count_0": "3",
        "rate_0": "120",
        **extra,
    }


def test_wages_credit_days_times_rate_per_registered_member_and_are_audited(client, api_token, db):
    _village, a, b, station, county = _setup(db)
    body = {
        **PERIOD,
        "kind": "wage",
        "description": "采摘工 11月",
        "station_id": station.id,
        "unit": "day",
        "lines": [
            {"household_id": a.id, "member_no": 1, "units": 12, "rate_fen": 8000},
            {"household_id": a.id, "member_no": 2, "units": 3, "rate_fen": 8000},
            {"household_id": b.id, "member_no": 1, "units": 5, "rate_fen": 9000},
        ],
    }
    response = client.post("/api/v1/county/benefits", json=body, headers=api_token(county))
    assert response.status_code == 200, response.json
    assert response.json["total_fen"] == 12 * 8000 + 3 * 8000 + 5 * 9000
    wages = _entries(db, "wage")
    assert [(e.household_id, e.amount_fen) for e in wages] == [(a.id, 96000), (a.id, 24000), (b.id, 45000)]
    assert all(e.order_line_id is None and e.record_id == response.json["id"] for e in wages)
    audit = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "benefit.record"))
    assert audit.actor_id == county.id and audit.detail["total_fen"] == 165000
    rows = client.get("/api/v1/county/income?group_by=kind", headers=api_token(county)).json["rows"]
    assert {r["key"]: r["total_fen"] for r in rows} == {"wage": 165000}
    assert rows[0]["recorded_fen"] == 165000 and rows[0]["households"] == 2


def test_dividends_split_the_total_by_shares_to_the_fen(client, api_token, db):
    _village, a, b, _station, county = _setup(db)
    body = {
        **PERIOD,
        "kind": "dividend",
        "description": "合作社分红",
        "total_fen": 100000,
        "shares_total": 3,
        "lines": [{"household_id": a.id, "shares": 2}, {"household_id": b.id, "shares": 1}],
    }
    assert client.post("/api/v1/county/benefits", json=body, headers=api_token(county)).status_code == 200
    parts = [e.amount_fen for e in _entries(db, "dividend")]
    assert parts == [66667, 33333] and sum(parts) == 100000


def test_purchase_rent_and_collective_credit_their_kind(client, api_token, db):
    _village, a, b, _station, county = _setup(db)
    headers = api_token(county)
    for body in (
        {
            "kind": "purchase",
            "description": "收购 脐橙 保底价",
            "lines": [{"household_id": a.id, "quantity": 200, "rate_fen": 350}],
        },
        {"kind": "rent", "description": "土地流转 3 亩", "lines": [{"household_id": b.id, "amount_fen": 90000}]},
        {
            "kind": "collective",
            "description": "村集体经济收益分配",
            "total_fen": 5000,
            "shares_total": 2,
            "lines": [{"household_id": a.id, "shares": 1}, {"household_id": b.id, "shares": 1}],
        },
    ):
        assert client.post("/api/v1/county/benefits", json={**PERIOD, **body}, headers=headers).status_code == 200
    assert {(e.benefit_kind, e.household_id, e.amount_fen) for e in _entries(db)} == {
        ("purchase", a.id, 70000),
        ("rent", b.id, 90000),
        ("collective", a.id, 2500),
        ("collective", b.id, 2500),
    }


def test_bad_records_are_refused_and_write_nothing(client, api_token, db):
    _village, a, b, _station, county = _setup(db)
    headers = api_token(county)
    bad = [
        (
            {
                "kind": "dividend",
                "total_fen": 1000,
                "shares_total": 5,
                "lines": [{"household_id": a.id, "shares": 2}, {"household_id": b.id, "shares": 1}],
            },
            "shares_total",
        ),
        ({"kind": "wage", "lines": [{"household_id": a.id, "member_no": 4, "units": 1, "rate_fen": 100}]}, "lines.0"),
        ({"kind": "wage", "lines": [{"household_id": a.id, "member_no": 1, "units": 40, "rate_fen": 100}]}, "lines.0"),
        (
            {"kind": "wage", "lines": [{"household_id": a.id, "member_no": 1, "units": 1, "rate_fen": 500000}]},
            "lines.0",
        ),
        ({"kind": "rent", "period_to": "2099-01-01", "lines": [{"household_id": a.id, "amount_fen": 1}]}, "period_to"),
        ({"kind": "rent", "lines": [{"household_id": 999999, "amount_fen": 1}]}, "lines.0"),
        ({"kind": "purchase", "lines": [{"household_id": a.id, "quantity": 2}]}, "lines.0"),
    ]
    for body, field in bad:
        response = client.post("/api/v1/county/benefits", json={**PERIOD, "description": "x", **body}, headers=headers)
        assert response.status_code == 422 and field in response.json["error"]["fields"], (body, response.json)
    assert (
        client.post(
            "/api/v1/county/benefits",
            json={**PERIOD, "kind": "sale", "description": "x", "lines": [{"household_id": a.id}]},
            headers=headers,
        ).status_code
        == 422
    )
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BenefitRecord)) == 0
    assert _entries(db) == []


def test_operators_record_for_their_station_hosts_for_their_listing_others_not(client, api_token, db):
    village, a, _b, station, _county = _setup(db)
    other = make_station(village=village)
    operator = make_user(role="operator", station=station)
    consumer = make_user(role="consumer")
    commit()
    body = {
        **PERIOD,
        "kind": "wage",
        "description": "分拣",
        "lines": [{"household_id": a.id, "member_no": 1, "units": 2, "rate_fen": 8000}],
    }
    assert (
        client.post(
            "/api/v1/county/benefits", json={**body, "station_id": station.id}, headers=api_token(operator)
        ).status_code
        == 200
    )
    assert (
        client.post(
            "/api/v1/county/benefits", json={**body, "station_id": other.id}, headers=api_token(operator)
        ).status_code
        == 403
    )
    assert client.post("/api/v1/county/benefits", json=body, headers=api_token(operator)).status_code == 403
    assert (
        client.post(
            "/api/v1/county/benefits", json={**body, "station_id": station.id}, headers=api_token(consumer)
        ).status_code
        == 403
    )
    assert len(_entries(db)) == 1


def test_recorded_benefits_are_payable_and_on_the_statement_card(client, api_token, db):
    from shop.timeutil import local_date, now_utc

    now = now_utc()  # the API records at the real time
    today = local_date(now)
    _village, a, _b, _station, county = _setup(db)
    body = {
        **PERIOD,
        "kind": "rent",
        "description": "房屋出租 11月",
        "lines": [{"household_id": a.id, "amount_fen": 30000}],
    }
    assert client.post("/api/v1/county/benefits", json=body, headers=api_token(county)).status_code == 200
    payouts.set_account(a, kind="bank_card", number="6217991234567890123", actor=None, now=now)
    batch = payouts.create_batch(period_from=today.replace(day=1), period_to=today, actor=None, now=now).batch
    assert [(ln.household_id, ln.amount_fen) for ln in batch.lines] == [(a.id, 30000)]
    card = cards.household_card(a, today.strftime("%Y-%m"))
    assert card.kinds[0]["kind"] == "rent" and card.kinds[0]["items"][0]["title"] == "房屋出租 11月"


def test_the_county_page_records_a_rent_and_refuses_a_bad_sheet(client, auth, db):
    _village, a, b, _station, county = _setup(db)
    auth.login(county)
    form = {
        "kind": "rent",
        "description": "土地流转",
        "period_from": "2026-11-01",
        "period_to": "2026-11-27",
        "household_0": str(a.id),
        "amount_0": "300.50",
        "household_1": str(b.id),
        "amount_1": "120",
        "form_token": new_form_token(),
    }
    response = client.post("/county/benefits", data=form)
    assert response.status_code == 303
    client.get(response.headers["Location"])  # the first answer's page, its message read
    again = client.post("/county/benefits", data=form)  # the same form again: nothing new, and said so
    assert again.status_code == 303 and again.headers["Location"].endswith("/county/benefits")
    page = client.get(again.headers["Location"]).get_data(as_text=True)
    assert "此表单已提交过，没有重复创建" in page and "已登记并入账" not in page
    form["form_token"] = new_form_token()
    assert {(e.household_id, e.amount_fen) for e in _entries(db, "rent")} == {(a.id, 30050), (b.id, 12000)}
    html = client.get("/county/benefits").get_data(as_text=True)
    assert 'data-kind="rent"' in html and 'data-fen="42050"' in html
    bad = client.post("/county/benefits", data={**form, "amount_1": "-5"})
    assert bad.status_code == 422
    bad = client.post("/county/benefits", data={**form, "kind": "wage"})
    assert bad.status_code == 422 and "成员序号" in bad.get_data(as_text=True)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(BenefitRecord)) == 1


def test_a_recorded_benefit_on_the_statement_page_shows_no_order_line_rather_than_none(client, auth, db):
    """A record has no order line: its statement row leaves the cell empty instead of printing Python's None."""
    _village, a, _b, _station, county = _setup(db)
    auth.login(county)
    form = {"kind": "rent", "description": "土地流转", "period_from": "2026-11-01", "period_to": "2026-11-27"}
    form |= {"household_0": str(a.id), "amount_0": "300", "form_token": new_form_token()}
    assert client.post("/county/benefits", data=form).status_code == 303
    html = client.get(f"/county/households/{a.id}/statement").get_data(as_text=True)
    assert 'data-benefit-kind="rent"' in html and ">None<" not in html


def test_a_decimal_comma_is_refused_not_read_as_a_hundred_times_the_amount(client, auth, db):
    """「12,5」 (twelve and a half, typed with a decimal comma) was read as ¥125.00 and credited; a comma
    now only separates thousands (1,200 is ¥1,200.00)."""
    _village, a, _b, _station, county = _setup(db)
    auth.login(county)
    form = {"kind": "rent", "description": "土地流转", "period_from": "2026-11-01", "period_to": "2026-11-27"}
    form |= {"household_0": str(a.id), "amount_0": "12,5", "form_token": new_form_token()}
    refused = client.post("/county/benefits", data=form)
    assert refused.status_code == 422 and "金额格式不对" in refused.get_data(as_text=True)
    assert _entries(db, "rent") == []
    form |= {"amount_0": "1,200", "form_token": new_form_token()}
    assert client.post("/county/benefits", data=form).status_code == 303
    assert [e.amount_fen for e in _entries(db, "rent")] == [120000]


def test_the_plans_household_targets_count_the_kinds_they_are_about(client, api_token, db):
    """电商扶贫 households: consignment sales of products and purchases at intake; 旅游分红 households:
    shares of bookings and dividends of a listing — not wages or rents."""
    from county.services.targets import progress, seed_targets
    from tests.tourism.factories import make_listing

    _village, a, b, _station, county = _setup(db)
    c = make_household()
    host = make_user(role="host")
    listing = make_listing(host=host)
    seed_targets()
    commit()
    headers = api_token(county)
    before = {t["key"]: t["actual"] for t in progress()}
    for body in (
        {"kind": "purchase", "description": "收购", "lines": [{"household_id": a.id, "quantity": 1, "rate_fen": 500}]},
        {
            "kind": "dividend",
            "description": "民宿分红",
            "listing_id": listing.id,
            "total_fen": 900,
            "shares_total": 1,
            "lines": [{"household_id": b.id, "shares": 1}],
        },
        {
            "kind": "rent",
            "description": "房屋出租",
            "listing_id": listing.id,
            "lines": [{"household_id": c.id, "amount_fen": 900}],
        },
    ):
        assert client.post("/api/v1/county/benefits", json={**PERIOD, **body}, headers=headers).status_code == 200
    after = {t["key"]: t["actual"] for t in progress()}
    assert after["ecommerce_households"] == before["ecommerce_households"] + 1
    assert after["tourism_households"] == before["tourism_households"] + 1


# --- the station's and the host's own recording pages ----------------------------------------------


def test_an_operator_records_wages_on_the_station_page_for_its_own_station_only(client, auth, db):
    village, a, b, station, _county = _setup(db)
    other = make_station(village=village)
    operator = make_user(role="operator", station=station)
    commit()
    auth.login(operator)
    page = client.get("/station/benefits").get_data(as_text=True)
    assert "收益登记" in page and 'name="form_token"' in page and 'name="csrf_token"' in page
    assert f'data-household="{a.id}"' in page and 'name="station_id"' not in page  # its own station, fixed
    assert "欧阳" not in page  # names masked
    form = _wage_form(a, station_id=str(other.id))  # a station typed in is ignored: the page records for its own
    response = client.post("/station/benefits", data=form)
    assert response.status_code == 303 and response.headers["Location"].endswith("/station/benefits")
    [entry] = _entries(db, "wage")
    assert (entry.household_id, entry.amount_fen, entry.station_id) == (a.id, 36000, station.id)
    record = db.session.get(BenefitRecord, entry.record_id)
    assert record.station_id == station.id and record.recorded_by_id == operator.id
    audit = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "benefit.record"))
    assert audit.actor_id == operator.id and audit.subject_id == record.id
    again = client.post("/station/benefits", data=form)  # double tap: nothing new, the shop's "already done"
    assert again.status_code == 303 and again.headers["Location"].endswith("/station/benefits")
    for bad in (
        {"member_0": "9"},
        {"rate_0": "abc"},
        {"period_to": "2099-01-01"},
        {"period_from": "x"},
        {"kind": "sale"},
        {"household_0": "999999"},
    ):
        response = client.post("/station/benefits", data={**form, "form_token": new_form_token(), **bad})
        assert response.status_code == 422, bad
        assert 'class="flash' in response.get_data(as_text=True) or "error" in response.get_data(as_text=True)
    assert len(_entries(db)) == 1
    html = client.get("/station/benefits").get_data(as_text=True)
    assert f'data-record="{record.id}"' in html


def test_a_host_records_a_rent_for_its_own_listing_and_never_for_anothers(client, auth, db):
    from tests.tourism.factories import make_listing

    _village, a, _b, _station, _county = _setup(db)
    host, other_host = make_user(role="host"), make_user(role="host")
    mine, theirs = make_listing(host=host), make_listing(host=other_host)
    commit()
    auth.login(host)
    page = client.get("/host/benefits").get_data(as_text=True)
    assert f'<option value="{mine.id}"' in page and f'<option value="{theirs.id}"' not in page
    form = {
        "kind": "rent",
        "description": "房屋出租 11月",
        "form_token": new_form_token(),
        **PERIOD,
        "listing_id": str(mine.id),
        "household_0": str(a.id),
        "amount_0": "300",
    }
    assert client.post("/host/benefits", data=form).status_code == 303
    [entry] = _entries(db, "rent")
    assert db.session.get(BenefitRecord, entry.record_id).listing_id == mine.id
    response = client.post(
        "/host/benefits", data={**form, "form_token": new_form_token(), "listing_id": str(theirs.id)}
    )
    assert response.status_code == 404
    response = client.post("/host/benefits", data={**form, "form_token": new_form_token(), "listing_id": ""})
    assert response.status_code == 404
    assert len(_entries(db)) == 1
    assert "登记务工工资、分红与租金" in client.get("/host/").get_data(as_text=True)


def test_the_household_pickers_and_the_income_by_household_bracket_in_the_pages_language(client, auth, db):
    """A station's recording form listed its households as 「柳溪村 · 张**（3人）」 and the county's income by
    household read 「张**（柳溪村）」, on an English page too: full-width brackets and an untranslated 人."""
    village, a, _b, station, county = _setup(db)
    village.name = "柳溪村"
    operator = make_user(role="operator", station=station)
    commit()
    auth.login(operator)
    assert f"#{a.id} 张** · 柳溪村（3 口人）" in client.get("/station/benefits").get_data(as_text=True)
    client.get("/?lang=en")
    en = client.get("/station/benefits").get_data(as_text=True)
    assert f"#{a.id} 张** · 柳溪村 (3 members)" in en and "口人" not in en and "（3" not in en
    assert client.post("/station/benefits", data=_wage_form(a)).status_code == 303
    auth.logout()
    auth.login(county)
    client.get("/?lang=en")
    report = client.get("/county/income?group_by=household&from=2026-01-01&to=2027-12-31").get_data(as_text=True)
    assert "张** (柳溪村)" in report and "张**（柳溪村）" not in report
    client.get("/?lang=zh_CN")
    report = client.get("/county/income?group_by=household&from=2026-01-01&to=2027-12-31").get_data(as_text=True)
    assert "张**（柳溪村）" in report
