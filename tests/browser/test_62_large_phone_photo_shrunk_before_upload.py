"""Journey: a buyer reviews with a photo straight off a phone camera (6000×4000, about 10 MB, taken with the
phone turned: EXIF orientation 6). The page shrinks it before sending (static/js/photo_shrink.js): the review
goes up as a few hundred KB and the stored photo is upright, within 1200 px. Without the script the server
refused it (422 照片超过 5 MB, or the 413 page over 8 MB).

A file the page cannot shrink (bytes that are no picture, named .jpg) is judged as before: over 5 MB the page
says so beside the field and sends nothing (no 413 page); under it the form is sent and the server's own
message comes back."""

from __future__ import annotations

import io
import os
import re
import uuid

import sqlalchemy as sa
from PIL import Image
from playwright.sync_api import expect

from tests.browser.journeys import VILLAGE_A, deliver_by_api, demo_product, new_account, place_order_by_api

FULL_PX = 1200  # catalog.images.FULL_PX: the long edge the server keeps
MB = 1024 * 1024


def _camera_photo() -> bytes:
    """A 6000×4000 JPEG of about 10 MB (noise compresses badly, as a camera's detail does), stored sideways
    with EXIF orientation 6 (turn 90° clockwise to show it): upright it is 4000×6000 with a red block at
    its top right (the stored pixels' top left)."""
    width, height = 6000, 4000
    colours = Image.frombytes("RGB", (60, 40), os.urandom(60 * 40 * 3)).resize((width, height))
    noise = Image.frombytes("L", (width, height), os.urandom(width * height))
    picture = Image.blend(colours, Image.merge("RGB", (noise, noise, noise)), 0.22)
    picture.paste((230, 0, 0), (0, 0, 1200, 1200))
    exif = Image.Exif()
    exif[0x0112] = 6
    buffer = io.BytesIO()
    picture.save(buffer, "JPEG", quality=88, exif=exif)
    data = buffer.getvalue()
    assert 8 * MB < len(data) < 14 * MB, len(data)  # over MAX_CONTENT_LENGTH: the 413 page without the script
    return data


def _review_form(open_page, live_server, viewport, prefix: str):
    """A new buyer whose pickles were delivered, signed in, on the review form of that line."""
    a = demo_product(live_server, VILLAGE_A)
    email = new_account(live_server, prefix, viewport)
    code = place_order_by_api(live_server, email, [a["id"]], payment_method="cod")
    deliver_by_api(live_server, code)
    buyer = open_page("buyer")
    buyer.login(email)
    buyer.goto(f"/orders/{code}")
    buyer.submit_and_wait(
        lambda: buyer.page.locator("main").get_by_role("link", name=buyer.t("评价"), exact=True).first.click()
    )
    buyer.page.get_by_label(buyer.tn("%(num)s 星", 5)).check()
    return buyer, a, email


def _stored_review_photos(live_server, email: str) -> list[tuple[int, int, str]]:
    from reviews.models import Review, ReviewPhoto
    from shop.auth.models import User

    with live_server.app_context() as db:
        rows = db.session.execute(
            sa.select(ReviewPhoto.width, ReviewPhoto.height, ReviewPhoto.path)
            .join(Review, ReviewPhoto.review_id == Review.id)
            .join(User, Review.user_id == User.id)
            .where(User.email == email)
        ).all()
    return [(r[0], r[1], os.path.join(live_server.app.config["UPLOAD_DIR"], r[2])) for r in rows]


