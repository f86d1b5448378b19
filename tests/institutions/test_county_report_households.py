"""The county's institutional report lists the households the year's purchase orders earned income for:
a household whose every credit was reversed (its line refunded) earned nothing and is not listed — not on
the page, in the XLSX or in the API, as the plan's targets count only households with net income."""

from __future__ import annotations

from io import BytesIO

import sqlalchemy as sa
from openpyxl import load_workbook

from orders.models import Order
from orders.services.payments import refund_line
from shop.db import commit
from shop.extensions import db as _db
from shop.personal_data import mask_name
from shop.timeutil import local_date, now_utc
from tests.county.handover import hand_over
from tests.factories import make_household, make_product, make_user, make_village
from tests.institutions.purchase_setup import approved_purchase, logged_in_client, organisation_with_products


def test_a_household_whose_credits_were_all_reversed_is_not_listed_as_earning(app, client, db, api_token):
    organisation, buyer, approver, _viewer, _rice, _eggs = organisation_with_products()
    village = make_village()
    kept = make_household(village=village, head_name="张建华")
    reversed_ = make_household(village=village, head_name="欧阳秀英")
    rice = make_product(name="南昌大米", price_fen=6000, stock=50, village=village, households=[kept])
    eggs = make_product(name="土鸡蛋", stock=50, village=village, households=[reversed_])
    county, admin = make_user(role="county"), make_user(role="admin")
    commit()
    codes = approved_purchase(client, api_token, organisation, buyer, approver, rice, eggs)
    now = now_utc()
    orders = list(_db.session.scalars(sa.select(Order).where(Order.code.in_(codes))))
    for order in orders:
        hand_over(order, admin, now)  # handed over, cash taken: both households credited
    commit()
    [eggs_line] = [ln for o in orders for ln in o.lines if ln.product_id == eggs.id]
    refund_line(eggs_line, actor=admin, now=now, reason="质量问题")  # its credit reversed whole
    commit()
    year = local_date(now).year
    report = client.get(f"/api/v1/county/institutions?year={year}", headers=api_token(county)).json
    assert [h["household_id"] for h in report["households"]] == [kept.id], report["households"]
    assert report["credited_fen"] == report["households"][0]["credited_fen"] > 0
    web = logged_in_client(app, county)
    page = web.get(f"/county/organisations/report?year={year}").get_data(as_text=True)
    assert mask_name("张建华") in page and mask_name("欧阳秀英") not in page, page
    assert "1 户" in page, page
    homes = list(load_workbook(BytesIO(web.get(f"/county/organisations/report.xlsx?year={year}").data)).worksheets[2])
    labels = [row[0].value for row in homes[1:-1]]
    assert len(labels) == 1 and labels[0].startswith(mask_name("张建华")), labels
