"""Assisted selling (代卖): products for a household wait for county approval; photos checked by content."""

from __future__ import annotations

import io
import os
import re

import pytest
import sqlalchemy as sa
from PIL import Image

from catalog.images import ImageRejected, check_image
from catalog.models import BenefitLink, Product, ProductImage
from stock.models import StockMovement
from stock.services import movements_total
from tests.stations.factories import image_bytes
from tests.stations.product_form import new_product_form, row_count


def test_operator_lists_a_product_for_a_household_pending_approval(db, world, client, auth, app):
    auth.login(world.a.operator)
    data = new_product_form(world, image=(io.BytesIO(image_bytes("JPEG", (2400, 1800))), "photo.jpg"))
    response = client.post("/station/products/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    product = db.session.scalar(sa.select(Product).where(Product.name == "三江腌菜"))
    assert product.approval_status == "pending" and not product.is_visible
    assert product.price_fen == 1250 and product.station_id == world.a.station.id
    assert product.listed_for_household_id == world.a.h1.id and product.village_id == world.a.village.id
    links = {
        link.household_id: link.weight
        for link in db.session.scalars(sa.select(BenefitLink).where(BenefitLink.product_id == product.id))
    }
    assert links == {world.a.h1.id: 3, world.a.h2.id: 1}
    assert product.stock.on_hand == 30 and movements_total(product.stock.id) == 30
    receipt = db.session.scalar(sa.select(StockMovement).where(StockMovement.stock_record_id == product.stock.id))
    assert (receipt.from_household_id, receipt.lot_note, str(receipt.harvest_date)) == (
        world.a.h1.id,
        "第一缸",
        "2026-11-20",
    )
    (image,) = product.images
    root = app.config["UPLOAD_DIR"]
    with Image.open(os.path.join(root, image.path)) as full, Image.open(os.path.join(root, image.thumb_path)) as thumb:
        assert full.format == "JPEG" and max(full.size) == 1200
        assert max(thumb.size) == 400
    listing = client.get("/station/products").get_data(as_text=True)
    assert "三江腌菜" in listing and "待认定" in listing
    assert client.get(f"/api/v1/products/{product.id}").status_code == 404  # not visible before approval


@pytest.mark.parametrize(
    "payload,name",
    [
        (b"%PDF-1.4 not an image at all", "photo.jpg"),
        (b"GIF89a" + b"\x00" * 50, "photo.gif"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'></svg>", "photo.png"),
    ],
)
def test_uploads_that_are_not_images_are_rejected_with_no_change(db, world, client, auth, payload, name):
    auth.login(world.a.operator)
    before = row_count(db, Product), row_count(db, ProductImage), row_count(db, StockMovement)
    response = client.post(
        "/station/products/new",
        data=new_product_form(world, image=(io.BytesIO(payload), name)),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "不是有效的图片" in response.get_data(as_text=True) or "只接受" in response.get_data(as_text=True)
    assert (row_count(db, Product), row_count(db, ProductImage), row_count(db, StockMovement)) == before


def test_too_large_upload_is_rejected_with_no_change(db, world, client, auth, app, monkeypatch):
    auth.login(world.a.operator)
    monkeypatch.setitem(app.config, "MAX_UPLOAD_BYTES", 2000)
    before = row_count(db, Product), row_count(db, ProductImage)
    big = image_bytes("PNG", (600, 600))
    big = big + b"\x00" * max(0, 2500 - len(big))
    response = client.post(
        "/station/products/new",
        data=new_product_form(world, image=(io.BytesIO(big), "p.png")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert (row_count(db, Product), row_count(db, ProductImage)) == before


def test_check_image_accepts_png_webp_and_refuses_tiny_or_truncated(app):
    with app.app_context():
        assert check_image(image_bytes("PNG")).source_format == "PNG"
        assert check_image(image_bytes("WEBP")).source_format == "WEBP"
        with pytest.raises(ImageRejected):
            check_image(image_bytes("PNG", (4, 4)))
        with pytest.raises(ImageRejected):
            check_image(image_bytes("JPEG")[:200])
        with pytest.raises(ImageRejected):
            check_image(b"")


def test_bad_price_and_foreign_household_are_form_errors(db, world, client, auth):
    auth.login(world.a.operator)
    before = row_count(db, Product)
    assert client.post("/station/products/new", data=new_product_form(world, price="12.345")).status_code == 422
    assert client.post("/station/products/new", data=new_product_form(world, price="-1")).status_code == 422
    assert (
        client.post("/station/products/new", data=new_product_form(world, household_id=str(world.b.h1.id))).status_code
        == 422
    )
    assert (
        client.post(
            "/station/products/new", data=new_product_form(world, **{f"weight_{world.a.h1.id}": "x"})
        ).status_code
        == 422
    )
    assert row_count(db, Product) == before
    page = client.get("/station/products/new").get_data(as_text=True)
    assert f'name="weight_{world.a.h1.id}"' in page and f'name="weight_{world.b.h1.id}"' not in page
    assert "A张三" not in page  # household names masked


@pytest.mark.parametrize("price", ["1e3", "1E2", "1_000", "+5", "NaN"])
def test_a_price_in_exponent_or_underscore_notation_is_refused_not_read_as_another_amount(
    db, world, client, auth, price
):
    """A price typed '1e3' listed the household's product at ¥1000.00 and '1_000' at ¥1000.00 (Python's number syntax,
    not a price a person types): the form says the amount is not one and nothing is created."""
    auth.login(world.a.operator)
    before = row_count(db, Product)
    response = client.post("/station/products/new", data=new_product_form(world, price=price))
    assert response.status_code == 422
    assert "请输入正确的金额" in response.get_data(as_text=True)
    assert row_count(db, Product) == before


def test_api_creates_a_pending_product_for_a_household(db, world, client, api_token):
    response = client.post(
        "/api/v1/products",
        headers=api_token(world.a.operator),
        json={
            "household_id": world.a.h2.id,
            "name": "无花果干",
            "category_id": world.category.id,
            "price_fen": 2800,
            "unit": "盒",
            "stock": 12,
            "households": [{"household_id": world.a.h2.id, "weight": 1}],
            "price": "0.01",  # unknown fields are ignored; the price is price_fen
        },
    )
    assert response.status_code == 201, response.json
    body = response.json
    assert body["approval_status"] == "pending" and body["station_id"] == world.a.station.id
    assert body["price_fen"] == 2800 and body["stock"] == 12 and body["household_id"] == world.a.h2.id
    assert (
        client.post(
            "/api/v1/products",
            headers=api_token(world.a.operator),
            json={
                "household_id": world.a.h2.id,
                "name": "x",
                "category_id": world.category.id,
                "price_fen": 0,
            },
        ).status_code
        == 422
    )


def test_operator_changes_price_and_unpublishes_by_form(db, world, client, auth):
    auth.login(world.a.operator)
    assert "A土鸡蛋" in client.get("/station/products").get_data(as_text=True)
    response = client.post(f"/station/products/{world.a.product.id}/edit", data={"price": "36.8", "is_published": "0"})
    assert response.status_code == 302
    db.session.expire_all()
    # approved: unpublished at once, the new price waits for the county (catalog.changes)
    from catalog.changes import pending_change

    assert (world.a.product.price_fen, world.a.product.is_published) == (3333, False)
    assert pending_change(world.a.product.id).price_fen == 3680
    client.post(f"/station/products/{world.a.product.id}/edit", data={"price": "abc", "is_published": "1"})
    db.session.expire_all()
    assert (world.a.product.price_fen, world.a.product.is_published) == (3333, False)
    assert pending_change(world.a.product.id).price_fen == 3680


def test_a_double_tap_on_submit_creates_one_product(db, world, client, auth):
    """#19.6: two identical POSTs of the same shown form (its once-token) create one product."""
    auth.login(world.a.operator)
    page = client.get("/station/products/new").get_data(as_text=True)
    token = re.search(r'name="form_token" type="hidden" value="([^"]+)"|name="form_token" value="([^"]+)"', page)
    assert token, "the form carries no once-token"
    token = token.group(1) or token.group(2)
    before = row_count(db, Product), row_count(db, StockMovement)
    first = client.post(
        "/station/products/new",
        data=new_product_form(world, form_token=token, image=(io.BytesIO(image_bytes("PNG")), "a.png")),
        content_type="multipart/form-data",
    )
    second = client.post(
        "/station/products/new",
        data=new_product_form(world, form_token=token, image=(io.BytesIO(image_bytes("PNG")), "a.png")),
        content_type="multipart/form-data",
    )
    # the second is told, as every create form tells it (shop.forms.create_once), and sent to the products
    assert first.status_code == 302 and second.status_code == 303
    assert second.headers["Location"] == first.headers["Location"]
    assert (row_count(db, Product), row_count(db, StockMovement)) == (before[0] + 1, before[1] + 1)
    said = client.get(second.headers["Location"]).get_data(as_text=True)
    assert '<div class="alert alert-info" role="status">此表单已提交过' in said
    # a form posted without its token creates nothing and says why
    data = new_product_form(world)
    del data["form_token"]
    response = client.post("/station/products/new", data=data, content_type="multipart/form-data")
    assert response.status_code == 422 and row_count(db, Product) == before[0] + 1
    # a fresh form (a new token) is a new product
    assert (
        client.post(
            "/station/products/new", data=new_product_form(world), content_type="multipart/form-data"
        ).status_code
        == 302
    )
    assert row_count(db, Product) == before[0] + 2


@pytest.mark.parametrize("variant", [False, True], ids=["product", "variant"])
@pytest.mark.parametrize("weight", ["0", "-5"])
def test_a_weight_of_zero_grams_or_less_is_refused_naming_the_field_and_saves_nothing(
    db, world, client, auth, variant, weight
):
    auth.login(world.a.operator)
    before = row_count(db, Product), row_count(db, StockMovement), row_count(db, BenefitLink)
    extra = {"variant_of": str(world.a.product.id), "variant_label": "礼盒"} if variant else {}
    response = client.post(
        "/station/products/new",
        data=new_product_form(world, weight_g=weight, **extra),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    page = response.get_data(as_text=True)
    assert "重量（克）：重量须为 1 到 1000000 之间的整数克数" in page  # the flash names the field
    field = page[page.index('for="weight_g"') :]
    assert field.index("重量须为 1 到 1000000 之间的整数克数") < field.index('for="initial_stock"')  # next to it
    english = client.post(
        "/station/products/new?lang=en",
        data=new_product_form(world, weight_g=weight, **extra),
        content_type="multipart/form-data",
    ).get_data(as_text=True)
    assert "Weight (g): Weight must be a whole number of grams from 1 to 1,000,000" in english
    assert (row_count(db, Product), row_count(db, StockMovement), row_count(db, BenefitLink)) == before


def test_api_refuses_a_weight_of_zero_grams_naming_the_field(db, world, client, api_token):
    before = row_count(db, Product)
    body = {"household_id": world.a.h2.id, "name": "无花果干", "category_id": world.category.id, "price_fen": 2800}
    for suffix, message in (("", "请求有误，请检查标出的项"), ("?lang=en", None)):
        response = client.post(
            "/api/v1/products" + suffix, headers=api_token(world.a.operator), json={**body, "weight_g": 0}
        )
        assert response.status_code == 422
        error = response.json["error"]
        assert error["code"] == "validation_error" and list(error["fields"]) == ["weight_g"]
        assert message is None or error["message"] == message
    assert row_count(db, Product) == before
    created = client.post("/api/v1/products", headers=api_token(world.a.operator), json={**body, "weight_g": 1})
    assert created.status_code == 201 and created.json["weight_g"] == 1


def test_api_operator_naming_another_station_is_403_and_lists_nothing(db, world, client, api_token):
    """Found by fuzzing with other users' ids: an operator's POST /products naming another station's id was
    silently created at its own station (201); it is refused, and its own station's id is taken."""
    before = row_count(db, Product)
    body = {"household_id": world.a.h2.id, "name": "无花果干", "category_id": world.category.id, "price_fen": 2800}
    headers = api_token(world.a.operator)
    response = client.post("/api/v1/products", headers=headers, json={**body, "station_id": world.b.station.id})
    assert response.status_code == 403 and response.json["error"]["code"] == "not_your_station"
    assert row_count(db, Product) == before
    response = client.post("/api/v1/products", headers=headers, json={**body, "station_id": world.a.station.id})
    assert response.status_code == 201 and response.json["station_id"] == world.a.station.id


def test_the_database_refuses_a_weight_of_zero_grams_too(db, world):
    product = world.a.product
    with pytest.raises(sa.exc.IntegrityError, match="weight_positive"):
        with db.session.begin_nested():
            product.weight_g = 0
            db.session.flush()
    db.session.refresh(product)
    product.weight_g = 1
    db.session.flush()
    assert db.session.scalar(sa.select(Product.weight_g).where(Product.id == product.id)) == 1


def _edit_shown(page: str, product_id: int) -> str:
    """The product's edit form's `shown` on 本站商品 (what the page showed of the product)."""
    form = page.split(f'action="/station/products/{product_id}/edit"', 1)[1]
    return form.split('name="shown" value="', 1)[1].split('"', 1)[0]


def test_a_product_form_from_a_page_drawn_before_another_change_is_refused_not_saved_over_it(db, world, client, auth):
    """Two operators have 本站商品 open, A土鸡蛋 at ¥33.33, on sale. The desk asks ¥40 (it waits for the county);
    the phone, still drawn at ¥33.33, takes it off sale — its form carries ¥33.33 back and withdrew the ¥40 asked.
    It is refused (409, naming the price and state now: ¥40.00 as the page shows it, the change waiting included),
    nothing changes, the typing is kept; saved again from the page it answers with, it goes through."""
    from catalog.changes import pending_change

    product = world.a.product
    auth.login(world.a.operator)
    desk, phone = (client.get("/station/products").get_data(as_text=True) for _ in range(2))
    shown = _edit_shown(phone, product.id)
    assert shown == _edit_shown(desk, product.id)
    edit = f"/station/products/{product.id}/edit"
    assert client.post(edit, data={"price": "40", "is_published": "1", "shown": shown}).status_code == 302
    stale = client.post(edit, data={"price": "33.33", "is_published": "0", "shown": shown})
    assert stale.status_code == 409
    page = stale.get_data(as_text=True)
    assert "「A土鸡蛋」在您打开这个页面后已被修改（价格 ¥40.00，上架）" in page
    assert 'value="33.33"' in page.split(f'action="{edit}"', 1)[1].split("</form>", 1)[0]  # the typing kept
    db.session.expire_all()
    assert (product.price_fen, product.is_published, pending_change(product.id).price_fen) == (3333, True, 4000)
    again = client.post(edit, data={"price": "40", "is_published": "0", "shown": _edit_shown(page, product.id)})
    assert again.status_code == 302
    db.session.expire_all()
    assert (product.is_published, pending_change(product.id).price_fen) == (False, 4000)


def test_a_product_form_nobody_changed_since_is_saved(db, world, client, auth):
    """The page's `shown` still what is stored (the same page saving twice in a row, after a redraw): saved."""
    from catalog.changes import pending_change

    product = world.a.product
    auth.login(world.a.operator)
    edit = f"/station/products/{product.id}/edit"
    shown = _edit_shown(client.get("/station/products").get_data(as_text=True), product.id)
    assert client.post(edit, data={"price": "35", "is_published": "1", "shown": shown}).status_code == 302
    shown = _edit_shown(client.get("/station/products").get_data(as_text=True), product.id)
    assert shown.startswith("3500:")  # the page shows the price waiting for the county
    assert client.post(edit, data={"price": "35", "is_published": "0", "shown": shown}).status_code == 302
    db.session.expire_all()
    assert (product.is_published, pending_change(product.id).price_fen) == (False, 3500)
