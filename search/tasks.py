"""Keeping the search index in step with the database: the index tasks and the session hooks that
enqueue them.

Tasks are routed to the Celery queue "search" (shop.celery task_routes), which exactly one worker
consumes with concurrency 1, so Whoosh has a single writer:

    celery -A wsgi.celery_app worker -Q search --concurrency 1 --pool solo

Tasks take ids and read the current database state, so a late or repeated task is harmless.

Product and Listing inserts, updates and deletes (and renamed villages, townships, categories) are
picked up by SQLAlchemy session events, so no caller has to remember to reindex. The app factory
installs them (`install_session_hooks`); importing this module installs nothing. This module imports
`search.index`; `search.index` never imports it.
"""

from __future__ import annotations

import logging

import sqlalchemy as sa
from celery import shared_task
from sqlalchemy import event
from sqlalchemy.orm import Session

from catalog.models import Category, Product, Township, Village
from search import index as search
from shop.celery import enqueue_after_commit
from tourism.models import Listing

log = logging.getLogger(__name__)


@shared_task(name="search.tasks.reindex_products", acks_late=True)
def reindex_products(product_ids: list[int]) -> int:
    """Index visible products among `product_ids`, remove the others. Returns how many ids."""
    search.update_products(product_ids)
    return len(product_ids)


@shared_task(name="search.tasks.reindex_listings", acks_late=True)
def reindex_listings(listing_ids: list[int]) -> int:
    """Index published tourism listings among `listing_ids`, remove the others."""
    search.update_listings(listing_ids)
    return len(listing_ids)


@shared_task(name="search.tasks.rebuild_index", acks_late=True)
def rebuild_index() -> int:
    """Rebuild the whole index from the database."""
    return search.rebuild()


# ------------------------------------------------------------------------------ session hooks

_PRODUCT_FIELDS = (
    "name",
    "description",
    "category_id",
    "village_id",
    "producer_id",
    "approval_status",
    "is_published",
    "price_fen",
    "station_id",
    "family_id",
    "variant_label",
    "variant_position",
)
_LISTING_FIELDS = ("name", "description", "village_id", "is_published", "kind")
_PLACES = {Village: "v", Township: "t", Category: "c"}
PENDING = "search_pending"


def _changed(obj, names) -> bool:
    state = sa.inspect(obj)
    return any(state.attrs[n].history.has_changes() for n in names if n in state.attrs)


def after_flush(session, _flush_context) -> None:
    """Collect ids of changed products and listings (and renamed villages/townships/categories, whose
    names are in their documents); `before_commit` / `flush_pending` enqueue the index update."""
    pending = session.info.get(PENDING)
    for obj in list(session.new) + list(session.dirty) + list(session.deleted):
        if isinstance(obj, Product):
            key, fields = "p", _PRODUCT_FIELDS
        elif isinstance(obj, Listing):
            key, fields = "l", _LISTING_FIELDS
        elif type(obj) in _PLACES and obj in session.dirty:
            key, fields = _PLACES[type(obj)], ("name",)
        else:
            continue
        if obj in session.dirty and not _changed(obj, fields):
            continue
        if obj.id is None:
            continue
        if pending is None:
            pending = session.info[PENDING] = {k: set() for k in "pltvc"}
            session.info.setdefault("after_commit", []).append(lambda s=session: flush_pending(s))
        pending[key].add(obj.id)


def before_commit(session) -> None:
    """Just before the commit: turn the collected ids into index tasks through the outbox
    (`shop.celery.enqueue_after_commit`), so they commit with the change and survive a Redis outage;
    with no broker they run in process after the commit."""
    if session.info.get(PENDING) is None:
        return
    session.flush()  # changes not flushed yet add their ids now, not after this hook
    _enqueue(session, session.info.pop(PENDING, None), in_transaction=True)


def flush_pending(session) -> None:
    """After commit (shop.db.commit runs it): anything `before_commit` did not take (a flush after
    it, or a commit outside the ORM session's commit) is enqueued now."""
    _enqueue(session, session.info.pop(PENDING, None), in_transaction=False)


def _enqueue(session, pending: dict | None, *, in_transaction: bool) -> None:
    if not pending:
        return
    if pending["v"] or pending["t"] or pending["c"]:
        _add_renamed_places(session, pending, end_transaction=not in_transaction)
    for key, task in (("p", reindex_products), ("l", reindex_listings)):
        if not pending[key]:
            continue
        if in_transaction:
            enqueue_after_commit(task, sorted(pending[key]), session=session)
        else:
            try:
                task.delay(sorted(pending[key]))
            except Exception:  # the index catches up with the next change or `search reindex`
                log.exception("search: index update could not be queued")


def _add_renamed_places(session, pending: dict, *, end_transaction: bool = True) -> None:
    """Products and listings of renamed villages, townships, categories join the update."""
    villages = set(pending["v"])
    if pending["t"]:
        villages |= set(session.scalars(sa.select(Village.id).where(Village.township_id.in_(pending["t"]))))
    cond = [Product.category_id.in_(pending["c"])] if pending["c"] else []
    if villages:
        cond.append(Product.village_id.in_(villages))
        pending["l"] |= set(session.scalars(sa.select(Listing.id).where(Listing.village_id.in_(villages))))
    if cond:
        pending["p"] |= set(session.scalars(sa.select(Product.id).where(sa.or_(*cond))))
    if end_transaction:
        session.commit()  # end the read-only transaction these lookups opened


def after_soft_rollback(session, _previous) -> None:
    if not session.in_transaction():  # the outermost transaction rolled back: forget its changes
        session.info.pop(PENDING, None)


def install_session_hooks() -> None:
    """Make every SQLAlchemy session enqueue index updates for the products and listings it
    changes. Called by the app factory; installing twice is harmless."""
    if not event.contains(Session, "after_flush", after_flush):
        event.listen(Session, "after_flush", after_flush)
        event.listen(Session, "before_commit", before_commit)
        event.listen(Session, "after_soft_rollback", after_soft_rollback)
