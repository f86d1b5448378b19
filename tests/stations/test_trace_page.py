"""#23: the public trace page of a lot, and the QR codes on the packing slip that lead to it."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest
import sqlalchemy as sa

from catalog.models import Household, Producer
from shop.db import commit
from shop.personal_data import mask_name
from stock.models import Lot, LotStatus
from stock.services import block_lot, receive_stock
from tests.factories import NOW, make_household, make_product, make_user
from tests.page_language import page_text_nodes
from tests.stations.factories import make_order
from tests.stations.refund_setup import delivered_and_asked, return_movements

TODAY = date(2026, 11, 28)


def _lot(db, product) -> Lot:
    return db.session.scalar(sa.select(Lot).where(Lot.product_id == product.id).order_by(Lot.id))


def test_trace_page_shows_origin_dates_station_and_certification(db, world, client, now):
    product = world.a.product
    product.approved_at = NOW
    producer = Producer(name="A村土鸡蛋专业合作社", kind="cooperative", village_id=world.a.village.id)
    db.session.add(producer)
    db.session.flush()
    movement = receive_stock(
        product.stock,
        6,
        actor=world.a.operator,
        now=now,
        harvest_date=TODAY - timedelta(days=2),
        best_before_date=TODAY + timedelta(days=28),
        producer_id=producer.id,
    )
    code = db.session.get(Lot, movement.lot_id).code
    page = client.get(f"/trace/{code}")
    assert page.status_code == 200
    text = page.get_data(as_text=True)
    for fact in (
        product.name,
        world.a.village.name,
        world.a.village.township.name,
        "A村土鸡蛋专业合作社",
        "2026-11-26",
        "2026-12-26",
        world.a.station.name,
        world.a.station.code,
        product.trace_code,
        f"南扶认〔2026〕{product.id:05d}号",
        "本商品结对帮扶 2 户脱贫户",
    ):
        assert fact in text, fact
    assert "已召回" not in text


def test_a_lot_from_a_household_reads_as_one_household_of_the_village(db, world, client, now):
    movement = receive_stock(world.a.product.stock, 3, actor=world.a.operator, now=now, from_household_id=world.a.h1.id)
    text = client.get(f"/trace/{db.session.get(Lot, movement.lot_id).code}").get_data(as_text=True)
    assert "本村 1 户脱贫户" in text
    assert world.a.h1.head_name not in text and mask_name(world.a.h1.head_name) not in text


def test_no_trace_page_shows_any_households_personal_data(db, world, client, now):
    """Every lot, from every household (and a household-run producer named after one), checked
    against every household's name, ID number, registry number and phone."""
    extra = [
        make_household(village=world.a.village, head_name=name, id_number=idn, phone=phone)
        for name, idn, phone in (
            ("欧阳秀英", "36012119750304009X", "13607091234"),
            ("王五", "360121198812120012", "15979001122"),
        )
    ]
    db.session.add(Producer(name=f"{extra[0].head_name}家庭农场", kind="household", village_id=world.a.village.id))
    db.session.flush()
    household_producer = db.session.scalar(sa.select(Producer).where(Producer.kind == "household"))
    # papers on file (#23): a 合格证 is issued by its producer, here a household named after its head
    from tests.factories import make_document

    for product, household in ((world.a.product, extra[0]), (world.b.product, world.b.h1)):
        make_document(product, "compliance_certificate", issuer=household.head_name, number="HGZ-2026-77")
        make_document(product, "test_report", issuer="南昌县农产品质量安全检测站", number="NCJC-2026-0001")
    for household in [world.a.h1, world.a.h2, world.b.h1, world.b.h2, *extra]:
        product = world.a.product if household.village_id == world.a.village.id else world.b.product
        receive_stock(
            product.stock,
            2,
            actor=None,
            now=now,
            harvest_date=TODAY,
            from_household_id=household.id,
            producer_id=household_producer.id if household in extra else None,
        )
    households = db.session.scalars(sa.select(Household)).all()
    secrets = set()
    for h in households:
        for value in (h.head_name, h.id_number, h.phone, h.registry_no):
            if value:
                secrets.add(value)
        secrets.add(mask_name(h.head_name))
    secrets |= {f"{extra[0].head_name}家庭农场"}
    lots = db.session.scalars(sa.select(Lot)).all()
    assert len(lots) >= 8
    for lot in lots:
        text = client.get(f"/trace/{lot.code}").get_data(as_text=True)
        assert "HGZ-2026-77" in text and "南昌县农产品质量安全检测站" in text  # the papers are shown
        leaked = [s for s in secrets if s in text]
        assert leaked == [], (lot.code, leaked)
        # phone and ID numbers in any spacing
        digits = re.sub(r"\D", "", text)
        for h in households:
            for number in (h.phone, h.id_number):
                if number:
                    assert re.sub(r"\D", "", number) not in digits, (lot.code, number)


