"""API: search suggestions as you type (`GET /api/v1/search/suggest?q=`)."""
from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from shop.api import QuerySchema, endpoint, ok


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
    from catalog.search import suggest
    from catalog.services import visible_listing_ids, visible_product_ids

    items = suggest(query.q, limit=query.limit)
    visible = {
        "product": visible_product_ids([i["id"] for i in items if i["kind"] == "product"]),
        "listing": visible_listing_ids([i["id"] for i in items if i["kind"] == "listing"]),
    }
    items = [i for i in items if i["id"] in visible[i["kind"]]]
    return ok({"items": items})
