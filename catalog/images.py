"""Product photos: checked by content, re-encoded, resized (1200px full, 400px thumbnail).

An upload is trusted by nothing it says about itself (file name, content type): Pillow must open
and verify it as a JPEG, PNG, WebP, GIF or HEIC/HEIF (a phone camera's own format, read through
pillow-heif's Pillow plugin) within `MAX_UPLOAD_BYTES` and a pixel budget. It is then
re-encoded as a fresh JPEG (which drops metadata and anything smuggled after the image data) into
`UPLOAD_DIR/products/<product id>/`. Used by assisted selling (stations) and the demo seeder.

Files are written before the transaction commits: if the commit fails the files are orphans, which
is harmless, whereas writing after commit could leave rows pointing at missing files.

Bounded memory and time (docs/uploads.md): the size is read from the header (`Image.open` decodes
nothing) and refused above `IMAGE_MAX_PIXELS` (JPEG, which Pillow can decode already scaled down with
`draft()`) or `IMAGE_MAX_PIXELS_FULL_DECODE` (PNG, WebP, GIF, HEIF: decoded at full size, 4 bytes a pixel)
before a pixel is decoded; an accepted image is decoded once, at the smallest JPEG scale still at least
`FULL_PX`, and shrunk in place (`thumbnail` with a reducing gap) before any colour conversion copies it.
`Image.MAX_IMAGE_PIXELS` is set from `IMAGE_MAX_PIXELS`, so no other Pillow use in the process decodes more.
"""

from __future__ import annotations

import io
import os
import secrets
from dataclasses import dataclass
from functools import cache

from flask import current_app
from flask_babel import gettext
from PIL import Image, ImageOps, UnidentifiedImageError

from catalog.models import ProductImage
from shop.errors import ValidationError
from shop.extensions import db
from shop.uploads import UploadCodes, max_upload_bytes, read_upload

#: The photo formats accepted (read from the file's content, never its name, by Pillow's format names),
#: with their media types. HEIF is what iPhones and many Android phones save (.heic): a browser that cannot
#: draw it (Chrome on Android) sends it as taken, and the server reads it (`_read_heif`).
IMAGE_TYPES = {
    "JPEG": ("image/jpeg",),
    "PNG": ("image/png",),
    "WEBP": ("image/webp",),
    "GIF": ("image/gif",),
    "HEIF": ("image/heic", "image/heif"),
}
ALLOWED_FORMATS = set(IMAGE_TYPES)
#: The `accept` attribute of every photo input (template global `image_accept`): the formats above, so a
#: phone's picker offers what the server takes, no less.
IMAGE_ACCEPT = ",".join(t for types in IMAGE_TYPES.values() for t in types)
FULL_PX = 1200
THUMB_PX = 400
#: Defaults of IMAGE_MAX_PIXELS / IMAGE_MAX_PIXELS_FULL_DECODE: a 48 Mpx phone camera's JPEG is
#: ~8000×6000, decoded at 1/4 scale (~12 MB); a 16 Mpx PNG is 64 MB decoded.
MAX_PIXELS = 48_000_000
MAX_PIXELS_FULL_DECODE = 16_000_000
MIN_PX = 16
#: JPEG quality the page encodes a photo it shrinks with (static/js/photo_shrink.js): the server re-encodes it
#: at 85 again, so the photo is compressed twice; 0.85 keeps that second pass from showing.
SHRINK_QUALITY = 0.85
#: What the page leaves for a form's other fields when it adds up its files against MAX_CONTENT_LENGTH.
FORM_FIELDS_ROOM = 64 * 1024


def configure_images(app) -> None:
    """Pillow's own decompression-bomb limit from the configuration (its public `MAX_IMAGE_PIXELS`)."""
    Image.MAX_IMAGE_PIXELS = int(app.config.get("IMAGE_MAX_PIXELS", MAX_PIXELS))


@cache
def _read_heif() -> None:
    """Teach Pillow HEIC/HEIF, once per process, when the first upload is checked (pillow-heif's published
    plugin registration; about 9 MB a process, so not at start-up in a worker that never takes a photo).
    It decodes with the file's rotation applied and its EXIF orientation reset, so `exif_transpose` does not
    turn the photo twice."""
    from pillow_heif import register_heif_opener  # a large library only processes that take photos load

    register_heif_opener()


def _pixel_budget(fmt: str) -> int:
    config = current_app.config
    if fmt == "JPEG":
        return int(config.get("IMAGE_MAX_PIXELS", MAX_PIXELS))
    return int(config.get("IMAGE_MAX_PIXELS_FULL_DECODE", MAX_PIXELS_FULL_DECODE))


