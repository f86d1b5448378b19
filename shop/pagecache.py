"""Whole-page cache for anonymous GET pages (home, catalog lists, category, village, product).

Entry key = locale + path + sorted query string. Backend: Redis when `CACHE_REDIS_URL` is set (app
config, else the environment variable; shared by all workers), else in process (embedded default).
Each worker also keeps a small in-process copy of recent entries (`PAGE_CACHE_LOCAL_ENTRIES`, 128)
so that a hit costs one Redis round trip (the versions below), not a transfer of the page.

Correctness:
- Only anonymous GET requests with no pending flash messages and no `lang=` argument (it writes the
  session) are served from or stored in the cache; only 200 text/html responses are stored, and only
  their body: headers (Set-Cookie, Content-Security-Policy, ...) are always made fresh by the normal
  after-request hooks.
- Per-request values inside the HTML are stored as placeholders and filled per request: the CSRF
  token (the add-to-cart form works; the token is the visitor's own, signed now) and the CSP nonce.
- Two kinds of invalidation, decided when a session flushes or executes DML on a catalog table and
  applied after its commit (SQLAlchemy `after_commit`, so every commit path counts):
  * **per product** for what a checkout, a cancellation, a hand-over or a stock receipt changes:
    `stock_records` rows (ORM or Core, e.g. the guarded stock UPDATEs of stations/services/stock.py)
    and `products.sold_count`. Each such product gets a new version (`pagecache:pv:<id>` = the next
    value of the `pagecache:seq` counter). Every entry remembers the products it rendered (ORM loads
    of Product/StockRecord rows while rendering, `_record_load`) with their versions; a hit checks
    them (one MGET) and any change is a miss. So a checkout invalidates the pages that show the
    product it sold - never another product's page, nor the home page if it does not show it.
  * **global** (the `pagecache:gen` counter, part of every entry) for everything else: prices, names,
    publishing, approvals, images, benefit links, categories, villages, stations, listings... and
    for any DML whose product ids cannot be read from the statement (the safe fallback).
  Race: the global generation and the sequence are read *before* the page is rendered, the rendered
  products' versions after; a page is stored only when none of those versions is newer than the
  sequence read before (else a commit raced the render and the page may hold old stock), under the
  generation read before. A page rendered during a concurrent commit is therefore never served
  after that commit's bump.
  What is not invalidated per product: a list's *membership and order* when a product that is not on
  it changes stock or sold count (e.g. the `in_stock=1` list gaining a restocked product, best-selling
  order drifting). Prices and stock badges shown are always current; order drifts until the TTL.
- A TTL (`PAGE_CACHE_TTL`, default 300 s) is a safety net for anything time-dependent.

`PAGE_CACHE` (config): True/False; by default on, except for apps with TESTING (tests opt in).
"""
from __future__ import annotations

import contextvars
import functools
import json
import os
import threading
import time
from collections import OrderedDict

from flask import Response, current_app, g, request, session

CSRF_PLACEHOLDER = "__PAGECACHE_CSRF_TOKEN__"
NONCE_PLACEHOLDER = "__PAGECACHE_CSP_NONCE__"
_DIRTY = "pagecache_dirty"  # session.info: a global bump is due at commit
_PRODUCTS = "pagecache_products"  # session.info: product ids whose version is due at commit
_RECORDS = "pagecache_records"  # session.info: stock record ids whose product is not known yet
_REDIS_GEN_KEY = "pagecache:gen"
_REDIS_SEQ_KEY = "pagecache:seq"
_REDIS_PV = "pagecache:pv:"
_REDIS_PAGE = "pagecache:page:"

#: Tables whose change can alter a cached page.
CATALOG_TABLES = frozenset({
    "products", "stock_records", "product_images", "benefit_links", "categories", "villages",
    "townships", "stations", "listings", "unit_types", "producers", "listing_images", "households",
})
#: Product columns whose change is per product (the rest bump the generation).
_PER_PRODUCT_COLUMNS = frozenset({"sold_count", "updated_at"})


class Entry:
    """A stored page: the generation it was rendered under, {product id: version}, the body."""

    __slots__ = ("gen", "deps", "body")

    def __init__(self, gen: str, deps: dict[int, int], body: str):
        self.gen, self.deps, self.body = gen, deps, body

    def dump(self) -> str:
        return json.dumps({"g": self.gen, "d": self.deps}, separators=(",", ":")) + "\n" + self.body

    @classmethod
    def load(cls, raw: str) -> "Entry":
        head, _, body = raw.partition("\n")
        meta = json.loads(head)
        return cls(str(meta["g"]), {int(k): int(v) for k, v in meta["d"].items()}, body)