@pytest.mark.parametrize("code", ["LAAAAAAAAAAA", "laaaaaaaaaaa", "x", "L" + "9" * 40, "%E4%B8%AD", "L' OR 1=1 --"])
def test_an_unknown_code_is_the_same_plain_404(db, world, client, code):
    existing = _lot(db, world.a.product).code
    baseline = client.get("/trace/LZZZZZZZZZZZ")
    response = client.get(f"/trace/{code}")
    assert response.status_code == 404 == baseline.status_code

    def plain(r):  # the page names its own path (the language switch's `next`): nothing else differs
        return re.sub(r"trace(/|%2F)[^\"<\s]*\"", 'trace/X"', r.get_data(as_text=True))

    assert plain(response) == plain(baseline)
    assert existing not in response.get_data(as_text=True)
    assert response.headers.get("Cache-Control") == baseline.headers.get("Cache-Control")


def test_a_code_is_read_in_any_case(db, world, client):
    code = _lot(db, world.a.product).code
    assert client.get(f"/trace/{code.lower()}", follow_redirects=True).status_code == 200


def test_trace_page_is_cached_and_a_recall_shows_at_once(db, world, client, cache_on, now):
    lot = _lot(db, world.a.product)
    commit()
    url = f"/trace/{lot.code}"
    first = client.get(url)
    assert first.status_code == 200 and "public" in first.headers["Cache-Control"]
    assert client.get(url, headers={"If-None-Match": first.headers["ETag"]}).status_code == 304
    block_lot(lot, LotStatus.RECALLED, now=now, actor=world.admin, reason="抽检不合格")
    commit()
    text = client.get(url).get_data(as_text=True)
    assert "本批次已召回" in text and "抽检不合格" in text


def test_an_expired_lot_says_so(db, client):
    product = make_product(stock=0)
    from tests.factories import make_lot

    lot = make_lot(product.stock, 2, best_before=TODAY - timedelta(days=3))
    assert "本批次已过保质期" in client.get(f"/trace/{lot.code}").get_data(as_text=True)


def test_the_packing_slip_has_a_trace_qr_code_per_lot_of_each_line(db, world, client, auth, app):
    product = world.a.product
    second = receive_stock(product.stock, 5, actor=None, now=NOW, best_before_date=TODAY + timedelta(days=1))
    order = make_order([(product, 7)], buyer=make_user())  # 5 from the dated lot, 2 from the first
    shipment = order.shipments[0]
    auth.login(world.a.operator)
    slip = client.get(f"/station/shipments/{shipment.code}/slip").get_data(as_text=True)
    codes = [lot.code for lot in db.session.scalars(sa.select(Lot).where(Lot.product_id == product.id))]
    assert db.session.get(Lot, second.lot_id).code in codes
    for code in codes:
        assert code in slip
    assert slip.count("<svg") == 1 + len(codes)  # the order's code, then one per lot
    page = client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True)
    assert all(code in page for code in codes)
    api = client.get(f"/api/v1/stations/{world.a.station.id}/shipments")
    item = next(s for s in api.json["items"] if s["id"] == shipment.code)["items"][0]
    assert sorted(item["lots"]) == sorted(codes)


