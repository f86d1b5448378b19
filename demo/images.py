"""Demo product and listing pictures, drawn locally with Pillow (no downloads).

Each demo product gets an illustrated card: a soft gradient in its category's colour, a simple
drawing of the specialty (a pickle jar, figs, eggs, a duck, artemisia stalks, a rice bowl, waves),
and the product name in Chinese when a CJK font is installed (WenQuanYi Micro Hei, found with
`fc-match`); without one the card carries the drawing only. Files go under
`UPLOAD_DIR/demo/`: a full image (1200×900, JPEG) and a thumbnail (400×300, WebP), recorded as
`ProductImage` rows. Idempotent: products that already have an image are skipped.

The demo's tourism listings (stays, sessions, the flower-sea day ticket) get their first photo the
same way (`seed_demo_listing_images`, `ListingImage` rows): a farmhouse for a stay, the subject of an
experience by its name (strawberries, fishing waters), a flower field for a ticket.

Only demo seeding uses this module; uploads are `catalog/images.py`'s job.
"""

from __future__ import annotations

import math
import os
import shutil
import subprocess
from functools import lru_cache
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from flask import current_app
from PIL import Image, ImageDraw, ImageFilter, ImageFont

from catalog.models import Product, ProductImage, Village
from shop.extensions import db
from tourism.models import Listing, ListingImage

FULL_SIZE = (1200, 900)
THUMB_SIZE = (400, 300)
SUBDIR = "demo"

#: category slug -> (light, dark) colours
PALETTE = {
    "pickles": ((236, 244, 214), (104, 140, 48)),
    "fruit": ((253, 232, 226), (196, 72, 80)),
    "eggs": ((255, 244, 214), (196, 140, 40)),
    "poultry": ((246, 228, 210), (150, 82, 40)),
    "vegetables": ((222, 242, 222), (46, 125, 50)),
    "rice": ((250, 246, 226), (176, 146, 60)),
    "aquatic": ((218, 236, 248), (30, 110, 170)),
    # the listings' looks (LISTING_LOOKS)
    "stay": ((246, 236, 220), (140, 90, 50)),
    "strawberry": ((253, 232, 226), (196, 72, 80)),
    "flowers": ((250, 240, 210), (190, 120, 40)),
}
DEFAULT_COLOURS = ((236, 240, 236), (80, 110, 90))
CJK_FONT_CANDIDATES = ("/usr/share/fonts/truetype/wqy/wqy-microhei.ttc",)


@lru_cache(maxsize=1)
def cjk_font_path() -> str | None:
    """A font file able to draw Chinese, or None (then the cards show drawings only)."""
    if shutil.which("fc-match"):
        try:
            out = subprocess.run(
                ["fc-match", "-f", "%{file}", "WenQuanYi Micro Hei:lang=zh-cn"],
                capture_output=True,
                text=True,
                timeout=5,
                check=False,
            ).stdout.strip()
        except (OSError, subprocess.SubprocessError):
            out = ""
        if out and os.path.exists(out) and ("wqy" in out.lower() or "cjk" in out.lower() or "hei" in out.lower()):
            return out
    for path in CJK_FONT_CANDIDATES:
        if os.path.exists(path):
            return path
    return None


def _font(size: int) -> ImageFont.FreeTypeFont | None:
    path = cjk_font_path()
    if path is None:
        return None
    try:
        return ImageFont.truetype(path, size)
    except OSError:
        return None


def _mix(a: tuple[int, int, int], b: tuple[int, int, int], t: float) -> tuple[int, int, int]:
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b))  # type: ignore[return-value]


def _background(light, dark) -> Image.Image:
    w, h = FULL_SIZE
    img = Image.new("RGB", FULL_SIZE, light)
    draw = ImageDraw.Draw(img)
    top = _mix(light, (255, 255, 255), 0.5)
    for y in range(h):
        draw.line([(0, y), (w, y)], fill=_mix(top, light, y / h))
    # soft hills at the bottom: the countryside
    hills = Image.new("RGBA", FULL_SIZE, (0, 0, 0, 0))
    hd = ImageDraw.Draw(hills)
    hd.ellipse([-300, 620, 700, 1300], fill=(*_mix(light, dark, 0.25), 255))
    hd.ellipse([450, 660, 1550, 1350], fill=(*_mix(light, dark, 0.35), 255))
    img.paste(hills, (0, 0), hills)
    # the sun
    draw = ImageDraw.Draw(img)
    draw.ellipse([960, 70, 1110, 220], fill=(255, 236, 170))
    return img