def shrink_attrs(*, limit: int, edge: int, always: bool, quality: float, too_large: str) -> dict[str, str]:
    """The data- attributes of a file input that static/js/photo_shrink.js reads (docs/uploads.md, "Shrinking
    on the phone"): the file limit and the whole request's, the long edge in px a photo is shrunk to, when
    (`always` above that edge, else only above the limit or the full-decode pixel budget) and the messages
    shown beside the field. The server's checks stay the rule; the page only spares a refused upload."""
    config = current_app.config
    request_limit = int(config.get("MAX_CONTENT_LENGTH") or 8 * 1024 * 1024)
    return {
        "data-photo-limit": str(limit),
        "data-photo-edge": str(edge),
        "data-photo-shrink": "always" if always else "over-limit",
        "data-photo-pixels": str(_pixel_budget("PNG")),
        "data-photo-quality": str(quality),
        "data-photo-request-limit": str(max(limit, request_limit - FORM_FIELDS_ROOM)),
        "data-photo-too-large": too_large,
        "data-photo-request-too-large": gettext(
            "这几个文件加起来超过 %(mb)s MB，无法一起上传：请少选几张，或换较小的文件。",
            mb=max(1, request_limit // (1024 * 1024)),
        ),
        "data-photo-working": gettext("正在缩小照片，请稍候…"),
        "data-photo-shrunk": gettext("照片已在手机上缩小，上传更快："),
    }


def photo_input_attrs() -> dict[str, str]:
    """A photo's file input (a review's, a product's, a listing's): the page shrinks any photo larger than
    the FULL_PX the server keeps, so it goes up as a few hundred KB instead of a camera's 5–12 MB."""
    limit = max_upload_bytes()
    return shrink_attrs(
        limit=limit,
        edge=FULL_PX,
        always=True,
        quality=SHRINK_QUALITY,
        too_large=gettext("照片超过 %(mb)s MB，无法上传：请换一张较小的照片。", mb=max(1, limit // (1024 * 1024))),
    )


class ImageRejected(ValidationError):
    code = "invalid_image"


@dataclass
class CheckedImage:
    """A verified upload, decoded and ready to be written."""

    image: Image.Image
    source_format: str


IMAGE_UPLOAD = UploadCodes(required="image_required", empty="image_empty", too_large="image_too_large", field="image")


def check_image(upload, *, max_bytes: int | None = None) -> CheckedImage:
    """Verify an upload (bytes, a file object or a werkzeug FileStorage) by its content."""
    max_bytes = max_bytes or max_upload_bytes()
    data = read_upload(upload, max_bytes, codes=IMAGE_UPLOAD, error=ImageRejected)
    _read_heif()
    try:
        # Image.open reads the header only: format and size are known before anything is decoded
        with Image.open(io.BytesIO(data)) as probe:
            fmt = probe.format
            width, height = probe.size
            if fmt not in ALLOWED_FORMATS:
                raise ImageRejected("image_type", fields={"image": "type"})
            budget = _pixel_budget(fmt)
            if width * height > budget:
                raise ImageRejected(
                    "image_dimensions_too_large",
                    width=width,
                    height=height,
                    mp=budget // 1_000_000,
                    fields={"image": "too_many_pixels"},
                )
            if width < MIN_PX or height < MIN_PX:
                raise ImageRejected("image_too_small", fields={"image": "too_small"})
            probe.verify()
        image = Image.open(io.BytesIO(data))
        # JPEG: decode at 1/2, 1/4 or 1/8 scale when that still leaves FULL_PX on the long side
        image.draft("RGB", (FULL_PX, FULL_PX))
        image.load()
    except ImageRejected:
        raise
    except Image.DecompressionBombError:  # Pillow's own limit (twice IMAGE_MAX_PIXELS), met before ours
        raise ImageRejected(
            "image_too_many_pixels", mp=_pixel_budget("PNG") // 1_000_000, fields={"image": "too_many_pixels"}
        ) from None
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        raise ImageRejected("invalid_image", fields={"image": "type"}) from None
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
    return store_photo(f"products/{product_id}", checked)


def store_photo(rel_dir: str, checked: CheckedImage) -> StoredImage:
    """Re-encode a checked photo (at most FULL_PX, and a THUMB_PX thumbnail) into `rel_dir` under
    UPLOAD_DIR: the one way photos are written, for products and for any other owner (a review's
    photos, a listing's); no database row."""
    decoded = checked.image
    decoded.thumbnail((FULL_PX, FULL_PX), Image.Resampling.LANCZOS, reducing_gap=3.0)  # in place, first
    full = _to_rgb(decoded)
    thumb = _resized(full, THUMB_PX)
    token = secrets.token_hex(8)
    rel_full = f"{rel_dir}/{token}.jpg"
    rel_thumb = f"{rel_dir}/{token}_t.jpg"
    root = current_app.config["UPLOAD_DIR"]
    os.makedirs(os.path.join(root, rel_dir), exist_ok=True)
    full.save(os.path.join(root, rel_full), "JPEG", quality=85, optimize=True)
    thumb.save(os.path.join(root, rel_thumb), "JPEG", quality=80, optimize=True)
    return StoredImage(path=rel_full, thumb_path=rel_thumb, width=full.width, height=full.height)


def save_product_image(
    product, upload, *, alt: str = "", position: int | None = None, checked: CheckedImage | None = None
):
    """Check (unless already `checked`), re-encode and store a photo; return the flushed ProductImage."""
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