def test_the_trace_page_lists_the_approved_papers_valid_today(db, world, client):
    from datetime import date as _date

    from shop.timeutil import local_date, now_utc
    from tests.factories import make_document

    today = local_date(now_utc())
    product = world.a.product
    make_document(
        product,
        "production_licence",
        number="SC10336012100001",
        issuer="南昌县市场监督管理局",
        valid_from=_date(2025, 1, 1),
        valid_until=today + timedelta(days=30),
    )
    make_document(product, "test_report", number="JC-PENDING", status="pending")
    make_document(product, "test_report", number="JC-REJECTED", status="rejected")
    make_document(
        product, "test_report", number="JC-OLD", valid_from=_date(2024, 1, 1), valid_until=today - timedelta(days=1)
    )
    text = client.get(f"/trace/{_lot(db, product).code}").get_data(as_text=True)
    assert "食品安全证件" in text and "食品生产许可证（SC）" in text and "SC10336012100001" in text
    assert "南昌县市场监督管理局" in text and (today + timedelta(days=30)).isoformat() in text
    for hidden in ("JC-PENDING", "JC-REJECTED", "JC-OLD"):
        assert hidden not in text


def test_the_parcel_label_has_a_trace_qr_code_per_lot_separate_from_the_slip(db, world, client, auth, app):
    from shop.qr import qr_svg

    product = world.a.product
    second = receive_stock(product.stock, 5, actor=None, now=NOW, best_before_date=TODAY + timedelta(days=1))
    order = make_order([(product, 7)], buyer=make_user())
    shipment = order.shipments[0]
    auth.login(world.a.operator)
    label = client.get(f"/station/shipments/{shipment.code}/label")
    assert label.status_code == 200
    text = label.get_data(as_text=True)
    codes = [lot.code for lot in db.session.scalars(sa.select(Lot).where(Lot.product_id == product.id))]
    assert db.session.get(Lot, second.lot_id).code in codes
    for code in codes:
        url = f"http://shop.test/trace/{code}"  # SITE_URL: the address a phone can open
        assert str(qr_svg(url)) in text and url in text
    assert "包裹面单" in text and "装箱单" not in text and order.ship_name in text
    assert "data-print" in text and "<script>" not in text and "js/print.js" in text  # prints under the CSP
    assert "onclick" not in text and "<style" not in text
    page = client.get(f"/station/shipments/{shipment.code}").get_data(as_text=True)
    assert f"/station/shipments/{shipment.code}/label" in page
    auth.logout()
    auth.login(world.b.operator)
    assert client.get(f"/station/shipments/{shipment.code}/label").status_code == 404


@pytest.mark.parametrize("recalled", [False, True], ids=["active", "recalled"])
def test_goods_returned_into_the_lot_change_nothing_its_trace_page_reads(db, world, client, auth, app, now, recalled):
    """The trace page says nothing of returns (docs/traceability.md, "Returns"): a count of units
    returned into the lot would not say whether the scanned parcel's unit was one of them — it counts
    returns made after that parcel left too — and could read as a fault the lot does not have. It shows
    no figure of the lot's units either, so a return leaves every word of it as it was, recalled or not,
    and names no buyer, order or reason."""
    order, req = delivered_and_asked(world, now, quantity=3)
    lot = _lot(db, world.a.product)
    if recalled:
        block_lot(lot, LotStatus.RECALLED, now=now, actor=world.admin, reason="抽检不合格")
        commit()
    url = f"/trace/{lot.code}"
    before = app.test_client().get(url)
    assert before.status_code == 200
    auth.login(world.a.operator)
    approved = client.post(f"/refund-requests/{req.id}/approve", data={"confirm": "1", "goods": "restocked"})
    assert approved.status_code == 303
    assert [(m.lot_id, m.quantity) for m in return_movements(db, req.id)] == [(lot.id, 3)]  # back into this lot
    after = app.test_client().get(url)
    assert after.status_code == 200
    text = after.get_data(as_text=True)
    assert page_text_nodes(text) == page_text_nodes(before.get_data(as_text=True))
    assert ("本批次已召回" in text) is recalled
    for private in (order.code, world.buyer.email, world.buyer.name, "坏了", "退货", "退回"):
        assert private not in text, private