def test_a_ten_megabyte_camera_photo_goes_up_small_and_upright(open_page, live_server, viewport):
    buyer, product, email = _review_form(open_page, live_server, viewport, "bigphoto")
    page = buyer.page
    words = f"腌菜很香 {uuid.uuid4().hex[:6]}"
    page.get_by_label(buyer.t("评价内容")).fill(words)
    photo = _camera_photo()
    page.get_by_label(buyer.t("照片")).set_input_files(
        files=[{"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    # shrunk on the phone before anything is sent: the field says so, and holds a small JPEG now
    note = page.locator("#photos-photo-note")
    expect(note).to_contain_text(buyer.t("照片已在手机上缩小，上传更快："), timeout=20_000)
    chosen = page.get_by_label(buyer.t("照片")).evaluate(
        "input => Array.from(input.files, f => [f.name, f.type, f.size])"
    )
    assert len(chosen) == 1 and chosen[0][:2] == ["IMG_2041.jpg", "image/jpeg"], chosen
    assert chosen[0][2] < 1.5 * MB, chosen
    buyer.step("photo shrunk on the phone")

    # chosen again and 发布评价 tapped at once, while it is being shrunk: the form waits for the small photo
    # (and is sent once: data-submit-once hears of the submission only when it goes)
    page.get_by_label(buyer.t("照片")).set_input_files(
        files=[{"name": "IMG_2041.jpg", "mimeType": "image/jpeg", "buffer": photo}]
    )
    with page.expect_request(lambda r: r.method == "POST" and r.url.endswith("/review")) as sent:
        buyer.submit_and_wait(lambda: page.get_by_role("button", name=buyer.t("发布评价")).click())
    expect(page.locator("main")).to_contain_text(buyer.tn("已评价 %(num)s 星", 5))
    body = int(sent.value.header_value("content-length") or 0)
    assert 0 < body < 2 * MB, body  # ~10 MB chosen, a fraction of it sent
    buyer.step("reviewed")

    stored = _stored_review_photos(live_server, email)
    assert len(stored) == 1, stored
    width, height, path = stored[0]
    assert (width, height) == (800, 1200), stored[0]  # portrait: the EXIF turn was applied, once
    with Image.open(path) as kept:
        assert kept.size == (800, 1200) and kept.format == "JPEG"
        red, green, _blue = kept.convert("RGB").getpixel((kept.width - 40, 40))  # the red block, now top right
        assert red > 150 and green < 90, (red, green)
        assert os.path.getsize(path) < 5 * MB

    buyer.goto(f"/products/{product['id']}-{product['slug']}")
    review = page.locator("#reviews .review").filter(has_text=words)
    expect(review.get_by_role("img", name=re.compile(re.escape(buyer.t_before("买家照片 %(n)s"))))).to_have_count(1)
    buyer.step("product page shows the photo")


def test_a_file_the_page_cannot_shrink_is_judged_as_before(open_page, live_server, viewport):
    buyer, _product, _email = _review_form(open_page, live_server, viewport, "notphoto")
    page = buyer.page
    page.get_by_label(buyer.t("评价内容")).fill("腌菜很下饭")
    field = page.get_by_label(buyer.t("照片"))
    submit = page.get_by_role("button", name=buyer.t("发布评价"))

    # 6 MB that no browser can draw: said beside the field at once, and the form is not sent (no 413, no 422)
    field.set_input_files(files=[{"name": "IMG_2042.jpg", "mimeType": "image/jpeg", "buffer": os.urandom(6 * MB)}])
    too_large = buyer.t("照片超过 %(mb)s MB，无法上传：请换一张较小的照片。", mb=5)
    note = page.locator("#photos-photo-note")
    expect(note).to_have_text(too_large)
    expect(note).to_have_attribute("role", "alert")
    expect(field).to_have_attribute("aria-invalid", "true")
    posted: list[str] = []
    page.on("request", lambda r: posted.append(r.url) if r.method == "POST" else None)
    url = page.url
    submit.click()
    page.wait_for_timeout(500)
    assert posted == [] and page.url == url, posted
    expect(note).to_have_text(too_large)
    expect(field).to_be_focused()
    buyer.step("too large: said beside the field")

    # a small file that is no picture either: sent as chosen, and the server's message comes back
    field.set_input_files(files=[{"name": "IMG_2043.jpg", "mimeType": "image/jpeg", "buffer": os.urandom(100_000)}])
    expect(note).to_have_count(0)
    with buyer.problems.allow(422, r"/review$"):
        buyer.submit_and_wait(lambda: submit.click())
    expect(page.locator("main")).to_contain_text(
        buyer.t("文件不是有效的图片：请换一张 JPEG、PNG、WebP、GIF 或 HEIC 照片")
    )
    buyer.step("the server's message")
