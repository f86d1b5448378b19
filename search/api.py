"""API: the product list and search (`GET /api/v1/products`), suggestions as you type
(`GET /api/v1/search/suggest?q=`)."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from catalog.api import ProductPage, ProductQuery, product_items
from catalog.services import ProductFilter, shown_product_ids, visible_product_ids
from search.index import suggest
from search.services import find_products, search_is_partial, visible_listing_ids
from shop.api import QuerySchema, endpoint, ok
from shop.pagecache import cached_api, depends_on


@endpoint("/products", query=ProductQuery, response=ProductPage, tags=("catalog",))
@cached_api  # the same list for every caller; stock and prices never stale (shop.pagecache)
def products(query: ProductQuery):
    """List and search visible products."""
    f = ProductFilter(**query.model_dump())
    items, total = find_products(f)
    depends_on(shown_product_ids(items))
    return ok(
        {
            "items": product_items(items),
            "total": total,
            "page": f.page,
            "per_page": f.per_page,
            "partial": search_is_partial(f),
        }
    )


class SuggestQuery(QuerySchema):
    # long input is not an error: only the first characters are considered
    q: str = Field(default="", max_length=2000)
    limit: int = Field(default=8, ge=1, le=20)


class Suggestion(BaseModel):
    text: str
    kind: Literal["product", "listing"]
    id: int


class SuggestList(BaseModel):
    items: list[Suggestion]


@endpoint("/search/suggest", query=SuggestQuery, response=SuggestList, tags=("catalog",))
def search_suggest(query: SuggestQuery):
    """Suggestions for a partly typed query: names by prefix, pinyin and initials (`yc`, `banya`)."""
    items = suggest(query.q, limit=query.limit)
    visible = {
        "product": visible_product_ids([i["id"] for i in items if i["kind"] == "product"]),
        "listing": visible_listing_ids([i["id"] for i in items if i["kind"] == "listing"]),
    }
    items = [i for i in items if i["id"] in visible[i["kind"]]]
    return ok({"items": items})