def test_an_unknown_code_says_where_the_code_is_printed_and_offers_to_type_it_again(db, world, client):
    """It said only 页面不存在 (page not found), with a way home: a buyer who mistyped a code from the label
    had nowhere to try again. The page is the same for every unknown code: the code typed is not shown."""
    response = client.get("/trace/LQQQQQQQQQQQ")
    html = response.get_data(as_text=True)
    assert response.status_code == 404 and "没有找到这个溯源码" in html and "以 L 开头，共 12 位" in html
    section = html[html.index('<section class="trace-page trace-unknown">') :]
    section = section[: section.index("</section>")]
    assert 'action="/trace"' in section and 'name="code"' in section and "LQQQQQQQQQQQ" not in section


def test_a_code_typed_into_the_box_opens_its_trace_page_as_issued(db, world, client):
    code = _lot(db, world.a.product).code
    wide = "".join(chr(ord(c) + 0xFEE0) for c in code.lower())
    for typed in (code, code.lower(), wide, f" {code[:6]} {code[6:]} "):
        response = client.get("/trace", query_string={"code": typed})
        assert response.status_code == 302 and response.headers["Location"].endswith(f"/trace/{code}"), typed
    assert client.get("/trace", query_string={"code": ""}).status_code == 404
    assert client.get("/trace", query_string={"code": "L" * 90}).status_code == 404
    unknown = client.get("/trace", query_string={"code": "lqqqqqqqqqqq"}, follow_redirects=True)
    assert unknown.status_code == 404 and "没有找到这个溯源码" in unknown.get_data(as_text=True)


def test_a_trace_address_typed_in_lower_case_or_full_width_moves_to_the_lot_s_own(db, world, client):
    """One address per lot (the one printed on its label): /trace/<code> typed in lower case or full width
    answers with a permanent redirect to it, not the same page at a second address."""
    code = _lot(db, world.a.product).code
    wide = "".join(chr(ord(c) + 0xFEE0) for c in code)
    for typed in (code.lower(), wide):
        response = client.get(f"/trace/{typed}")
        assert response.status_code == 301 and response.headers["Location"].endswith(f"/trace/{code}"), typed
    assert client.get(f"/trace/{code}").status_code == 200


def test_the_trace_page_s_origin_leads_to_the_village_s_page(db, world, client, now):
    """A buyer who scanned the parcel reads 产地 and taps it to the village's own page (its story, station
    and products), as the product page's 产地 does; it was plain text, a dead end."""
    movement = receive_stock(world.a.product.stock, 3, actor=world.a.operator, now=now)
    page = client.get(f"/trace/{db.session.get(Lot, movement.lot_id).code}").get_data(as_text=True)
    village_url = f"/villages/{world.a.village.slug}"
    assert f'href="{village_url}"' in page
    assert world.a.village.name in client.get(village_url).get_data(as_text=True)


def test_the_certification_number_s_year_is_the_county_s_as_its_date(db, world, client, now):
    """Approved at 01:00 on 1 January in Nanchang (17:00 UTC the day before): 〔2027〕 beside 2027-01-01,
    not 〔2026〕 (the UTC year) beside it."""
    world.a.product.approved_at = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)
    movement = receive_stock(world.a.product.stock, 3, actor=world.a.operator, now=now)
    page = client.get(f"/trace/{db.session.get(Lot, movement.lot_id).code}").get_data(as_text=True)
    assert f"南扶认〔2027〕{world.a.product.id:05d}号 · 2027-01-01" in page
