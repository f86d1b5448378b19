"""Re-certification (#18.6): an operator's change to an approved product's price, name or unit waits
for the county; the shop keeps selling the approved version; approve applies, reject discards with a
reason; both audited. The API's PATCH follows the same rule."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from catalog.changes import approve_change, pending_change, reject_change, request_change
from catalog.models import ProductChange
from shop.audit import AuditEntry
from shop.db import commit
from shop.errors import Conflict, ValidationError
from shop.extensions import db
from stations.services.assisted import update_product
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.factories import NOW, make_household, make_product, make_station, make_user


def _operator_and_product(**kw):
    station = make_station()
    operator = make_user(role="operator", station=station)
    product = make_product(
        name="三江腌菜礼盒",
        price_fen=6800,
        station=station,
        unit="盒",
        households=[make_household(), make_household()],
        **kw,
    )
    return operator, product


def _audit_actions(product):
    return [
        a.action
        for a in db.session.scalars(
            sa.select(AuditEntry).where(AuditEntry.subject_id == product.id).order_by(AuditEntry.id)
        )
    ]


def test_repricing_68_to_999_keeps_68_on_sale_until_approved(client, db, now):
    operator, product = _operator_and_product()
    county = make_user(role="county")
    update_product(product, actor=operator, now=now, price_fen=99900)
    assert product.price_fen == 6800 and product.approval_status == "approved"
    change = pending_change(product.id)
    assert (change.price_fen, change.old_price_fen) == (99900, 6800)
    # the shop and the public API still sell at ¥68
    assert client.get(f"/api/v1/products/{product.id}").json["price_fen"] == 6800
    assert "¥68.00" in client.get(f"/products/{product.id}-{product.slug}").get_data(as_text=True)
    approve_change(change, actor=county, now=now)
    assert product.price_fen == 99900 and pending_change(product.id) is None
    assert client.get(f"/api/v1/products/{product.id}").json["price_fen"] == 99900
    assert "product.change.request" in _audit_actions(product) and "product.change.approve" in _audit_actions(product)


def test_a_rejected_change_is_discarded_with_its_reason(db, now):
    operator, product = _operator_and_product()
    county = make_user(role="county")
    update_product(product, actor=operator, now=now, name="三江腌菜礼盒（特级）", unit="箱")
    change = pending_change(product.id)
    with pytest.raises(ValidationError):
        reject_change(change, actor=county, now=now, reason=" ")
    reject_change(change, actor=county, now=now, reason="特级无依据")
    assert (product.name, product.unit, product.price_fen) == ("三江腌菜礼盒", "盒", 6800)
    assert change.status == "rejected" and change.decision_note == "特级无依据"
    assert "product.change.reject" in _audit_actions(product)
    with pytest.raises(Conflict):
        approve_change(change, actor=county, now=now)  # decided once


def test_requests_merge_into_one_pending_change_and_asking_back_withdraws(db, now):
    operator, product = _operator_and_product()
    request_change(product, actor=operator, now=now, price_fen=7000)
    request_change(product, actor=operator, now=now, unit="罐")
    [change] = db.session.scalars(sa.select(ProductChange)).all()
    assert (change.price_fen, change.unit, change.name) == (7000, "罐", None)
    request_change(product, actor=operator, now=now, price_fen=6800, unit="盒")  # back to the certified facts
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ProductChange)) == 0


def test_stock_and_publishing_still_change_at_once_and_unapproved_products_change_directly(db, now):
    operator, product = _operator_and_product()
    update_product(product, actor=operator, now=now, is_published=False, stock=3, reason="盘点")
    assert product.is_published is False and pending_change(product.id) is None
    _op, draft = _operator_and_product(approval_status="pending")
    update_product(draft, actor=operator, now=now, price_fen=7200)
    assert draft.price_fen == 7200 and pending_change(draft.id) is None


def test_api_patch_keeps_the_approved_price_and_returns_the_pending_change(client, db, api_token):
    operator, product = _operator_and_product()
    db.session.commit()
    headers = api_token(operator)
    r = client.patch(f"/api/v1/products/{product.id}", json={"price_fen": 99900, "name": "新名字"}, headers=headers)
    assert r.status_code == 200, r.json
    assert r.json["price_fen"] == 6800 and r.json["name"] == "三江腌菜礼盒"
    assert r.json["pending_change"]["price_fen"] == 99900 and r.json["pending_change"]["name"] == "新名字"
    assert client.get(f"/api/v1/products/{product.id}").json["price_fen"] == 6800
    spec = client.get("/api/v1/openapi.json").json
    assert "county" in spec["paths"]["/api/v1/products/{product_id}"]["patch"]["summary"]
    assert "pending_change" in str(spec["components"]) or "pending_change" in str(spec["paths"])


def test_county_page_shows_old_and_new_and_decides(client, db, auth, now):
    operator, product = _operator_and_product()
    update_product(product, actor=operator, now=now, price_fen=99900)
    change = pending_change(product.id)
    county = make_user(role="county")
    db.session.commit()
    auth.login(county)
    html = client.get("/county/approvals").get_data(as_text=True)
    assert f'id="change-{change.id}"' in html and "¥68.00" in html and "¥999.00" in html
    assert "权重" in html  # the linked households and their weights
    r = client.post(f"/county/approvals/changes/{change.id}/reject", data={"confirm": "1", "reason": ""})
    assert r.status_code == 302
    db.session.expire_all()
    assert db.session.get(ProductChange, change.id).status == "pending"  # a reason is required
    client.post(f"/county/approvals/changes/{change.id}/approve", data={"confirm": "1"})
    db.session.expire_all()
    assert db.session.get(ProductChange, change.id).status == "approved"
    assert db.session.get(type(product), product.id).price_fen == 99900


def test_the_operator_page_says_the_change_waits(client, db, auth):
    operator, product = _operator_and_product()
    db.session.commit()
    auth.login(operator)
    r = client.post(
        f"/station/products/{product.id}/edit", data={"price": "999.00", "is_published": "1"}, follow_redirects=True
    )
    assert "重新认定" in r.get_data(as_text=True)
    db.session.expire_all()
    assert db.session.get(type(product), product.id).price_fen == 6800


def test_the_product_list_shows_the_waiting_price_and_unlisting_keeps_it(client, db, auth):
    """Coming back to 本站商品 later, the operator sees the asked-for price waiting beside the one still
    sold, and the form holds the asked-for price: saving it to unlist the product keeps the request
    (the certified price typed back would withdraw it)."""
    import re

    operator, product = _operator_and_product()
    db.session.commit()
    auth.login(operator)
    client.post(f"/station/products/{product.id}/edit", data={"price": "999.00", "is_published": "1"})
    page = client.get("/station/products").get_data(as_text=True)
    assert "修改待重新认定" in page and "新价格 ¥999.00" in page
    shown = re.search(rf'id="price-{product.id}" name="price"[^>]*value="([^"]+)"', page)
    assert shown and shown.group(1) == "999.00", shown
    client.post(f"/station/products/{product.id}/edit", data={"price": shown.group(1), "is_published": "0"})
    db.session.expire_all()
    assert pending_change(product.id).price_fen == 99900
    assert db.session.get(type(product), product.id).price_fen == 6800
    english = client.get("/station/products?lang=en").get_data(as_text=True)
    assert "Change awaiting re-certification" in english and "new price ¥999.00" in english


def test_the_product_list_says_a_returned_change_and_why_until_another_is_asked(client, db, auth):
    """The county returns a new price with a reason: the operator's 本站商品 says the change was not
    certified, what was asked and why, and that the certified price is still sold (it said 已认定 only,
    as if nothing had been asked). Asking again shows the new request instead."""
    operator, product = _operator_and_product()
    county = make_user(role="county")
    db.session.commit()
    auth.login(operator)
    client.post(f"/station/products/{product.id}/edit", data={"price": "999.00", "is_published": "1"})
    auth.login(county)
    client.post(
        f"/county/approvals/changes/{pending_change(product.id).id}/reject",
        data={"reason": "涨价幅度过大，请附成本说明", "confirm": "1"},
    )
    auth.login(operator)
    page = client.get("/station/products").get_data(as_text=True)
    row = page[page.index(f'id="price-{product.id}"') - 3000 : page.index(f'id="price-{product.id}"')]
    assert "修改未通过" in row and "新价格 ¥999.00" in row
    assert "退回原因：涨价幅度过大，请附成本说明" in row and "商店继续按原认定的价格、名称和照片销售" in row
    english = client.get("/station/products?lang=en").get_data(as_text=True)
    assert "Change not certified" in english and "Reason for return: 涨价幅度过大，请附成本说明" in english
    client.post(f"/station/products/{product.id}/edit", data={"price": "75.00", "is_published": "1"})
    page = client.get("/station/products?lang=zh_CN").get_data(as_text=True)
    assert "修改待重新认定" in page and "新价格 ¥75.00" in page and "修改未通过" not in page


@requires_postgres
def test_two_officers_approving_at_once_apply_it_once(app, committed_db, now):
    operator, product = _operator_and_product()
    request_change(product, actor=operator, now=now, price_fen=7000)
    officers = [make_user(role="county") for _ in range(3)]
    commit()
    change_id, officer_ids = pending_change(product.id).id, [o.id for o in officers]
    from shop.auth.models import User

    def approve(officer_id) -> Loaded:
        return Loaded(
            lambda: (committed_db.session.get(ProductChange, change_id), committed_db.session.get(User, officer_id)),
            lambda loaded: approve_change(loaded[0], actor=loaded[1], now=now),
        )

    outcomes = at_once(app, [approve(i) for i in officer_ids], seconds=30).labels
    assert sorted(outcomes) == ["change_already_decided", "change_already_decided", "ok"]
    with app.app_context():
        approvals = committed_db.session.scalar(
            sa.select(sa.func.count()).select_from(AuditEntry).where(AuditEntry.action == "product.change.approve")
        )
        assert approvals == 1


def test_a_new_photo_of_an_approved_product_waits_and_the_old_one_is_shown(client, db, auth, now):
    import io

    from catalog.images import save_product_image
    from tests.stations.factories import image_bytes

    operator, product = _operator_and_product()
    old = save_product_image(product, io.BytesIO(image_bytes("PNG", color=(10, 200, 10))))
    db.session.commit()
    auth.login(operator)
    r = client.post(
        f"/station/products/{product.id}/photo",
        data={"image": (io.BytesIO(image_bytes("PNG")), "new.png")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "重新认定" in r.get_data(as_text=True)
    db.session.expire_all()
    product = db.session.get(type(product), product.id)
    assert [i.path for i in product.images] == [old.path]  # the shop still shows the certified photo
    change = pending_change(product.id)
    assert change.image_thumb_path and change.price_fen is None
    county = make_user(role="county")
    db.session.commit()
    auth.login(county)
    html = client.get("/county/approvals").get_data(as_text=True)
    assert change.image_thumb_path in html and old.thumb_path in html
    client.post(f"/county/approvals/changes/{change.id}/approve", data={"confirm": "1"})
    db.session.expire_all()
    product = db.session.get(type(product), product.id)
    assert [i.path for i in sorted(product.images, key=lambda i: i.position)] == [change.image_path, old.path]


def test_a_bad_photo_changes_nothing(client, db, auth):
    import io

    operator, product = _operator_and_product()
    db.session.commit()
    auth.login(operator)
    r = client.post(
        f"/station/products/{product.id}/photo",
        data={"image": (io.BytesIO(b"not an image"), "x.png")},
        content_type="multipart/form-data",
    )
    assert r.status_code == 302
    assert pending_change(product.id) is None


def test_the_county_decides_changes_through_the_api_audited_like_the_page(client, db, api_token):
    operator, product = _operator_and_product()
    county = make_user(role="county")
    update_product(product, actor=operator, now=NOW, price_fen=99900, unit="箱")
    change = pending_change(product.id)
    db.session.commit()  # error responses roll the session back: keep the fixture data
    headers = api_token(county)
    # only the county (and admins): an operator or a buyer is refused, anonymous must sign in
    for user, status in ((operator, 403), (make_user(), 403)):
        assert client.get("/api/v1/county/product-changes", headers=api_token(user)).status_code == status
        r = client.post(f"/api/v1/county/product-changes/{change.id}/approve", json={}, headers=api_token(user))
        assert r.status_code == status
    assert client.get("/api/v1/county/product-changes").status_code == 401
    [item] = client.get("/api/v1/county/product-changes", headers=headers).json["items"]
    assert item["id"] == change.id and item["product_id"] == product.id and item["status"] == "pending"
    assert item["old"] == {"name": "三江腌菜礼盒", "unit": "盒", "price_fen": 6800, "image_path": None}
    assert (item["new"]["price_fen"], item["new"]["unit"], item["new"]["name"]) == (99900, "箱", None)
    # a time as every answer of the API writes it (UTC, `Z`), and as the spec says (date-time)
    assert (item["requested_at"], item["decided_at"]) == (NOW.isoformat().replace("+00:00", "Z"), None)
    spec = client.get("/api/v1/openapi.json").json["components"]["schemas"]["ProductChangeOut"]["properties"]
    assert spec["requested_at"]["format"] == "date-time"
    # a rejection needs a reason: nothing changes without one
    for body in ({}, {"reason": ""}, {"reason": "   "}):
        r = client.post(f"/api/v1/county/product-changes/{change.id}/reject", json=body, headers=headers)
        assert r.status_code == 422, body
    assert client.post("/api/v1/county/product-changes/999999/approve", json={}, headers=headers).status_code == 404
    db.session.expire_all()
    assert pending_change(product.id).id == change.id and product.price_fen == 6800
    r = client.post(
        f"/api/v1/county/product-changes/{change.id}/reject", json={"reason": "涨价无依据"}, headers=headers
    )
    assert r.status_code == 200 and r.json["status"] == "rejected" and r.json["decision_note"] == "涨价无依据"
    db.session.expire_all()
    assert (product.price_fen, product.unit) == (6800, "盒")
    assert (
        client.post(f"/api/v1/county/product-changes/{change.id}/approve", json={}, headers=headers).status_code == 409
    )  # decided already
    # a new request, approved: the shop sells the new price; both decisions audited
    update_product(db.session.get(type(product), product.id), actor=operator, now=NOW, price_fen=7200)
    second = pending_change(product.id)
    db.session.commit()
    r = client.post(f"/api/v1/county/product-changes/{second.id}/approve", json={"note": "核实"}, headers=headers)
    assert r.status_code == 200 and r.json["status"] == "approved"
    assert client.get(f"/api/v1/products/{product.id}").json["price_fen"] == 7200
    actions = _audit_actions(product)
    assert "product.change.reject" in actions and "product.change.approve" in actions
    assert client.get("/api/v1/county/product-changes", headers=headers).json["items"] == []
    paths = client.get("/api/v1/openapi.json").json["paths"]
    for path in (
        "/api/v1/county/product-changes",
        "/api/v1/county/product-changes/{change_id}/approve",
        "/api/v1/county/product-changes/{change_id}/reject",
    ):
        assert path in paths


def test_a_returned_product_goes_back_to_the_county_when_the_station_fixes_it(client, db, auth):
    """The county returns a product with a reason (图片不清楚); the station changes its price or photo and the
    product is pending again, on the county's approvals page (it stayed 未通过 for good, nowhere to be
    seen by the county); publishing alone does not resubmit; the reason is kept in the audit log."""
    import io

    from catalog.models import ApprovalStatus
    from tests.stations.factories import image_bytes

    operator, product = _operator_and_product()
    product.approval_status, product.approval_note = ApprovalStatus.REJECTED, "图片不清楚"
    db.session.commit()
    auth.login(operator)
    client.post(f"/station/products/{product.id}/edit", data={"price": "68.00", "is_published": "0"})
    db.session.expire_all()
    assert db.session.get(type(product), product.id).approval_status == ApprovalStatus.REJECTED
    r = client.post(
        f"/station/products/{product.id}/photo",
        data={"image": (io.BytesIO(image_bytes("PNG")), "new.png")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "并重新提交县扶贫办认定" in r.get_data(as_text=True)
    db.session.expire_all()
    product = db.session.get(type(product), product.id)
    assert (product.approval_status, product.approval_note) == (ApprovalStatus.PENDING, "")
    entry = db.session.scalar(sa.select(AuditEntry).where(AuditEntry.action == "product.resubmit"))
    assert entry.subject_id == product.id and entry.detail == {"returned_for": "图片不清楚"}
    auth.logout()
    auth.login(make_user(role="county"))
    assert product.name in client.get("/county/approvals").get_data(as_text=True)


def test_a_new_price_resubmits_a_returned_product(db, now):
    from catalog.models import ApprovalStatus

    operator, product = _operator_and_product()
    product.approval_status, product.approval_note = ApprovalStatus.REJECTED, "价格偏高"
    update_product(product, actor=operator, now=now, price_fen=5800)
    assert (product.approval_status, product.price_fen) == (ApprovalStatus.PENDING, 5800)


def test_a_return_reason_over_255_characters_is_refused_not_cut(client, db, auth, api_token):
    """A reason of 256 characters typed on the county's approvals page used to be kept cut to 255 (the product
    and the change alike): refused now, before the confirmation step, with the limit named, and nothing
    decided; the API answers the same code. The form says the limit."""
    from catalog.models import Product

    operator, product = _operator_and_product()
    pending = make_product(name="新品待认定", station=product.station, approval_status="pending")
    county = make_user(role="county")
    update_product(product, actor=operator, now=NOW, price_fen=99900)
    change = pending_change(product.id)
    db.session.commit()
    headers = api_token(county)
    auth.login(county)
    page = client.get("/county/approvals").get_data(as_text=True)
    assert page.count('maxlength="255"') >= 2 and "最多 255 个字" in page
    long = "退" * 256
    for url in (f"/county/approvals/changes/{change.id}/reject", f"/county/approvals/{pending.id}/reject"):
        for data in ({"reason": long}, {"reason": long, "confirm": "1"}):
            r = client.post(url, data=data, follow_redirects=True)
            text = r.get_data(as_text=True)
            assert "最多 255 个字" in text and "确认退回" not in text, (url, data)
    db.session.expire_all()
    assert db.session.get(ProductChange, change.id).status == "pending"
    assert db.session.get(Product, pending.id).approval_status == "pending"
    for url in (
        f"/api/v1/county/product-changes/{change.id}/reject",
        f"/api/v1/county/products/{pending.id}/reject",
    ):
        r = client.post(url, json={"reason": long}, headers=headers)
        assert r.status_code == 422 and r.json["error"]["code"] == "decision_note_too_long", r.json
    # 255 characters are kept whole
    client.post(f"/county/approvals/changes/{change.id}/reject", data={"reason": "退" * 255, "confirm": "1"})
    db.session.expire_all()
    assert db.session.get(ProductChange, change.id).decision_note == "退" * 255
    english = client.get("/county/approvals?lang=en").get_data(as_text=True)
    assert "At most 255 characters" in english


def test_the_api_answer_says_the_change_the_county_returned_and_why(client, db, auth, api_token):
    operator, product = _operator_and_product()
    county = make_user(role="county")
    db.session.commit()
    headers = api_token(operator)
    r = client.patch(f"/api/v1/products/{product.id}", json={"price_fen": 99900}, headers=headers)
    assert r.json["returned_change"] is None and r.json["pending_change"]["price_fen"] == 99900
    auth.login(county)
    client.post(
        f"/county/approvals/changes/{pending_change(product.id).id}/reject",
        data={"reason": "涨价幅度过大", "confirm": "1"},
    )
    r = client.patch(f"/api/v1/products/{product.id}", json={"stock_delta": 1, "reason": "盘点"}, headers=headers)
    assert r.status_code == 200, r.json
    returned = r.json["returned_change"]
    assert returned["price_fen"] == 99900 and returned["reason"] == "涨价幅度过大" and returned["photo"] is False
    assert returned["requested_at"] and returned["decided_at"] and r.json["pending_change"] is None
    assert r.json["price_fen"] == 6800
    # asking another change: that one waits, the returned one is no longer said
    r = client.patch(f"/api/v1/products/{product.id}", json={"price_fen": 7500}, headers=headers)
    assert r.json["returned_change"] is None and r.json["pending_change"]["price_fen"] == 7500
    assert "returned_change" in str(client.get("/api/v1/openapi.json").json["components"])


def test_the_photo_inputs_accept_every_format_the_server_takes(client, db, auth):
    """本站商品's 更换照片 accepted image/jpeg and image/png only (a phone's picker greyed out WebP and GIF)
    and the new product form no GIF, though the hint says JPEG/PNG/WebP/GIF and the server takes them: a GIF
    sent as the new photo is taken (waiting for the county), and both inputs offer all four."""
    import io

    from tests.factories import make_village
    from tests.stations.factories import image_bytes

    operator, product = _operator_and_product()
    village = make_village()
    product.station.villages.append(village)
    make_household(village=village)  # the new product form is offered to a station serving households
    db.session.commit()
    auth.login(operator)
    accept = 'accept="image/jpeg,image/png,image/webp,image/gif,image/heic,image/heif"'
    for url in ("/station/products", "/station/products/new"):
        page = client.get(url).get_data(as_text=True)
        assert accept in page and "JPEG/PNG/WebP/GIF/HEIC" in page, url
    r = client.post(
        f"/station/products/{product.id}/photo",
        data={"image": (io.BytesIO(image_bytes("GIF")), "new.gif")},
        content_type="multipart/form-data",
        follow_redirects=True,
    )
    assert "重新认定" in r.get_data(as_text=True)
    assert pending_change(product.id).image_path