class LocalBackend:
    """In-process LRU with an entry limit; generation, sequence and product versions in process."""

    def __init__(self, max_entries: int = 1000):
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._gen = 0
        self._seq = 0
        self._versions: dict[int, int] = {}

    def generation(self) -> str:
        return str(self._gen)

    def snapshot(self) -> tuple[str, int]:
        """(generation, sequence), read before rendering."""
        return str(self._gen), self._seq

    def versions(self, ids) -> dict[int, int]:
        return {i: self._versions.get(i, 0) for i in ids}

    def valid(self, entry: Entry) -> bool:
        return entry.gen == str(self._gen) and all(self._versions.get(i, 0) == v for i, v in entry.deps.items())

    def bump(self) -> None:
        with self._lock:
            self._gen += 1
            self._data.clear()  # old generations can never be read again

    def bump_products(self, ids) -> None:
        with self._lock:
            self._seq += 1
            for i in ids:
                self._versions[i] = self._seq

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
    """Shared by every worker: the generation and the sequence are Redis integers, product versions
    Redis strings (expiring: a missing version reads 0 and mismatches any stored one), entries expire by TTL."""

    _BUMP = """
local s = redis.call('INCR', KEYS[1])
for i = 2, #KEYS do redis.call('SET', KEYS[i], s, 'EX', ARGV[1]) end
return s
"""

    def __init__(self, url: str):
        import redis

        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # no retries: redis-py's default (3, with backoff) makes each call ~4 s while Redis is down
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                           retry=Retry(NoBackoff(), 0))
        self._bump_script = self.client.register_script(self._BUMP)
        self.version_ttl = 3600

    def generation(self) -> str:
        value = self.client.get(_REDIS_GEN_KEY)
        return value.decode() if value else "0"

    def snapshot(self) -> tuple[str, int]:
        gen, seq = self.client.mget(_REDIS_GEN_KEY, _REDIS_SEQ_KEY)
        return (gen.decode() if gen else "0"), int(seq or 0)

    def versions(self, ids) -> dict[int, int]:
        ids = list(ids)
        if not ids:
            return {}
        return {i: int(v or 0) for i, v in zip(ids, self.client.mget([_REDIS_PV + str(i) for i in ids]))}

    def valid(self, entry: Entry) -> bool:
        ids = list(entry.deps)
        values = self.client.mget([_REDIS_GEN_KEY, *(_REDIS_PV + str(i) for i in ids)])
        if (values[0].decode() if values[0] else "0") != entry.gen:
            return False
        return all(int(v or 0) == entry.deps[i] for i, v in zip(ids, values[1:]))

    def bump(self) -> None:
        self.client.incr(_REDIS_GEN_KEY)

    def bump_products(self, ids) -> None:
        keys = [_REDIS_PV + str(i) for i in sorted(ids)]
        if keys:
            self._bump_script(keys=[_REDIS_SEQ_KEY, *keys], args=[self.version_ttl])

    def get(self, key: str) -> str | None:
        value = self.client.get(_REDIS_PAGE + key)
        return value.decode() if value is not None else None

    def set(self, key: str, body: str, ttl: int) -> None:
        self.client.set(_REDIS_PAGE + key, body.encode(), ex=ttl)

    def clear(self) -> None:
        self.bump()


_backend: LocalBackend | RedisBackend | None = None
_backend_url: str | None = None
#: This worker's copies of recent entries: {key: (expires, Entry)}; always re-validated on use.
_local: OrderedDict[str, tuple[float, Entry]] = OrderedDict()
_local_lock = threading.Lock()


def backend():
    """The backend for the current app's config (one per process)."""
    global _backend, _backend_url
    config = current_app.config
    url = config["CACHE_REDIS_URL"] if "CACHE_REDIS_URL" in config else os.environ.get("CACHE_REDIS_URL", "")
    url = url or ""
    if _backend is None or url != _backend_url:
        _backend = RedisBackend(url) if url else LocalBackend(int(current_app.config.get("PAGE_CACHE_MAX_ENTRIES", 1000)))
        _backend_url = url
        _local.clear()
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


def products_changed(ids) -> None:
    """New versions for these products now: the cached pages that show one of them become misses."""
    ids = {int(i) for i in ids}
    if not ids:
        return
    try:
        store = _backend if _backend is not None else backend()
        store.bump_products(ids)
    except RuntimeError:  # no app context and no backend yet: nothing is cached in this process
        pass
    except Exception:  # a cache outage must never break a committed request
        current_app.logger.exception("page cache: product version bump failed")


