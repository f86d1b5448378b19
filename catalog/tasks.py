"""Search index updates. Routed to the Celery queue "search" (shop.celery task_routes), which exactly
one worker consumes with concurrency 1, so Whoosh has a single writer:

    celery -A wsgi.celery_app worker -Q search --concurrency 1 --pool solo

Tasks take ids and read the current database state, so a late or repeated task is harmless.
"""
from __future__ import annotations

from celery import shared_task

import catalog.search  # noqa: F401  (installs the session hooks that make the index follow the data)


@shared_task(name="catalog.tasks.reindex_products", acks_late=True)
def reindex_products(product_ids: list[int]) -> int:
    """Index visible products among `product_ids`, remove the others. Returns how many ids."""
    from catalog.search import update_products

    update_products(product_ids)
    return len(product_ids)


@shared_task(name="catalog.tasks.reindex_listings", acks_late=True)
def reindex_listings(listing_ids: list[int]) -> int:
    """Index published tourism listings among `listing_ids`, remove the others."""
    from catalog.search import update_listings

    update_listings(listing_ids)
    return len(listing_ids)


@shared_task(name="catalog.tasks.rebuild_index", acks_late=True)
def rebuild_index() -> int:
    """Rebuild the whole index from the database."""
    from catalog.search import rebuild

    return rebuild()
