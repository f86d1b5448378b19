"""Product search. The only module that may import Whoosh (see the search issue).

Interim implementation: a name/description substring match in the database, so that callers
(`catalog.services.list_products`) already use the final interface `search_product_ids(q)`.
"""
from __future__ import annotations

import sqlalchemy as sa

from catalog.models import Product, visible_products
from shop.extensions import db

MAX_QUERY = 100


def search_product_ids(q: str, limit: int = 1000) -> list[int]:
    """Ids of visible products matching `q`, best first. Junk or empty queries give []."""
    q = "".join(ch for ch in (q or "") if ch.isprintable()).strip()[:MAX_QUERY]
    if not q:
        return []
    like = f"%{q.replace('%', '').replace('_', '')}%"
    rows = db.session.scalars(
        visible_products().with_only_columns(Product.id)
        .where(sa.or_(Product.name.like(like), Product.description.like(like)))
        .order_by(Product.sold_count.desc(), Product.id)
        .limit(limit)
    )
    return list(rows)