def clear() -> None:
    with _local_lock:
        _local.clear()
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


def _key() -> str:
    from flask_babel import get_locale

    query = "&".join(f"{k}={v}" for k, v in sorted(request.args.items(multi=True)))
    return f"{get_locale()}|{request.path}?{query}"


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


#: The product ids loaded while a cacheable page renders (None outside such a render).
_rendering: contextvars.ContextVar[set | None] = contextvars.ContextVar("pagecache_rendering", default=None)


def _record_load(target, _context) -> None:
    """ORM `load` hook: a cacheable page being rendered depends on the products it loads."""
    deps = _rendering.get()
    if deps is None:
        return
    table = getattr(target, "__tablename__", None)
    if table == "products":
        deps.add(target.id)
    elif table == "stock_records":
        deps.add(target.product_id)


def depends_on(product_ids) -> None:
    """Declare that the page being rendered shows these products (their price, stock badge...).

    Views call it with what they show; ORM loads are recorded too (`_record_load`), but an object
    already in the session's identity map fires no load event, so the explicit list is the contract."""
    deps = _rendering.get()
    if deps is not None:
        deps.update(int(i) for i in product_ids)


def _lookup(store, key: str) -> Entry | None:
    """The valid entry for `key` (this worker's copy first, then the backend), else None."""
    now = time.monotonic()
    with _local_lock:
        item = _local.get(key)
        if item is not None:
            if item[0] < now:
                del _local[key]
                item = None
            else:
                _local.move_to_end(key)
    entry = item[1] if item is not None else None
    if entry is None:
        raw = store.get(key)
        if raw is None:
            return None
        entry = Entry.load(raw)
        _remember(key, entry)
    return entry if store.valid(entry) else None


def _remember(key: str, entry: Entry) -> None:
    limit = int(current_app.config.get("PAGE_CACHE_LOCAL_ENTRIES", 128))
    if limit <= 0:
        return
    ttl = int(current_app.config.get("PAGE_CACHE_TTL", 300))
    with _local_lock:
        _local[key] = (time.monotonic() + ttl, entry)
        _local.move_to_end(key)
        while len(_local) > limit:
            _local.popitem(last=False)


def cached_page(view):
    """Decorator for anonymous GET pages: serve from the page cache, store 200 HTML responses."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not enabled() or not _cacheable_request():
            return view(*args, **kwargs)
        try:
            store = backend()
            key = _key()
            entry = _lookup(store, key)
            if entry is None:
                gen, seq = store.snapshot()  # before rendering (see module docstring)
        except Exception:
            current_app.logger.exception("page cache unavailable")
            return view(*args, **kwargs)
        if entry is not None:
            return Response(_fill(entry.body), mimetype="text/html")
        deps: set[int] = set()
        token = _rendering.set(deps)
        try:
            response = current_app.make_response(view(*args, **kwargs))
        finally:
            _rendering.reset(token)
        if (response.status_code == 200 and response.mimetype == "text/html"
                and not response.direct_passthrough and "Set-Cookie" not in response.headers
                and "_flashes" not in session):
            try:
                versions = store.versions(sorted(deps))
                if all(v <= seq for v in versions.values()):  # else a commit raced the render
                    entry = Entry(gen, versions, _template(response.get_data(as_text=True)))
                    store.set(key, entry.dump(), int(current_app.config.get("PAGE_CACHE_TTL", 300)))
                    _remember(key, entry)
            except Exception:
                current_app.logger.exception("page cache: store failed")
        return response

    return wrapper


# --- invalidation -----------------------------------------------------------------------------

def _mark_global(session) -> None:
    session.info[_DIRTY] = True


def _mark_products(session, ids) -> None:
    session.info.setdefault(_PRODUCTS, set()).update(int(i) for i in ids)


#: stock record id -> product id (a record never changes product), filled as records are seen.
_record_products: dict[int, int] = {}


def _note_records(session, record_ids) -> None:
    """Products of these stock records: from the identity map or this process's memo, else at commit."""
    from sqlalchemy.orm import object_session  # noqa: F401  (keeps the import local)

    pending = session.info.setdefault(_RECORDS, set())
    products = session.info.setdefault(_PRODUCTS, set())
    for rid in record_ids:
        pid = _record_products.get(rid)
        if pid is None:
            for obj in session.identity_map.values():
                if getattr(obj, "__tablename__", None) == "stock_records" and obj.__dict__.get("id") == rid:
                    pid = obj.__dict__.get("product_id")
                    break
        if pid is None:
            pending.add(rid)
        else:
            _record_products[rid] = pid
            products.add(pid)


