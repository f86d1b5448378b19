"""HTML views: add/remove a favourite, my favourites, the short share links.

Thin routes: parse -> load/404 -> permission -> one service -> commit() -> redirect.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import Blueprint, flash, redirect, render_template, request, session, url_for
from flask_babel import gettext as _
from flask_login import current_user, login_required

from catalog.models import Product
from favourites import services
from shop.db import commit
from shop.errors import DomainError
from shop.pagecache import page_is_shared
from shop.qr import qr_data_uri
from shop.security import same_origin_or_token
from shop.timeutil import now_utc
from shop.urls import same_site_path

bp = Blueprint("favourites", __name__)

#: The session key of a favourite tapped before signing in: [kind, id].
PENDING = "favourite_after_sign_in"


def favourite_on_sign_in(user, guest_session: dict) -> None:
    """shop.auth LOGIN_HOOKS: the favourite a visitor tapped before signing in is added now (the caller
    commits). One that is gone meanwhile (hidden, unpublished) is dropped without a word."""
    pending = guest_session.get(PENDING)
    if not (isinstance(pending, list) and len(pending) == 2 and pending[0] in services.KINDS):
        return
    try:
        item = services.subject(pending[0], int(pending[1]))
    except (DomainError, TypeError, ValueError):
        return
    services.add_favourite(user, item, now=now_utc())


def _page_of(item) -> str:
    if isinstance(item, Product):
        return url_for("catalog.product_detail", product_id=item.id, slug=item.slug)
    return url_for("tourism.listing_detail", listing_id=item.id, slug=item.slug)


def _page_tapped_on(item) -> str:
    """The item's page as the visitor had it when tapping 收藏 (the Referer, when it is that page of this
    site): a listing's chosen dates, guests and month stay chosen. Else the item's page."""
    page = _page_of(item)
    came_from = same_site_path(request.referrer, host=request.host)
    if came_from and urlsplit(came_from).path == urlsplit(page).path:
        return came_from
    return page


@bp.app_template_global("share_box")
def _share_box(item) -> dict:
    """The short link of a product or listing and its QR code (a data: URI drawn here, no
    external service); the same for every visitor, so cached pages may hold it."""
    url = services.share_url(item)
    return {"url": url, "qr": qr_data_uri(url)}


@bp.app_template_global("favourite_state")
def _favourite_state(kind: str, subject_id: int, variant_ids: str | int = "") -> bool | None:
    """Whether the visitor keeps this product or listing (`kind`) among their favourites: True/False
    for a signed-in visitor; None on a shared (cached) page or for a visitor not signed in (the
    button then just says 收藏). `variant_ids`: a product's variants' ids joined by "-" (the page's
    `Product.family_ids`), any of which keeps the product. The favourite button is a personal part
    of the page (templates/_macros/_personal.html)."""
    if page_is_shared() or not current_user.is_authenticated:
        return None
    ids = [int(word) for word in str(variant_ids).split("-") if word.isdigit()] or [int(subject_id)]
    return services.is_favourite(current_user, kind, ids)


@bp.post("/favourites/<any(product, listing):kind>/<int:subject_id>")
@same_origin_or_token  # the button is on product pages the page cache shares (no token in them)
def toggle(kind: str, subject_id: int):
    item = services.subject(kind, subject_id)
    back = url_for(".mine") if request.form.get("back") == "favourites" else _page_tapped_on(item)
    if not current_user.is_authenticated:
        # the tap is kept: signing in (or up) adds it (`favourite_on_sign_in`) and goes back to the page
        session[PENDING] = [kind, item.id]
        flash(_("登录或注册后即为您收藏"), "info")
        return redirect(url_for("auth.login", next=_page_tapped_on(item)), 303)
    if request.form.get("action") == "remove":
        services.remove_favourite(current_user, item)
        commit()
        flash(_("已取消收藏"), "success")
    else:
        services.add_favourite(current_user, item, now=now_utc())
        commit()
        flash(_("已收藏"), "success")
    return redirect(back, 303)


@bp.get("/favourites")
@login_required
def mine():
    return render_template("favourites/mine.html", favourites=services.favourites_of(current_user))


@bp.get("/p/<int:product_id>")
def short_product(product_id: int):
    """The short share link of a product."""
    return redirect(_page_of(services.subject("product", product_id)), 301)


@bp.get("/l/<int:listing_id>")
def short_listing(listing_id: int):
    """The short share link of a listing."""
    return redirect(_page_of(services.subject("listing", listing_id)), 301)
