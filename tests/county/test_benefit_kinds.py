"""Benefit kinds on every ledger entry: sales credit `sale`, reversals keep the kind they reverse, and
the county review and its exports group by kind and split every row by kind, to the fen."""

from __future__ import annotations

import csv
import io
from collections import defaultdict

import pytest
import sqlalchemy as sa
from openpyxl import load_workbook

from ledger.models import BENEFIT_KINDS, IncomeEntry, IncomeKind
from shop.extensions import db as _db
from tests.county.benefit_entries import other_kinds
from tests.factories import NOW

GROUP_KEYS = {
    "household": lambda e: e.household_id,
    "village": lambda e: e.village_id,
    "station": lambda e: e.station_id,
    "category": lambda e: e.category_id,
    "month": lambda e: e.entry_date.strftime("%Y-%m"),
    "kind": lambda e: e.benefit_kind,
}


def _ledger(db, key):
    out = defaultdict(lambda: defaultdict(int))
    for e in db.session.scalars(sa.select(IncomeEntry)):
        out[key(e)][e.benefit_kind] += e.amount_fen
    return out


def test_sale_credits_and_their_reversals_are_of_kind_sale(db, world):
    entries = db.session.scalars(sa.select(IncomeEntry)).all()
    assert {e.kind for e in entries} == {"sale", "tourism", "reversal"}
    assert {e.benefit_kind for e in entries} == {"sale"}


def test_an_unknown_benefit_kind_is_refused_by_the_database(db, world):
    a = world["households"][0]
    with pytest.raises(sa.exc.IntegrityError):
        with db.session.begin_nested():
            db.session.add(
                IncomeEntry(
                    household_id=a.id,
                    order_line_id=world["lines"][0].id,
                    kind="sale",
                    benefit_kind="gift",
                    ref="x",
                    amount_fen=1,
                    split={},
                    entry_date=NOW.date(),
                    created_at=NOW,
                )
            )
            db.session.flush()


@pytest.mark.parametrize("group_by", list(GROUP_KEYS))
def test_api_income_splits_every_group_by_kind_to_the_fen(client, api_token, county_user, db, world, group_by):
    other_kinds(world)
    body = client.get(f"/api/v1/county/income?group_by={group_by}", headers=api_token(county_user)).json
    ledger = _ledger(db, GROUP_KEYS[group_by])
    assert {r["key"] for r in body["rows"]} == set(ledger)
    for r in body["rows"]:
        assert {k: r[f"kind_{k}_fen"] for k in BENEFIT_KINDS} == {k: ledger[r["key"]][k] for k in BENEFIT_KINDS}
        assert sum(r[f"kind_{k}_fen"] for k in BENEFIT_KINDS) == r["total_fen"]
        assert r["sale_fen"] + r["tourism_fen"] + r["reversal_fen"] == r["total_fen"]
    assert body["total_fen"] == sum(sum(v.values()) for v in ledger.values())
    entries = db.session.scalars(sa.select(IncomeEntry)).all()
    assert body["entries"] == len(entries) == sum(r["entries"] for r in body["rows"])
    assert body["households"] == len({e.household_id for e in entries})
    for r in body["rows"]:
        key = GROUP_KEYS[group_by]
        assert r["households"] == len({e.household_id for e in entries if key(e) == r["key"]})


def test_income_by_kind_counts_households_per_kind_in_kind_order(client, api_token, county_user, db, world):
    other_kinds(world)
    rows = client.get("/api/v1/county/income?group_by=kind", headers=api_token(county_user)).json["rows"]
    assert [r["key"] for r in rows] == ["sale", "purchase", "wage", "dividend", "rent", "collective"]
    by_key = {r["key"]: r for r in rows}
    assert by_key["wage"]["households"] == 1 and by_key["wage"]["kind_wage_fen"] == 10000
    assert by_key["sale"]["households"] == 3
    assert by_key["rent"]["label"] == "租金"


def test_income_page_and_exports_group_by_kind(client, auth, county_user, db, world):
    other_kinds(world)
    auth.login(county_user)
    html = client.get("/county/income?group_by=kind").get_data(as_text=True)
    assert 'data-key="dividend"' in html and 'data-kind="kind_dividend_fen" data-fen="3050"' in html
    html = client.get("/county/income?group_by=village").get_data(as_text=True)
    assert "务工工资" in html and "分红" in html
    sheet = load_workbook(io.BytesIO(client.get("/county/income?group_by=kind&format=xlsx").data)).active
    header = [c.value for c in sheet[1]]
    assert "租金(元)" in header and "务工工资(元)" in header
    rows = {r[0]: dict(zip(header, r)) for r in sheet.iter_rows(min_row=2, values_only=True)}
    assert rows["rent"]["租金(元)"] == 800 and rows["wage"]["合计(元)"] == 100
    response = client.get("/county/income?group_by=household&format=csv")
    assert response.headers["Content-Type"] == "text/csv; charset=utf-8"  # the charset said once, not twice
    text = response.data.decode("utf-8-sig")
    reader = list(csv.DictReader(io.StringIO(text)))
    assert sum(float(r["分红(元)"]) for r in reader) == pytest.approx(30.5)


