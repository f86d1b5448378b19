"""Catalog pages: category, village, product, media (the product list and search: `search.views`)."""

from __future__ import annotations

from urllib.parse import urlencode

from flask import Blueprint, abort, current_app, redirect, render_template, request, send_from_directory, url_for
from flask_babel import gettext as _

from catalog.images import configure_images
from catalog.papers import paused_cards, product_papers
from catalog.services import (
    ProductFilter,
    get_category,
    get_village,
    get_visible_product,
    linked_household_count,
    list_products,
    pick_variant,
    shown_product_ids,
)
from shop.args import int_arg as _int_arg
from shop.args import query_text
from shop.errors import DomainError
from shop.money import MAX_FEN
from shop.pagecache import cached_page, depends_on
from shop.timeutil import local_date, now_utc

bp = Blueprint("catalog", __name__)


@bp.record_once
def _configure_images(state) -> None:
    configure_images(state.app)


def filter_from_args(**fixed) -> ProductFilter:
    """The list filter from the request's arguments (`fixed` ones win: a category page's category)."""
    sort = request.args.get("sort", "relevance")
    return ProductFilter(
        q=query_text("q"),  # spaces alone are no query: 全部商品, not 搜索：
        category=fixed.get("category") or request.args.get("category") or None,
        village=fixed.get("village") or _int_arg("village"),
        township=_int_arg("township"),
        min_fen=_int_arg("min_fen", maximum=MAX_FEN),
        max_fen=_int_arg("max_fen", maximum=MAX_FEN),
        in_stock=request.args.get("in_stock") in ("1", "true", "on"),
        sort=sort if sort in ("relevance", "newest", "price_asc", "price_desc", "best_selling") else "relevance",
        page=_int_arg("page") or 1,
        per_page=24,
    )


def redirect_to_last_page(pages: int):
    """A list page asked past its last page (`?page=999` of 21 items): a redirect to the last page,
    every other query argument kept (the product list, the category and village pages and /search alike)."""
    args = [(key, value) for key, value in request.args.items(multi=True) if key != "page"]
    if pages > 1:
        args.append(("page", str(pages)))
    return redirect(request.script_root + request.path + ("?" + urlencode(args) if args else ""))


def render_product_list(template: str, *, lister=list_products, **context):
    """A product list page: `lister(filter)` gives (products, total); the catalog's own lists ignore a
    query (`search.views` passes its ranking lister for /products?q=)."""
    f = filter_from_args(**context.pop("fixed", {}))
    try:
        products, total = lister(f)
    except DomainError:
        abort(400, _("页码超出范围"))
    pages = max(1, -(-total // f.per_page))
    if f.page > pages:
        return redirect_to_last_page(pages)
    depends_on(shown_product_ids(products))
    return render_template(
        template,
        products=products,
        paused=paused_cards(products, today=local_date(now_utc())),
        total=total,
        filter=f,
        pages=pages,
        **context,
    )


@bp.get("/categories/<slug>")
@cached_page
def category(slug: str):
    cat = get_category(slug)
    return render_product_list("catalog/category.html", category=cat, fixed={"category": cat.slug})


@bp.get("/villages/<slug>")
@cached_page
def village(slug: str):
    v = get_village(slug)
    return render_product_list("catalog/village.html", village=v, fixed={"village": v.id})


@bp.get("/products/<int:product_id>")
@bp.get("/products/<int:product_id>-<slug>")
@cached_page
def product_detail(product_id: int, slug: str | None = None):
    """One product with its variant picker: each variant (规格) is its own page (/products/<its id>),
    so the choice works as plain links, and `?variant=<id>` (the picker's radio buttons submitted
    without JavaScript) redirects to the chosen variant's page."""
    product = get_visible_product(product_id)
    variant_id = _int_arg("variant")
    if variant_id is not None:
        try:
            variant = pick_variant(product, variant_id)
        except DomainError:
            abort(404)
        return redirect(url_for("catalog.product_detail", product_id=variant.id, slug=variant.slug), 303)
    if slug != product.slug:
        return redirect(url_for("catalog.product_detail", product_id=product.id, slug=product.slug), 301)
    depends_on(shown_product_ids([product]))
    # a document expiring at midnight: the page cache's TTL bounds how long the page says otherwise
    papers = product_papers(product, today=local_date(now_utc()))
    return render_template(
        "catalog/product_detail.html",
        product=product,
        household_count=linked_household_count(product.id),
        paper_gaps=papers.gaps,
        documents=papers.documents,
    )


@bp.get("/media/<path:filename>")
def media(filename: str):
    return send_from_directory(current_app.config["UPLOAD_DIR"], filename, max_age=86400)
