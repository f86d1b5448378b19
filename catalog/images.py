"""Product photos: checked by content, re-encoded, resized (1200px full, 400px thumbnail).

An upload is trusted by nothing it says about itself (file name, content type): Pillow must open
and verify it as a JPEG, PNG, WebP or GIF within `MAX_UPLOAD_BYTES` and a pixel budget. It is then
re-encoded as a fresh JPEG (which drops metadata and anything smuggled after the image data) into
`UPLOAD_DIR/products/<product id>/`. Used by assisted selling (stations) and the demo seeder.

Files are written before the transaction commits: if the commit fails the files are orphans, which
is harmless, whereas writing after commit could leave rows pointing at missing files.
"""
from __future__ import annotations

import io
import os
import secrets
from dataclasses import dataclass

from flask import current_app
from PIL import Image, ImageOps, UnidentifiedImageError

from shop.errors import ValidationError
from shop.extensions import db

ALLOWED_FORMATS = {"JPEG", "PNG", "WEBP", "GIF"}
FULL_PX = 1200
THUMB_PX = 400
MAX_PIXELS = 40_000_000  # a 6000×6000 phone photo is 36 Mpx; anything bigger is refused
MIN_PX = 16


class ImageRejected(ValidationError):
    code = "invalid_image"


@dataclass
class CheckedImage:
    """A verified upload, decoded and ready to be written."""

    image: Image.Image
    source_format: str


def _read(upload, max_bytes: int) -> bytes:
    if upload is None:
        raise ImageRejected("没有上传文件", fields={"image": "required"})
    if isinstance(upload, (bytes, bytearray)):
        data = bytes(upload)
    else:
        stream = getattr(upload, "stream", upload)
        data = stream.read(max_bytes + 1)
    if not data:
        raise ImageRejected("文件是空的", fields={"image": "empty"})
    if len(data) > max_bytes:
        raise ImageRejected(
            f"照片超过 {max_bytes // (1024 * 1024) or 1} MB",
            code="image_too_large",
            fields={"image": "too_large"},
        )
    return data


def check_image(upload, *, max_bytes: int | None = None) -> CheckedImage:
    """Verify an upload (bytes, a file object or a werkzeug FileStorage) by its content."""
    max_bytes = max_bytes or int(current_app.config.get("MAX_UPLOAD_BYTES", 5 * 1024 * 1024))
    data = _read(upload, max_bytes)
    try:
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            width, height = probe.size
            if fmt not in ALLOWED_FORMATS:
                raise ImageRejected("只接受 JPEG、PNG、WebP 或 GIF 照片", fields={"image": "type"})
            if width * height > MAX_PIXELS:
                raise ImageRejected("照片像素过多", fields={"image": "too_large"})
            if width < MIN_PX or height < MIN_PX:
                raise ImageRejected("照片太小", fields={"image": "too_small"})
            probe.verify()
        image = Image.open(io.BytesIO(data))
        image.load()
    except ImageRejected:
        raise
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError, Image.DecompressionBombError):
        raise ImageRejected("文件不是有效的图片", fields={"image": "type"}) from None
    return CheckedImage(image=image, source_format=fmt)


def _to_rgb(image: Image.Image) -> Image.Image:
    image = ImageOps.exif_transpose(image)
    if image.mode in ("RGBA", "LA", "P"):
        image = image.convert("RGBA")
        background = Image.new("RGB", image.size, (255, 255, 255))
        background.paste(image, mask=image.split()[-1])
        return background
    return image.convert("RGB")


def _resized(image: Image.Image, max_px: int) -> Image.Image:
    copy = image.copy()
    copy.thumbnail((max_px, max_px), Image.Resampling.LANCZOS)
    return copy


@dataclass(frozen=True)
class StoredImage:
    """A re-encoded photo and its thumbnail on disk (paths relative to UPLOAD_DIR)."""

    path: str
    thumb_path: str
    width: int
    height: int


def store_image_files(product_id: int, checked: CheckedImage) -> StoredImage:
    """Re-encode a checked photo of a product and write it and its thumbnail; no database row
    (`save_product_image` adds one; a photo awaiting re-certification keeps only the paths)."""
    rgb = _to_rgb(checked.image)
    full = _resized(rgb, FULL_PX)
    thumb = _resized(rgb, THUMB_PX)
    token = secrets.token_hex(8)
    rel_dir = f"products/{product_id}"
    rel_full = f"{rel_dir}/{token}.jpg"
    rel_thumb = f"{rel_dir}/{token}_t.jpg"
    root = current_app.config["UPLOAD_DIR"]
    os.makedirs(os.path.join(root, rel_dir), exist_ok=True)
    full.save(os.path.join(root, rel_full), "JPEG", quality=85, optimize=True)
    thumb.save(os.path.join(root, rel_thumb), "JPEG", quality=80, optimize=True)
    return StoredImage(path=rel_full, thumb_path=rel_thumb, width=full.width, height=full.height)


def save_product_image(product, upload, *, alt: str = "", position: int | None = None,
                       checked: CheckedImage | None = None):
    """Check (unless already `checked`), re-encode and store a photo; return the flushed ProductImage."""
    from catalog.models import ProductImage

    stored = store_image_files(product.id, checked or check_image(upload))
    if position is None:
        position = len(product.images)
    image = ProductImage(
        product_id=product.id,
        path=stored.path,
        thumb_path=stored.thumb_path,
        width=stored.width,
        height=stored.height,
        alt=(alt or product.name)[:120],
        position=position,
    )
    db.session.add(image)
    db.session.flush()
    return image
