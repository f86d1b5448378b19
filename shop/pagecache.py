"""Whole-page cache for anonymous GET pages (home, catalog lists, category, village, product).

Key = catalog generation + locale + path + sorted query string. Backend: Redis when
`CACHE_REDIS_URL` is set (app config, else the environment variable) (shared by all workers), else an in-process LRU dict (embedded default).

Correctness:
- Only anonymous GET requests with no pending flash messages and no `lang=` argument (it writes the
  session) are served from or stored in the cache; only 200 text/html responses are stored, and only
  their body: headers (Set-Cookie, Content-Security-Policy, ...) are always made fresh by the normal
  after-request hooks.
- Per-request values inside the HTML are stored as placeholders and filled per request: the CSRF
  token (the add-to-cart form works; the token is the visitor's own, signed now) and the CSP nonce.
- Invalidation across processes: a "catalog generation" counter (in Redis, else in process) is part
  of every key. Any flush that touches a catalog table (ORM objects, or Core/bulk UPDATE/DELETE/INSERT
  executed through the session, e.g. the guarded stock UPDATEs of stations/services/stock.py) marks
  the session; its commit (SQLAlchemy `after_commit`, so every commit path counts, not only
  `shop.db.commit()`) bumps the generation. A rollback of such changes bumps too (harmless). The
  generation is read *before* the page is rendered, so a page rendered during a concurrent commit
  is stored under the old generation and never served after the bump.
- A TTL (`PAGE_CACHE_TTL`, default 300 s) is a safety net for anything time-dependent.

`PAGE_CACHE` (config): True/False; by default on, except for apps with TESTING (tests opt in).
"""
from __future__ import annotations

import functools
import os
import threading
import time
from collections import OrderedDict

from flask import Response, current_app, g, request, session

CSRF_PLACEHOLDER = "__PAGECACHE_CSRF_TOKEN__"
NONCE_PLACEHOLDER = "__PAGECACHE_CSP_NONCE__"
_DIRTY = "pagecache_dirty"
_REDIS_GEN_KEY = "pagecache:gen"

#: Tables whose change can alter a cached page.
CATALOG_TABLES = frozenset({
    "products", "stock_records", "product_images", "benefit_links", "categories", "villages",
    "townships", "stations", "listings", "unit_types", "producers", "listing_images", "households",
})


class LocalBackend:
    """In-process LRU with an entry limit; generation counter in process."""

    def __init__(self, max_entries: int = 1000):
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._gen = 0

    def generation(self) -> str:
        return str(self._gen)

    def bump(self) -> None:
        with self._lock:
            self._gen += 1
            self._data.clear()  # old generations can never be read again

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._data.get(key)
            if item is None:
                return None
            expires, body = item
            if expires < time.monotonic():
                del self._data[key]
                return None
            self._data.move_to_end(key)
            return body

    def set(self, key: str, body: str, ttl: int) -> None:
        with self._lock:
            self._data[key] = (time.monotonic() + ttl, body)
            self._data.move_to_end(key)
            while len(self._data) > self.max_entries:
                self._data.popitem(last=False)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()


class RedisBackend:
    """Shared by every worker; the generation is one Redis integer, entries expire by TTL."""

    def __init__(self, url: str):
        import redis

        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5)

    def generation(self) -> str:
        value = self.client.get(_REDIS_GEN_KEY)
        return value.decode() if value else "0"

    def bump(self) -> None:
        self.client.incr(_REDIS_GEN_KEY)

    def get(self, key: str) -> str | None:
        value = self.client.get("pagecache:" + key)
        return value.decode() if value is not None else None

    def set(self, key: str, body: str, ttl: int) -> None:
        self.client.set("pagecache:" + key, body.encode(), ex=ttl)

    def clear(self) -> None:
        self.bump()


_backend: LocalBackend | RedisBackend | None = None
_backend_url: str | None = None


def backend():
    """The backend for the current app's config (one per process)."""
    global _backend, _backend_url
    config = current_app.config
    url = config["CACHE_REDIS_URL"] if "CACHE_REDIS_URL" in config else os.environ.get("CACHE_REDIS_URL", "")
    url = url or ""
    if _backend is None or url != _backend_url:
        _backend = RedisBackend(url) if url else LocalBackend(int(current_app.config.get("PAGE_CACHE_MAX_ENTRIES", 1000)))
        _backend_url = url
    return _backend