def _draw_subject(draw: ImageDraw.ImageDraw, kind: str, dark, light) -> None:
    """A simple drawing of the specialty, centred in the upper two thirds."""
    cx, cy = 600, 360
    ink = dark
    pale = _mix(light, (255, 255, 255), 0.6)
    if kind == "pickles":  # a jar of pickled greens
        draw.rounded_rectangle([cx - 150, cy - 150, cx + 150, cy + 190], radius=60, fill=pale, outline=ink, width=10)
        draw.rectangle([cx - 110, cy - 200, cx + 110, cy - 150], fill=ink)
        for i in range(5):
            x = cx - 100 + i * 50
            draw.ellipse([x - 30, cy - 40 + (i % 2) * 40, x + 30, cy + 140], fill=_mix(ink, light, 0.2 + 0.1 * (i % 3)))
    elif kind == "fruit":  # three figs
        for dx, dy, r in ((-140, 40, 110), (130, 60, 100), (0, -60, 125)):
            draw.ellipse([cx + dx - r, cy + dy - r, cx + dx + r, cy + dy + r], fill=_mix(ink, (90, 30, 70), 0.4))
            draw.polygon(
                [(cx + dx - 18, cy + dy - r + 8), (cx + dx + 18, cy + dy - r + 8), (cx + dx, cy + dy - r - 40)],
                fill=(90, 130, 60),
            )
            draw.ellipse(
                [cx + dx - r * 0.45, cy + dy - r * 0.45, cx + dx + r * 0.1, cy + dy + r * 0.1],
                fill=_mix(ink, (255, 255, 255), 0.35),
            )
    elif kind == "eggs":  # a basket of eggs
        draw.pieslice([cx - 260, cy - 80, cx + 260, cy + 260], 0, 180, fill=_mix(ink, (120, 80, 40), 0.5))
        for i, dx in enumerate((-170, -60, 50, 160)):
            h = 150 if i % 2 else 170
            draw.ellipse(
                [cx + dx - 55, cy - h + 60, cx + dx + 55, cy + 100],
                fill=(250, 240, 222),
                outline=_mix(ink, light, 0.4),
                width=4,
            )
    elif kind == "poultry":  # a flattened salted duck
        draw.ellipse(
            [cx - 230, cy - 130, cx + 230, cy + 150], fill=_mix(ink, (230, 170, 90), 0.45), outline=ink, width=10
        )
        draw.ellipse(
            [cx + 160, cy - 200, cx + 280, cy - 90], fill=_mix(ink, (230, 170, 90), 0.45), outline=ink, width=8
        )
        draw.polygon([(cx + 270, cy - 160), (cx + 340, cy - 140), (cx + 270, cy - 120)], fill=(230, 150, 40))
        for i in range(-2, 3):
            draw.line([(cx - 150, cy + i * 40), (cx + 150, cy + i * 40)], fill=_mix(ink, light, 0.3), width=6)
    elif kind == "vegetables":  # artemisia stalks
        for i in range(7):
            x = cx - 180 + i * 60
            draw.line([(x, cy + 200), (x + (i - 3) * 12, cy - 180)], fill=ink, width=14)
            for j in range(4):
                y = cy + 120 - j * 80
                side = 1 if (i + j) % 2 else -1
                x0, x1 = sorted((x + side * 6, x + side * 62))
                draw.ellipse([x0, y - 18, x1, y + 18], fill=_mix(ink, light, 0.15))
        draw.rounded_rectangle([cx - 210, cy + 130, cx + 210, cy + 170], radius=18, fill=(200, 60, 60))
    elif kind == "rice":  # a bowl of rice
        draw.ellipse(
            [cx - 230, cy - 150, cx + 230, cy + 40], fill=(252, 252, 246), outline=_mix(ink, light, 0.3), width=6
        )
        draw.pieslice([cx - 250, cy - 140, cx + 250, cy + 230], 0, 180, fill=ink)
        for i in range(24):
            a = i * 2.39
            rx, ry = cx + math.cos(a) * (40 + i * 7), cy - 60 + math.sin(a) * (15 + i * 2.5)
            draw.ellipse([rx - 12, ry - 6, rx + 12, ry + 6], fill=(236, 230, 210))
    elif kind == "aquatic":  # waves and a crayfish-red shape
        for k in range(3):
            y = cy + 60 + k * 60
            pts = [(x, y + 22 * math.sin(x / 60 + k)) for x in range(260, 941, 20)]
            draw.line(pts, fill=_mix(ink, light, 0.2 * k), width=14)
        draw.ellipse([cx - 150, cy - 160, cx + 150, cy + 20], fill=(210, 70, 50))
        draw.polygon([(cx + 140, cy - 70), (cx + 240, cy - 150), (cx + 240, cy + 10)], fill=(210, 70, 50))
        draw.ellipse([cx - 110, cy - 120, cx - 80, cy - 90], fill=(30, 30, 30))
    elif kind == "watermelon":
        draw.ellipse([cx - 240, cy - 170, cx + 240, cy + 190], fill=(56, 130, 60))
        for i in range(-3, 4):
            draw.arc(
                [cx - 240 + abs(i) * 30, cy - 170, cx + 240 - abs(i) * 30, cy + 190],
                250,
                290,
                fill=(28, 80, 36),
                width=16,
            )
            draw.line([(cx + i * 60, cy - 160), (cx + i * 66, cy + 180)], fill=(30, 90, 40), width=14)
    elif kind == "strawberry":
        for dx, dy, s in ((-150, 40, 1.0), (150, 50, 0.95), (0, -40, 1.15)):
            w, h = 120 * s, 170 * s
            draw.polygon(
                [(cx + dx - w, cy + dy - h * 0.45), (cx + dx + w, cy + dy - h * 0.45), (cx + dx, cy + dy + h)],
                fill=(214, 40, 60),
            )
            draw.ellipse([cx + dx - w, cy + dy - h * 0.75, cx + dx + w, cy + dy + h * 0.1], fill=(214, 40, 60))
            for k in range(9):
                sx = cx + dx + (k % 3 - 1) * w * 0.5
                sy = cy + dy - h * 0.35 + (k // 3) * h * 0.35
                draw.ellipse([sx - 6, sy - 9, sx + 6, sy + 9], fill=(250, 220, 120))
            draw.polygon(
                [(cx + dx - 60, cy + dy - h * 0.7), (cx + dx + 60, cy + dy - h * 0.7), (cx + dx, cy + dy - h * 0.45)],
                fill=(60, 140, 60),
            )
    elif kind == "stay":  # a farmhouse: white walls, a dark tiled roof, a door and two windows
        draw.rectangle([cx - 230, cy - 60, cx + 230, cy + 190], fill=(250, 248, 240), outline=ink, width=8)
        draw.polygon([(cx - 290, cy - 50), (cx, cy - 230), (cx + 290, cy - 50)], fill=_mix(ink, (40, 40, 50), 0.5))
        draw.rectangle([cx - 45, cy + 60, cx + 45, cy + 190], fill=_mix(ink, light, 0.2))
        for dx in (-160, 100):
            draw.rectangle([cx + dx, cy, cx + dx + 60, cy + 60], fill=(180, 215, 235), outline=ink, width=6)
    elif kind == "flowers":  # a field of flowers under the hills
        for row in range(3):
            for i in range(9):
                x, y = 250 + i * 88 + (row % 2) * 44, cy - 80 + row * 110
                draw.line([(x, y), (x, y + 90)], fill=(70, 130, 60), width=8)
                colour = ((240, 200, 40), (230, 110, 150), (200, 90, 200))[(i + row) % 3]
                for a in range(5):
                    px, py = x + 26 * math.cos(a * 1.2566), y + 26 * math.sin(a * 1.2566)
                    draw.ellipse([px - 18, py - 18, px + 18, py + 18], fill=colour)
                draw.ellipse([x - 12, y - 12, x + 12, y + 12], fill=(250, 240, 200))
    else:
        draw.ellipse([cx - 180, cy - 180, cx + 180, cy + 180], fill=_mix(ink, light, 0.3))


#: Product-name keywords that pick a more specific drawing than the category's.
SUBJECT_BY_KEYWORD = (("西瓜", "watermelon"), ("草莓", "strawberry"), ("垂钓", "aquatic"))
#: A listing's drawing by its kind (a keyword of its name wins, as for products).
LISTING_LOOKS = {"stay": "stay", "experience": "vegetables", "ticket": "flowers"}


def subject_for(name: str, category_slug: str) -> str:
    for keyword, kind in SUBJECT_BY_KEYWORD:
        if keyword in name:
            return kind
    return category_slug


def _fit_text(draw: ImageDraw.ImageDraw, text: str, max_width: int, start: int) -> ImageFont.FreeTypeFont | None:
    size = start
    while size >= 28:
        font = _font(size)
        if font is None:
            return None
        if draw.textlength(text, font=font) <= max_width:
            return font
        size -= 6
    return _font(28)


def render_card(name: str, category_slug: str, subtitle: str = "") -> Image.Image:
    """The full-size demo picture of one product."""
    light, dark = PALETTE.get(category_slug, DEFAULT_COLOURS)
    img = _background(light, dark)
    # a soft shadow under the subject, blurred small and scaled up (fast)
    shadow = Image.new("RGBA", (160, 40), (0, 0, 0, 0))
    ImageDraw.Draw(shadow).ellipse([16, 8, 144, 30], fill=(0, 0, 0, 50))
    shadow = shadow.filter(ImageFilter.GaussianBlur(3)).resize((640, 160), Image.Resampling.BILINEAR)
    img.paste(shadow, (280, 500), shadow)
    draw = ImageDraw.Draw(img)
    _draw_subject(draw, subject_for(name, category_slug), dark, light)
    font = _fit_text(draw, name, 1040, 96)
    if font is not None:
        # a ribbon with the name
        draw.rounded_rectangle([60, 640, 1140, 800], radius=28, fill=(255, 255, 255))
        draw.text((600, 720), name, font=font, fill=dark, anchor="mm")
        small = _font(40)
        if subtitle and small is not None:
            draw.text((600, 850), subtitle, font=small, fill=_mix(dark, (0, 0, 0), 0.35), anchor="mm")
    else:
        draw.rounded_rectangle([60, 680, 1140, 760], radius=28, fill=(255, 255, 255))
        draw.rounded_rectangle([90, 705, 90 + 40 * max(3, min(25, len(name))), 735], radius=12, fill=dark)
    return img


def _paths(product_id: int) -> tuple[str, str]:
    return f"{SUBDIR}/product-{product_id}.jpg", f"{SUBDIR}/product-{product_id}-thumb.webp"


def _save(img: Image.Image, upload_dir: str | Path, full_rel: str, thumb_rel: str) -> None:
    """The full picture (JPEG) and its thumbnail (WebP) under the upload folder."""
    root = Path(upload_dir)
    (root / SUBDIR).mkdir(parents=True, exist_ok=True)
    img.save(root / full_rel, "JPEG", quality=84, progressive=True)
    thumb = img.copy()
    thumb.thumbnail(THUMB_SIZE, Image.Resampling.BICUBIC, reducing_gap=2.0)
    thumb.save(root / thumb_rel, "WEBP", quality=80, method=2)


def _record(image_model, owner, owner_key: str, img: Image.Image, full_rel: str, thumb_rel: str, upload_dir) -> Any:
    """Save `img` (full size and thumbnail) and add the image row of `owner` (a product or listing)."""
    _save(img, upload_dir, full_rel, thumb_rel)
    image = image_model(
        **{owner_key: owner.id},
        path=full_rel,
        thumb_path=thumb_rel,
        width=img.width,
        height=img.height,
        alt=owner.name,
        position=0,
    )
    db.session.add(image)
    return image


def write_product_image(product: Product, upload_dir: str | Path) -> ProductImage:
    """Draw, save and record the picture of `product` (flushes, never commits)."""
    full_rel, thumb_rel = _paths(product.id)
    subtitle = product.village.name if product.village is not None else ""
    img = render_card(product.name, product.category.slug if product.category else "", subtitle)
    return _record(ProductImage, product, "product_id", img, full_rel, thumb_rel, upload_dir)


def write_listing_image(listing: Listing, upload_dir: str | Path) -> ListingImage:
    """Draw, save and record the first photo of `listing` (never commits)."""
    full_rel, thumb_rel = f"{SUBDIR}/listing-{listing.id}.jpg", f"{SUBDIR}/listing-{listing.id}-thumb.webp"
    look = subject_for(listing.name, LISTING_LOOKS.get(listing.kind, ""))
    img = render_card(listing.name, look, listing.village.name if listing.village is not None else "")
    return _record(ListingImage, listing, "listing_id", img, full_rel, thumb_rel, upload_dir)


def _seed_missing(model, image_model, owner_column, write) -> int:
    """`write` a picture for every `model` row of a demo village that has no image yet; how many."""
    upload_dir = current_app.config["UPLOAD_DIR"]
    has_image = sa.select(image_model.id).where(owner_column == model.id).exists()
    rows = db.session.scalars(
        sa.select(model)
        .join(Village, model.village_id == Village.id)
        .where(Village.is_demo.is_(True), ~has_image)
        .order_by(model.id)
    ).all()
    for row in rows:
        write(row, upload_dir)
    if rows:
        db.session.flush()
    return len(rows)


def seed_demo_images() -> int:
    """A picture for every demo-village product that has none; returns how many were made."""
    return _seed_missing(Product, ProductImage, ProductImage.product_id, write_product_image)


def seed_demo_listing_images() -> int:
    """A photo for every listing of a demo village that has none; returns how many were made."""
    return _seed_missing(Listing, ListingImage, ListingImage.listing_id, write_listing_image)
