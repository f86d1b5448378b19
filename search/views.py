"""Finding things: the product list (with a query, ranked by the search index) and the search page,
where tourism listings are a first-class kind of result beside the products."""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from flask_babel import gettext as _

from catalog.papers import paused_cards
from catalog.views import filter_from_args, redirect_to_last_page, render_product_list
from search.index import Highlighter, search_page
from search.services import find_products, search_is_partial, search_products, visible_listings
from shop.args import int_arg as _int_arg
from shop.errors import DomainError
from shop.pagecache import cached_page
from shop.timeutil import local_date, now_utc

bp = Blueprint("search", __name__)


@bp.get("/products")
@cached_page
def product_list():
    return render_product_list("catalog/product_list.html", lister=find_products)


@bp.get("/search")
@cached_page  # the index's writes bump the page cache too (search.index.update_products): hits never lag the index
def results():
    """Search page: hits (highlighted), facets with counts, filters, sorts, paging; tourism hits too."""
    f = filter_from_args()
    min_yuan, max_yuan = _int_arg("min_yuan"), _int_arg("max_yuan")  # the page's price inputs, in yuan
    if min_yuan is not None:
        f.min_fen = min_yuan * 100
    if max_yuan is not None:
        f.max_fen = max_yuan * 100
    try:
        products, total, facets = search_products(f, facets=True)
    except DomainError:
        abort(400, _("页码超出范围"))
    pages = max(1, -(-total // f.per_page))
    if f.page > pages:
        return redirect_to_last_page(pages)
    highlight = Highlighter(f.q)
    if f.q:
        for p in products:
            p.search_name_html = highlight(p.display_name)
    # tourism listings: a first-class kind of result on the first page, with their own count (one
    # pass of the index gives their ranking and whether the match is partial)
    hits = search_page(f.q, kind="listing", count=LISTINGS_CONSIDERED) if f.q and f.page == 1 else None
    listings, listing_total = visible_listings(hits.ids if hits is not None else [], LISTINGS_SHOWN)
    partial = bool(f.q) and (
        (bool(products) and search_is_partial(f)) or (bool(listings) and hits is not None and hits.partial)
    )
    return render_template(
        "catalog/product_list.html",
        products=products,
        paused=paused_cards(products, today=local_date(now_utc())),
        total=total,
        filter=f,
        pages=pages,
        facets=facets,
        listings=[(item, highlight(item.name)) for item in listings],
        listing_total=listing_total,
        partial=partial,
    )


LISTINGS_SHOWN = 6
LISTINGS_CONSIDERED = 1000  # listings matching a query, at most (the count the page shows)
