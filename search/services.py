"""Search over the catalog and the tourism listings: ranking a query with the index, then loading and
re-checking the hits in the database (a stale index never shows what is no longer for sale).

The search package sits above the catalog and tourism (docs/ARCHITECTURE.md): the catalog lists and
filters products; a query's ranking, facets and the partial-match flag come from here.
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.orm import joinedload

from catalog.models import Category, Product, Township, Village
from catalog.services import (
    MAX_PAGE,
    MAX_PER_PAGE,
    ProductFilter,
    category_id_of,
    eager_products,
    filtered_query,
    list_products,
    village_labels,
)
from search.index import is_partial, search_page, search_product_ids
from shop.errors import ValidationError
from shop.extensions import db
from tourism.models import Listing


def find_products(f: ProductFilter) -> tuple[list[Product], int]:
    """A product list page: `f.q` ranked by the index when given, else the catalog's list."""
    if f.q and f.q.strip():
        items, total, _facets = search_products(f)
        return items, total
    return list_products(f)


def search_ranked_ids(f: ProductFilter) -> list[int] | None:
    """The search index's ranked ids for `f.q` (None without a query). A stale index is harmless:
    the ids are always re-filtered against the database."""
    if not (f.q and f.q.strip()):
        return None
    return search_product_ids(f.q)


def _index_pages(f: ProductFilter) -> bool:
    """True when the search index can rank, count and facet `f` by itself (relevance order, no
    stock filter): `search_products` then re-filters only the shown page in the database."""
    return (
        bool(f.q and f.q.strip())
        and f.sort not in ("newest", "price_asc", "price_desc", "best_selling")
        and not f.in_stock
    )


def _index_filters(f: ProductFilter) -> dict | None:
    """`f`'s filters as the index's terms ({} for none); None when they cannot match (unknown category)."""
    filters: dict = {}
    if f.category:
        cat = str(f.category)
        cid = category_id_of(cat)
        if cid is None:
            cid = db.session.scalar(sa.select(Category.id).where(Category.slug == cat))
        if cid is None:
            return None
        filters["category"] = cid
    if f.village:
        filters["village"] = f.village
    if f.township:
        filters["township"] = f.township
    if f.min_fen is not None:
        filters["min_fen"] = f.min_fen
    if f.max_fen is not None:
        filters["max_fen"] = f.max_fen
    return filters


def search_products(f: ProductFilter, *, facets: bool = False) -> tuple[list[Product], int, dict | None]:
    """One page of a search (`f.q`), the number of matches and, when asked, facet counts.

    Fast path (relevance, no stock filter): the index ranks only this page's window, counts the
    matches and their facets (`search.index.search_page`, cached per index generation); the
    database loads and re-checks just the shown ids with every filter. If one of them fails the
    re-check (the index is behind the database), the whole answer comes from the exact path:
    the index's top ids re-filtered in the database (`list_products` with `ranked_ids`), so a stale
    index never shows an unpublished product nor counts it on the page that would show it. Counts
    elsewhere may be off by the few documents the index has not caught up with yet.
    """
    if f.page < 1 or f.page > MAX_PAGE or f.per_page < 1 or f.per_page > MAX_PER_PAGE:
        raise ValidationError("page_out_of_range", fields={"page": "out of range"})
    if _index_pages(f):
        filters = _index_filters(f)
        if filters is None:
            return [], 0, ({"category": [], "township": [], "village": []} if facets else None)
        start = (f.page - 1) * f.per_page
        hits = search_page(f.q, offset=start, count=f.per_page, filters=filters, facets=facets)
        items = list(db.session.scalars(eager_products(filtered_query(f, hits.ids)))) if hits.ids else []
        if len(items) == len(hits.ids):
            rank = {pid: i for i, pid in enumerate(hits.ids)}
            items.sort(key=lambda p: rank[p.id])
            return items, hits.total, (_facet_labels(hits.facets) if hits.facets is not None else None)
    ranked = search_ranked_ids(f)  # another sort, a stock filter, or a stale index: exact
    items, total = list_products(f, ranked_ids=ranked)
    return items, total, (product_facets(f, ranked_ids=ranked) if facets else None)