def enabled() -> bool:
    setting = current_app.config.get("PAGE_CACHE")
    if setting is None:
        return not current_app.testing
    return bool(setting)


def catalog_changed() -> None:
    """Bump the catalog generation now: every cached page becomes unreachable (all processes)."""
    try:
        if _backend is not None:
            _backend.bump()
        elif current_app:
            backend().bump()
    except RuntimeError:  # no app context and no backend yet: nothing is cached in this process
        pass
    except Exception:  # a cache outage must never break a committed request
        current_app.logger.exception("page cache: generation bump failed")


def clear() -> None:
    if _backend is not None:
        _backend.clear()


# --- deciding and serving ---------------------------------------------------------------------

def _cacheable_request() -> bool:
    from flask_login import current_user

    if request.method != "GET" or "lang" in request.args:
        return False
    if "_flashes" in session:
        return False
    if "_user_id" in session or request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        return False
    return not current_user.is_authenticated


def _key(generation: str) -> str:
    from flask_babel import get_locale

    query = "&".join(f"{k}={v}" for k, v in sorted(request.args.items(multi=True)))
    return f"{generation}|{get_locale()}|{request.path}?{query}"


def _fill(body: str) -> str:
    if CSRF_PLACEHOLDER in body:
        from flask_wtf.csrf import generate_csrf

        body = body.replace(CSRF_PLACEHOLDER, generate_csrf())
    if NONCE_PLACEHOLDER in body:
        from shop.security import csp_nonce

        body = body.replace(NONCE_PLACEHOLDER, csp_nonce())
    return body


def _template(body: str) -> str:
    """The rendered page with this request's CSRF token and CSP nonce turned into placeholders."""
    token = g.get("csrf_token")
    if token:
        body = body.replace(token, CSRF_PLACEHOLDER)
    nonce = g.get("csp_nonce")
    if nonce:
        body = body.replace(nonce, NONCE_PLACEHOLDER)
    return body


def cached_page(view):
    """Decorator for anonymous GET pages: serve from the page cache, store 200 HTML responses."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not enabled() or not _cacheable_request():
            return view(*args, **kwargs)
        try:
            store = backend()
            key = _key(store.generation())  # read before rendering (see module docstring)
            body = store.get(key)
        except Exception:
            current_app.logger.exception("page cache unavailable")
            return view(*args, **kwargs)
        if body is not None:
            return Response(_fill(body), mimetype="text/html")
        response = current_app.make_response(view(*args, **kwargs))
        if (response.status_code == 200 and response.mimetype == "text/html"
                and not response.direct_passthrough and "Set-Cookie" not in response.headers
                and "_flashes" not in session):
            try:
                store.set(key, _template(response.get_data(as_text=True)),
                          int(current_app.config.get("PAGE_CACHE_TTL", 300)))
            except Exception:
                current_app.logger.exception("page cache: store failed")
        return response

    return wrapper


# --- invalidation -----------------------------------------------------------------------------

def _catalog_object(obj) -> bool:
    table = getattr(obj, "__tablename__", None)
    return table in CATALOG_TABLES


def _after_flush(session, _flush_context) -> None:
    if session.info.get(_DIRTY):
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        if _catalog_object(obj):
            session.info[_DIRTY] = True
            return


def _do_orm_execute(state) -> None:
    """Core/bulk DML through the session (e.g. guarded stock UPDATEs) does not flush: look at it here."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(state.statement, "table", None)
    if getattr(table, "name", None) in CATALOG_TABLES:
        state.session.info[_DIRTY] = True


def _after_commit(session) -> None:
    if session.info.pop(_DIRTY, False):
        catalog_changed()


def _after_soft_rollback(session, _previous) -> None:
    if not session.in_transaction() and session.info.pop(_DIRTY, False):
        catalog_changed()


def _install_session_hooks() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _do_orm_execute)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)


_install_session_hooks()  # at import (the catalog and home views import this module), like catalog/search.py
