"""Catalog pages: product list and search, category, village, product."""
from __future__ import annotations

from flask import Blueprint, abort, redirect, render_template, request, url_for
from flask_babel import gettext as _

from catalog.services import (
    ProductFilter,
    get_category,
    get_village,
    get_visible_product,
    linked_household_count,
    list_categories,
    list_products,
    list_villages,
)
from shop.args import int_arg as _int_arg
from shop.errors import DomainError
from shop.pagecache import cached_page, depends_on

bp = Blueprint("catalog", __name__)


@bp.record_once
def _configure_images(state) -> None:
    from catalog.images import configure_images

    configure_images(state.app)


def _filter_from_args(**fixed) -> ProductFilter:
    sort = request.args.get("sort", "relevance")
    return ProductFilter(
        q=request.args.get("q", "")[:100],
        category=fixed.get("category") or request.args.get("category") or None,
        village=fixed.get("village") or _int_arg("village"),
        township=_int_arg("township"),
        min_fen=_int_arg("min_fen"),
        max_fen=_int_arg("max_fen"),
        in_stock=request.args.get("in_stock") in ("1", "true", "on"),
        sort=sort if sort in ("relevance", "newest", "price_asc", "price_desc", "best_selling") else "relevance",
        page=_int_arg("page") or 1,
        per_page=24,
    )


def _render_list(template: str, **context):
    f = _filter_from_args(**context.pop("fixed", {}))
    try:
        products, total = list_products(f)
    except DomainError:
        abort(400, _("页码超出范围"))
    depends_on(p.id for p in products)
    pages = max(1, -(-total // f.per_page))
    return render_template(
        template,
        products=products,
        total=total,
        filter=f,
        pages=pages,
        categories=list_categories(),
        villages=list_villages(),
        **context,
    )


@bp.get("/products")
@cached_page
def product_list():
    return _render_list("catalog/product_list.html")


@bp.get("/search")
@cached_page  # the index's writes bump the page cache too (catalog.search.update_products): hits never lag the index
def search():
    """Search page: hits (highlighted), facets with counts, filters, sorts, paging; tourism hits too."""
    from catalog.search import highlight, is_partial, search_listing_ids
    from catalog.services import search_is_partial, search_products

    f = _filter_from_args()
    min_yuan, max_yuan = _int_arg("min_yuan"), _int_arg("max_yuan")  # the page's price inputs, in yuan
    if min_yuan is not None:
        f.min_fen = min_yuan * 100
    if max_yuan is not None:
        f.max_fen = max_yuan * 100
    try:
        products, total, facets = search_products(f, facets=True)
    except DomainError:
        abort(400, _("页码超出范围"))
    if f.q:
        for p in products:
            p.search_name_html = highlight(p.name, f.q)
    # tourism listings: a first-class kind of result on the first page, with their own count
    listings = _visible_listings(search_listing_ids(f.q)) if f.q and f.page == 1 else []
    partial = bool(f.q) and ((bool(products) and search_is_partial(f))
                             or (bool(listings) and is_partial(f.q, kind="listing")))
    return render_template(
        "catalog/product_list.html",
        products=products,
        total=total,
        filter=f,
        pages=max(1, -(-total // f.per_page)),
        categories=list_categories(),
        villages=list_villages(),
        facets=facets,
        listings=[(item, highlight(item.name, f.q)) for item in listings[:LISTINGS_SHOWN]],
        listing_total=len(listings),
        partial=partial,
    )


LISTINGS_SHOWN = 6


def _visible_listings(ids: list[int]) -> list:
    """Published tourism listings among the search hits, in rank order (re-checked in the database)."""
    if not ids:
        return []
    try:
        from tourism.models import Listing
    except ImportError:
        return []
    from shop.extensions import db

    rows = {x.id: x for x in db.session.scalars(
        db.select(Listing).where(Listing.id.in_(ids), Listing.is_published.is_(True)))}
    return [rows[i] for i in ids if i in rows]


@bp.get("/categories/<slug>")
@cached_page
def category(slug: str):
    cat = get_category(slug)
    return _render_list("catalog/category.html", category=cat, fixed={"category": cat.slug})


@bp.get("/villages/<slug>")
@cached_page
def village(slug: str):
    v = get_village(slug)
    return _render_list("catalog/village.html", village=v, fixed={"village": v.id})


@bp.get("/products/<int:product_id>")
@bp.get("/products/<int:product_id>-<slug>")
@cached_page
def product_detail(product_id: int, slug: str | None = None):
    product = get_visible_product(product_id)
    if slug != product.slug:
        return redirect(url_for("catalog.product_detail", product_id=product.id, slug=product.slug), 301)
    depends_on([product.id])
    return render_template(
        "catalog/product_detail.html",
        product=product,
        household_count=linked_household_count(product.id),
    )


@bp.get("/media/<path:filename>")
def media(filename: str):
    from flask import current_app, send_from_directory

    return send_from_directory(current_app.config["UPLOAD_DIR"], filename, max_age=86400)