def search_is_partial(f: ProductFilter) -> bool:
    """True when no product has every word of `f.q` (within the filters the index applies) and the
    results are the best partial matches: the page and the API say so."""
    if not (f.q and f.q.strip()):
        return False
    filters = None
    if _index_pages(f):
        filters = _index_filters(f)
        if filters is None:
            return False
    return is_partial(f.q, filters=filters)


def _facet_labels(counts: dict[str, dict[str, int]]) -> dict[str, list[dict]]:
    """The index's facet counts {field: {id: n}} as `product_facets` gives them (labels from the
    database in one SELECT over the three tables, most frequent first)."""
    selects = []
    for key, model, value_col in (
        ("category", Category, Category.slug),
        ("township", Township, sa.cast(Township.id, sa.String)),
        ("village", Village, sa.cast(Village.id, sa.String)),
    ):
        ids = [int(v) for v in counts.get(key, {}) if str(v).isdigit()]
        if ids:
            selects.append(
                sa.select(sa.literal(key).label("facet"), model.id, value_col.label("value"), model.name).where(
                    model.id.in_(ids)
                )
            )
    out: dict[str, list[dict[str, Any]]] = {"category": [], "township": [], "village": []}
    rows = db.session.execute(sa.union_all(*selects)).all() if selects else []
    for key, pk, value, name in rows:
        out[key].append(
            {"value": value if key == "category" else int(value), "label": name, "count": counts[key][str(pk)]}
        )
    for items in out.values():
        items.sort(key=lambda i: (-i["count"], i["value"]))
    return _tell_villages_apart(out)


def _tell_villages_apart(facets: dict[str, list[dict]]) -> dict[str, list[dict]]:
    """A village facet's label names its township when a village of another township has its name
    (`catalog.services.village_labels`): 新村 (3) twice could not be told apart."""
    labels = village_labels(item["value"] for item in facets["village"])
    for item in facets["village"]:
        item["label"] = labels.get(item["value"], item["label"])
    return facets


def visible_listings(ids: list[int], shown: int) -> tuple[list[Listing], int]:
    """The first `shown` published tourism listings among the search hits `ids` (in rank order,
    with their villages) and how many of the hits are published (re-checked in the database)."""
    visible = visible_listing_ids(ids)
    ranked = [i for i in ids if i in visible]
    if not ranked:
        return [], 0
    rows = {
        x.id: x
        for x in db.session.scalars(
            sa.select(Listing).where(Listing.id.in_(ranked[:shown])).options(joinedload(Listing.village))
        )
    }
    return [rows[i] for i in ranked[:shown] if i in rows], len(ranked)


def visible_listing_ids(ids: list[int]) -> set[int]:
    """Those of `ids` that are published tourism listings."""
    if not ids:
        return set()
    return set(db.session.scalars(sa.select(Listing.id).where(Listing.id.in_(ids), Listing.is_published.is_(True))))


def product_facets(f: ProductFilter, *, ranked_ids: list[int] | None = None) -> dict[str, list[dict]]:
    """Counts of the matching products by category, township and village (each over the whole
    filtered set): {"category": [{"value", "label", "count"}], "township": [...], "village": [...]}."""
    if ranked_ids is None:
        ranked_ids = search_ranked_ids(f)
    if ranked_ids is not None and not ranked_ids:
        return {"category": [], "township": [], "village": []}
    ids = filtered_query(f, ranked_ids).with_only_columns(Product.id).subquery()
    base = sa.select(Product).join(ids, ids.c.id == Product.id)

    def counts(key, label, *joins):
        joined = base
        for target, on in joins:
            joined = joined.join(target, on)
        q = joined.with_only_columns(key, label, sa.func.count(Product.id)).group_by(key, label)
        q = q.order_by(sa.func.count(Product.id).desc(), key)
        return [{"value": v, "label": lbl, "count": n} for v, lbl, n in db.session.execute(q)]

    village_t = sa.orm.aliased(Village)
    return _tell_villages_apart(
        {
            "category": counts(Category.slug, Category.name, (Category, Category.id == Product.category_id)),
            "township": counts(
                Township.id,
                Township.name,
                (village_t, village_t.id == Product.village_id),
                (Township, Township.id == village_t.township_id),
            ),
            "village": counts(Village.id, Village.name, (Village, Village.id == Product.village_id)),
        }
    )