def _after_flush(session, _flush_context) -> None:
    if session.info.get(_DIRTY):
        return
    from sqlalchemy import inspect

    for obj in (*session.new, *session.dirty, *session.deleted):
        table = getattr(obj, "__tablename__", None)
        if table not in CATALOG_TABLES:
            continue
        if table == "stock_records" and obj not in session.new and obj not in session.deleted:
            pid = obj.__dict__.get("product_id")
            if pid is None:
                _mark_global(session)
                return
            _mark_products(session, [pid])
            continue
        if table == "products" and obj not in session.new and obj not in session.deleted:
            state = inspect(obj)
            changed = {a.key for a in state.attrs if a.history.has_changes()}
            if changed and changed <= _PER_PRODUCT_COLUMNS:
                _mark_products(session, [obj.id])
                continue
            if not changed:  # flushed without a column change (e.g. a relationship only)
                continue
        _mark_global(session)
        return


def _where_ids(state, column: str) -> list[int] | None:
    """The values of `<table>.<column> == x` (or IN) in the statement's WHERE, with executemany
    parameters; None when the statement does not name its rows that way."""
    from sqlalchemy.sql import operators, visitors
    from sqlalchemy.sql.elements import BinaryExpression, BindParameter, ColumnClause

    where = getattr(state.statement, "whereclause", None)
    if where is None:
        return None
    ids: list[int] = []
    found = False
    params = state.parameters
    for node in visitors.iterate(where):
        if not isinstance(node, BinaryExpression) or node.operator not in (operators.eq, operators.in_op):
            continue
        left, right = node.left, node.right
        if not (isinstance(left, ColumnClause) and left.name == column and isinstance(right, BindParameter)):
            continue
        found = True
        if right.value is not None and not callable(right.value):
            values = right.value if isinstance(right.value, (list, tuple, set)) else [right.value]
        else:
            rows = params if isinstance(params, (list, tuple)) else [params or {}]
            values = []
            for row in rows:
                if right.key not in row:
                    return None
                values.append(row[right.key])
        try:
            ids += [int(v) for v in values]
        except (TypeError, ValueError):
            return None
    return ids if found else None


def _do_orm_execute(state) -> None:
    """Core/bulk DML through the session (e.g. guarded stock UPDATEs) does not flush: look at it here."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    session = state.session
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table not in CATALOG_TABLES or session.info.get(_DIRTY):
        return
    if state.is_update and table == "stock_records":
        ids = _where_ids(state, "id")
        if ids is not None:
            _note_records(session, ids)
            return
    if state.is_update and table == "products":
        values = getattr(state.statement, "_values", None) or {}
        names = {getattr(k, "key", getattr(k, "name", k)) for k in values}
        ids = _where_ids(state, "id")
        if ids is not None and names and names <= _PER_PRODUCT_COLUMNS:
            _mark_products(session, ids)
            return
    _mark_global(session)


def _before_commit(session) -> None:
    """Stock records seen only by id (Core UPDATEs): their products, in one query, still in the transaction."""
    pending = session.info.pop(_RECORDS, None)
    if not pending or session.info.get(_DIRTY):
        return
    import sqlalchemy as sa

    try:
        rows = session.execute(sa.text("SELECT id, product_id FROM stock_records WHERE id IN :ids")
                               .bindparams(sa.bindparam("ids", expanding=True)), {"ids": sorted(pending)})
        for rid, pid in rows:
            _record_products[rid] = pid
            session.info.setdefault(_PRODUCTS, set()).add(pid)
        if len(_record_products) > 100_000:
            _record_products.clear()
    except Exception:
        _mark_global(session)


def _after_commit(session) -> None:
    products = session.info.pop(_PRODUCTS, None)
    session.info.pop(_RECORDS, None)
    if session.info.pop(_DIRTY, False):
        catalog_changed()
    elif products:
        products_changed(products)


def _after_soft_rollback(session, _previous) -> None:
    if not session.in_transaction():
        session.info.pop(_RECORDS, None)
        products = session.info.pop(_PRODUCTS, None)
        if session.info.pop(_DIRTY, False):
            catalog_changed()
        elif products:
            products_changed(products)


def _install_session_hooks() -> None:
    from sqlalchemy import event
    from sqlalchemy.orm import Session

    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _do_orm_execute)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)
    from shop.extensions import db

    if not event.contains(db.Model, "load", _record_load):
        event.listen(db.Model, "load", _record_load, propagate=True)


_install_session_hooks()  # at import (the catalog and home views import this module), like catalog/search.py