def test_statement_entries_carry_their_kind_and_source(client, api_token, auth, county_user, db, world):
    """The API says `kind` for what the household earned (issue #20) and `source` for where the money
    came from; the ledger's columns are `benefit_kind` and `kind`."""
    other_kinds(world)
    a = world["households"][0]
    body = client.get(f"/api/v1/county/households/{a.id}/statement", headers=api_token(county_user)).json
    entries = {e.id: e for e in db.session.scalars(sa.select(IncomeEntry).where(IncomeEntry.household_id == a.id))}
    assert {e["kind"] for e in body["entries"]} == {"sale", "wage", "purchase"}
    assert all(
        (e["kind"], e["source"]) == (entries[e["id"]].benefit_kind, entries[e["id"]].kind) for e in body["entries"]
    ) and len(body["entries"]) == len(entries)
    assert "benefit_kind" not in body["entries"][0]
    spec = client.get("/api/v1/openapi.json").json["components"]["schemas"]["EntryOut"]["properties"]
    assert tuple(spec["kind"]["enum"]) == BENEFIT_KINDS
    assert set(spec["source"]["enum"]) == {k.value for k in IncomeKind}
    auth.login(county_user)
    html = client.get(f"/county/households/{a.id}/statement").get_data(as_text=True)
    assert 'data-benefit-kind="wage"' in html and "务工工资" in html


# --- where the sales' money went: households + commission + collective (+ purchased units) -----------

SALE_GROUPS = {
    "village": lambda l: l.village_id,
    "station": lambda l: l.station_id,
    "category": lambda l: l.category_id,
    "month": lambda l: "2026-11",
}


@pytest.mark.parametrize("group_by", [*SALE_GROUPS, "household", "kind"])
def test_county_income_shows_commission_and_collective_and_they_add_up_to_the_sales(
    client, api_token, auth, county_user, db, world, group_by
):
    """world: l1 3 × 10.01 at 0%, l2 50.00 at 10% with 20.00 refunded, l3 a booking of 288.00; plus a line
    of goods no household is linked to (the collective's)."""
    from ledger.services import credit_line
    from tests.county.factories import make_line

    v1 = world["villages"][0]
    collective_line = make_line(
        households=[], unit_price_fen=1999, quantity=2, commission_bps=500, village=v1, category=world["categories"][0]
    )
    credit_line(collective_line, now=NOW)
    _db.session.commit()
    body = client.get(f"/api/v1/county/income?group_by={group_by}", headers=api_token(county_user)).json
    sales = body["sales"]
    total = sales["total"]
    assert total["sale_fen"] == 3003 + (5000 - 2000) + 28800 + 3998
    assert total["commission_fen"] == 0 + (500 - 200) + 0 + 200
    assert total["collective_fen"] == 3998 - 200
    assert total["household_fen"] == sum(
        e.amount_fen for e in _db.session.scalars(sa.select(IncomeEntry).where(IncomeEntry.order_line_id.is_not(None)))
    )
    rows = sales["rows"]
    for r in [*rows, total]:
        assert r["sale_fen"] == r["household_fen"] + r["commission_fen"] + r["collective_fen"] + r["purchased_fen"]
    for part in ("sale_fen", "household_fen", "commission_fen", "collective_fen", "purchased_fen", "lines"):
        assert sum(r[part] for r in rows) == total[part]
    if group_by in SALE_GROUPS:
        assert sales["group_by"] == group_by
    auth.login(county_user)
    html = client.get(f"/county/income?group_by={group_by}").get_data(as_text=True)
    assert 'id="sales-table"' in html and f'data-part="commission_fen" data-fen="{total["commission_fen"]}"' in html
    assert f'data-part="collective_fen" data-fen="{total["collective_fen"]}"' in html
    sheet = load_workbook(
        io.BytesIO(client.get(f"/county/income?group_by={group_by}&format=xlsx&table=sales").data)
    ).active
    header = [c.value for c in sheet[1]]
    assert "平台/站点佣金(元)" in header and "村集体(元)" in header
    values = list(sheet.iter_rows(min_row=2, values_only=True))
    assert sum(r[header.index("销售额(元)")] for r in values) == pytest.approx(total["sale_fen"] / 100)


def test_income_table_says_which_columns_add_up_to_the_total(client, auth, county_user, db, world):
    """电商销售 − 冲销 + 代销分成 ≠ 合计 was read across one row: the channel columns and the benefit-kind
    columns split the same money twice, so the header groups them and a note says each group alone adds up."""
    other_kinds(world)
    auth.login(county_user)
    html = client.get("/county/income?group_by=village").get_data(as_text=True)
    head = html[html.index('id="income-table"') : html.index("</thead>")]
    assert '<th colspan="4" scope="colgroup" class="col-group">按渠道（相加 = 合计）</th>' in head
    assert (
        f'<th colspan="{len(BENEFIT_KINDS)}" scope="colgroup" class="col-group">按受益类型（相加 = 合计）</th>' in head
    )
    assert "两组列不要相加" in html
    # the figures behind the note: each group of a row adds up to its total
    from county.services.reports import KIND_COLUMNS, income_by

    for r in income_by("village"):
        channels = r["sale_fen"] + r["tourism_fen"] + r["reversal_fen"] + r["recorded_fen"]
        assert channels == sum(r[k] for k, _h in KIND_COLUMNS) == r["total_fen"], r
