"""Expensive uploads (issue #17.10): a photo's size is checked from its header before anything is decoded,
and accepted photos are decoded in bounded memory (JPEG scaled down while decoding)."""

from __future__ import annotations

import io
import os
import struct
import time
import zlib

import sqlalchemy as sa
from PIL import Image

from catalog.images import check_image
from catalog.models import Product, ProductImage
from stock.models import StockMovement
from tests.stations.factories import image_bytes
from tests.stations.product_form import new_product_form


def png_header_only(width: int, height: int) -> bytes:
    """A few hundred bytes claiming width×height pixels: the header of a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", ihdr)
        + chunk(b"IDAT", zlib.compress(b"\x00" * 4096))
        + chunk(b"IEND", b"")
    )


def _counts(db):
    return tuple(
        db.session.scalar(sa.select(sa.func.count()).select_from(m)) for m in (Product, ProductImage, StockMovement)
    )


def _files(app) -> list[str]:
    root = app.config["UPLOAD_DIR"]
    return sorted(os.path.join(d, f) for d, _dirs, files in os.walk(root) for f in files) if os.path.isdir(root) else []


def test_huge_dimension_png_is_refused_quickly_with_a_clear_error_and_nothing_stored(db, world, client, auth, app):
    auth.login(world.a.operator)
    before, files = _counts(db), _files(app)
    for width, height in ((6300, 6300), (40_000, 40_000), (2**31 - 1, 2**31 - 1)):
        bomb = png_header_only(width, height)
        assert len(bomb) < 500
        started = time.perf_counter()
        response = client.post(
            "/station/products/new",
            data=new_product_form(world, image=(io.BytesIO(bomb), "p.png")),
            content_type="multipart/form-data",
        )
        elapsed = time.perf_counter() - started
        html = response.get_data(as_text=True)
        assert response.status_code == 422, (width, html[-500:])
        assert "照片尺寸过大" in html and "百万像素" in html
        assert width > 10_000 or f"{width}×{height}" in html
        assert elapsed < 2, elapsed  # nothing decoded (the 6300×6300 one took seconds and 500 MB before)
    assert _counts(db) == before and _files(app) == files


def test_pixel_budgets_come_from_the_configuration(app, db, monkeypatch):
    monkeypatch.setitem(app.config, "IMAGE_MAX_PIXELS_FULL_DECODE", 100 * 100)
    monkeypatch.setitem(app.config, "IMAGE_MAX_PIXELS", 200 * 200)
    with app.test_request_context():
        assert check_image(image_bytes("PNG", (100, 100))).source_format == "PNG"
        for data in (image_bytes("PNG", (101, 100)), image_bytes("JPEG", (201, 200))):
            try:
                check_image(data)
            except Exception as exc:  # noqa: BLE001 — the kind is asserted below
                assert getattr(exc, "code", "") in ("image_too_many_pixels", "image_dimensions_too_large")
            else:
                raise AssertionError("accepted an image over the budget")
        assert check_image(image_bytes("JPEG", (200, 200))).source_format == "JPEG"
    assert Image.MAX_IMAGE_PIXELS == 48_000_000  # set from IMAGE_MAX_PIXELS when the app was created


def test_large_jpeg_is_decoded_scaled_down_and_stored_at_1200px(db, world, client, auth, app):
    data = image_bytes("JPEG", (4800, 3600))
    with app.test_request_context():
        checked = check_image(data)
        assert checked.image.size == (2400, 1800)  # decoded at 1/2 scale: a quarter of the memory
    auth.login(world.a.operator)
    response = client.post(
        "/station/products/new",
        data=new_product_form(world, image=(io.BytesIO(data), "p.jpg")),
        content_type="multipart/form-data",
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)[-400:]
    image = db.session.scalar(sa.select(ProductImage).order_by(ProductImage.id.desc()))
    with Image.open(os.path.join(app.config["UPLOAD_DIR"], image.path)) as full:
        assert full.size == (1200, 900)
    with Image.open(os.path.join(app.config["UPLOAD_DIR"], image.thumb_path)) as thumb:
        assert thumb.size == (400, 300)


def test_a_phones_heic_photo_is_taken_upright_and_stored_as_a_1200px_jpeg(db, world, client, auth, app):
    """What an iPhone or an Android phone saves (.heic), sent as taken by a browser that cannot draw it
    (Chrome on Android): read, turned upright by its rotation (EXIF orientation 6: taken holding the phone
    upright), stored as JPEG like any photo; nothing of its EXIF kept."""
    data = image_bytes("HEIF", (4032, 3024), orientation=6)
    auth.login(world.a.operator)
    response = client.post(
        "/station/products/new",
        data=new_product_form(world, image=(io.BytesIO(data), "IMG_0001.HEIC")),
        content_type="multipart/form-data",
    )
    assert response.status_code in (302, 303), response.get_data(as_text=True)[-400:]
    image = db.session.scalar(sa.select(ProductImage).order_by(ProductImage.id.desc()))
    with Image.open(os.path.join(app.config["UPLOAD_DIR"], image.path)) as full:
        assert (full.format, full.size) == ("JPEG", (900, 1200))  # upright: portrait
        assert (
            full.getpixel((full.width // 2, 10))[2] > 200
            and full.getpixel((full.width // 2, full.height - 10))[2] < 100
        )
        assert not full.getexif()


def test_a_heic_photo_over_the_full_decode_budget_is_refused_before_decoding(db, world, client, auth, app):
    data = image_bytes("HEIF", (5000, 4000))  # 20 Mpx: decoded at full size, over the 16 Mpx budget
    auth.login(world.a.operator)
    before, files = _counts(db), _files(app)
    response = client.post(
        "/station/products/new",
        data=new_product_form(world, image=(io.BytesIO(data), "IMG_0002.HEIC")),
        content_type="multipart/form-data",
    )
    assert response.status_code == 422
    assert "5000×4000" in response.get_data(as_text=True)
    assert _counts(db) == before and _files(app) == files
