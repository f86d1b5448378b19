"""Whole-page cache for anonymous GET pages (home, catalog lists, category, village, product).

Entry key = locale + path + sorted query string. Backend: Redis when `CACHE_REDIS_URL` is set (app
config, else the environment variable; shared by all workers), else in process (embedded default).
Each worker also keeps a small in-process copy of recent entries (`PAGE_CACHE_LOCAL_ENTRIES`, 128)
so that a hit costs one small Redis round trip (generation + the page's stamp), not a transfer of
the page.

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
    and `products.sold_count`. Every stored page records the products it shows (`depends_on` from
    the views, plus ORM loads of Product/StockRecord rows while rendering, `_record_load`) in a
    reverse index (product -> pages); a product's change deletes the *stamps* of those pages (and
    gives the product a new version, the next value of the `pagecache:seq` counter). A hit checks
    that its page's stamp is still there and unchanged. So a checkout invalidates the pages that show
    the product it sold - never another product's page, nor the home page if it does not show it.
  * **global** (the `pagecache:gen` counter, part of every entry) for everything else: prices, names,
    publishing, approvals, images, benefit links, categories, villages, stations, listings... and
    for any DML whose product ids cannot be read from the statement (the safe fallback).
  Race: the global generation and the sequence are read *before* the page is rendered; the store
  (atomic, a Lua script in Redis) refuses when one of the page's products has a version newer than
  that sequence (a commit raced the render and the page may hold old stock), and the page carries
  the generation read before. A page rendered during a concurrent commit is therefore never served
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
import os
import threading
import time
from collections import OrderedDict

from flask import Response, current_app, g, request, session

CSRF_PLACEHOLDER = "__PAGECACHE_CSRF_TOKEN__"
NONCE_PLACEHOLDER = "__PAGECACHE_CSP_NONCE__"
_CSRF_BYTES = CSRF_PLACEHOLDER.encode()
_NONCE_BYTES = NONCE_PLACEHOLDER.encode()
_DIRTY = "pagecache_dirty"  # session.info: a global bump is due at commit
_PRODUCTS = "pagecache_products"  # session.info: product ids whose version is due at commit
_RECORDS = "pagecache_records"  # session.info: stock record ids whose product is not known yet
_REDIS_GEN_KEY = "pagecache:gen"
_REDIS_SEQ_KEY = "pagecache:seq"
_REDIS_PV = "pagecache:pv:"
_REDIS_PAGE = "pagecache:page:"
_REDIS_STAMP = "pagecache:stamp:"
_REDIS_PAGES = "pagecache:pages:"

#: Tables whose change can alter a cached page.
CATALOG_TABLES = frozenset({
    "products", "stock_records", "product_images", "benefit_links", "categories", "villages",
    "townships", "stations", "listings", "unit_types", "producers", "listing_images", "households",
})
#: Product columns whose change is per product (the rest bump the generation).
_PER_PRODUCT_COLUMNS = frozenset({"sold_count", "updated_at"})


class Entry:
    """A stored page: the generation it was rendered under, its stamp (see `valid`), the body."""

    __slots__ = ("gen", "stamp", "body", "_encoded")

    def __init__(self, gen: str, stamp: str, body: str):
        self.gen, self.stamp, self.body = gen, stamp, body
        self._encoded = None

    def encoded(self) -> bytes:
        """The body in UTF-8, encoded once per entry (a 40 KB Chinese page costs about 25 µs to
        encode: a sixth of a front-door hit); the placeholders are ASCII, replaced in the bytes."""
        if self._encoded is None:
            self._encoded = self.body.encode("utf-8")
        return self._encoded

    def dump(self) -> str:
        return f"{self.gen} {self.stamp}\n{self.body}"

    @classmethod
    def load(cls, raw: str) -> "Entry":
        head, _, body = raw.partition("\n")
        gen, _, stamp = head.partition(" ")
        return cls(gen, stamp, body)


def new_stamp() -> str:
    return os.urandom(8).hex()


class LocalBackend:
    """In process: an LRU of entries with an entry limit; generation, sequence, product versions,
    the pages of each product and each page's current stamp, all in process (one process only)."""

    def __init__(self, max_entries: int = 1000):
        self.max_entries = max_entries
        self._data: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._lock = threading.Lock()
        self._gen = 0
        self._seq = 0
        self._versions: dict[int, int] = {}
        self._pages_of: dict[int, set[str]] = {}
        self._stamps: dict[str, str] = {}

    def generation(self) -> str:
        return str(self._gen)

    def snapshot(self) -> tuple[str, int]:
        """(generation, sequence), read before rendering."""
        return str(self._gen), self._seq

    def lookup(self, key: str, local: Entry | None) -> Entry | None:
        entry = local
        if entry is None:
            raw = self.get(key)
            entry = Entry.load(raw) if raw is not None else None
        if entry is None or entry.gen != str(self._gen) or self._stamps.get(key) != entry.stamp:
            return None
        return entry

    def store(self, key: str, entry: Entry, deps, seq: int, ttl: int) -> bool:
        with self._lock:
            if any(self._versions.get(i, 0) > seq for i in deps):
                return False  # a commit raced the render
            for i in deps:
                self._pages_of.setdefault(i, set()).add(key)
            self._stamps[key] = entry.stamp
        self.set(key, entry.dump(), ttl)
        return True

    def bump(self) -> None:
        with self._lock:
            self._gen += 1
            self._data.clear()  # old generations can never be read again
            self._pages_of.clear()
            self._stamps.clear()

    def bump_products(self, ids) -> None:
        with self._lock:
            self._seq += 1
            for i in ids:
                self._versions[i] = self._seq
                for key in self._pages_of.pop(i, ()):
                    self._stamps.pop(key, None)

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
    """Shared by every worker. Keys: `pagecache:gen` and `pagecache:seq` (integers);
    `pagecache:page:<key>` (the entry), `pagecache:stamp:<key>` (its current stamp; deleted when a
    product it shows changes), `pagecache:pages:<product id>` (the set of page keys showing it),
    `pagecache:pv:<product id>` (the sequence value of its last change). Storing and bumping are
    Lua scripts, so each is atomic against the other: a store either precedes a bump (which then
    deletes its stamp) or follows it (and then sees the newer version and refuses)."""

    _STORE = """
local n = tonumber(ARGV[5])
for i = 1, n do
  if tonumber(redis.call('GET', KEYS[2 + i]) or '0') > tonumber(ARGV[1]) then return 0 end
end
redis.call('SET', KEYS[1], ARGV[3], 'EX', ARGV[2])
redis.call('SET', KEYS[2], ARGV[4], 'EX', ARGV[2])
for i = 1, n do
  redis.call('SADD', KEYS[2 + n + i], ARGV[6])
  redis.call('EXPIRE', KEYS[2 + n + i], ARGV[2])
end
return 1
"""
    _BUMP = """
local s = redis.call('INCR', KEYS[1])
local n = tonumber(ARGV[2])
for i = 1, n do
  redis.call('SET', KEYS[1 + i], s, 'EX', ARGV[1])
  for _, page in ipairs(redis.call('SMEMBERS', KEYS[1 + n + i])) do redis.call('DEL', ARGV[3] .. page) end
  redis.call('DEL', KEYS[1 + n + i])
end
return s
"""

    def __init__(self, url: str):
        import redis

        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # no retries: redis-py's default (3, with backoff) makes each call ~4 s while Redis is down
        self.client = redis.Redis.from_url(url, socket_timeout=0.5, socket_connect_timeout=0.5,
                                           retry=Retry(NoBackoff(), 0))
        self._store = self.client.register_script(self._STORE)
        self._bump = self.client.register_script(self._BUMP)
        self.version_ttl = 3600
        self._threads = threading.local()

    def _mget(self, keys: list[str]) -> list:
        """MGET on this thread's own connection, for the lookup every hit makes. Through the client,
        the pool's checkout and check-in, the retry wrapper and redis-py's per-command instrumentation
        cost about 40 µs of CPU per call (89 → 51 µs measured): a quarter of a front-door hit. Same
        timeouts as the client; on any error the connection is closed and dropped (the next call
        connects anew) and the error raised, as the client would. A forked child makes its own."""
        own = self._threads
        conn = getattr(own, "conn", None)
        if conn is None or own.pid != os.getpid():
            conn = own.conn = self.client.connection_pool.make_connection()
            own.pid = os.getpid()
        try:
            conn.send_command("MGET", *keys)
            return conn.read_response()
        except BaseException:
            own.conn = None
            conn.disconnect()
            raise

    def generation(self) -> str:
        value = self.client.get(_REDIS_GEN_KEY)
        return value.decode() if value else "0"

    def snapshot(self) -> tuple[str, int]:
        gen, seq = self.client.mget(_REDIS_GEN_KEY, _REDIS_SEQ_KEY)
        return (gen.decode() if gen else "0"), int(seq or 0)

    def lookup(self, key: str, local: Entry | None) -> Entry | None:
        """One round trip: the generation and the page's stamp (and the page when not held locally)."""
        keys = [_REDIS_GEN_KEY, _REDIS_STAMP + key]
        if local is None:
            keys.append(_REDIS_PAGE + key)
        values = self._mget(keys)
        entry = local if local is not None else (Entry.load(values[2].decode()) if values[2] is not None else None)
        if entry is None or values[1] is None:
            return None
        if (values[0].decode() if values[0] else "0") != entry.gen or values[1].decode() != entry.stamp:
            return None
        return entry

    def store(self, key: str, entry: Entry, deps, seq: int, ttl: int) -> bool:
        deps = sorted(deps)
        keys = [_REDIS_PAGE + key, _REDIS_STAMP + key, *(_REDIS_PV + str(i) for i in deps),
                *(_REDIS_PAGES + str(i) for i in deps)]
        return bool(self._store(keys=keys, args=[seq, ttl, entry.dump().encode(), entry.stamp, len(deps), key]))

    def bump(self) -> None:
        self.client.incr(_REDIS_GEN_KEY)

    def bump_products(self, ids) -> None:
        ids = sorted(ids)
        if ids:
            keys = [_REDIS_SEQ_KEY, *(_REDIS_PV + str(i) for i in ids), *(_REDIS_PAGES + str(i) for i in ids)]
            self._bump(keys=keys, args=[self.version_ttl, len(ids), _REDIS_STAMP])

    def get(self, key: str) -> str | None:
        value = self.client.get(_REDIS_PAGE + key)
        return value.decode() if value is not None else None

    def clear(self) -> None:
        self.bump()


_backend: LocalBackend | RedisBackend | None = None
_backend_url: str | None = None
#: This worker's copies of recent entries: {key: (expires, Entry)}; always re-validated on use.
_local: OrderedDict[str, tuple[float, Entry]] = OrderedDict()
_local_lock = threading.Lock()


def backend(config=None):
    """The backend for the current app's config (one per process)."""
    global _backend, _backend_url
    config = current_app.config if config is None else config
    url = config["CACHE_REDIS_URL"] if "CACHE_REDIS_URL" in config else os.environ.get("CACHE_REDIS_URL", "")
    url = url or ""
    if _backend is None or url != _backend_url:
        _backend = RedisBackend(url) if url else LocalBackend(int(config.get("PAGE_CACHE_MAX_ENTRIES", 1000)))
        _backend_url = url
        _local.clear()
    return _backend


def enabled(app=None) -> bool:
    app = current_app if app is None else app
    setting = app.config.get("PAGE_CACHE")
    if setting is None:
        return not app.testing
    return bool(setting)


#: While the cache's Redis is down every request meets the outage: the traceback is logged once per
#: this many seconds and per message, the rest are counted into the next log line.
OUTAGE_LOG_SECONDS = 60.0
_outage_logged: dict[str, tuple[float, int]] = {}


def _log_outage(message: str) -> None:
    """`logger.exception(message)`, at most once per OUTAGE_LOG_SECONDS per message and process."""
    now = time.monotonic()
    last, skipped = _outage_logged.get(message, (float("-inf"), 0))
    if now - last < OUTAGE_LOG_SECONDS:
        _outage_logged[message] = (last, skipped + 1)
        return
    _outage_logged[message] = (now, 0)
    suffix = f" ({skipped} more since the last report)" if skipped else ""
    current_app.logger.exception(message + suffix)


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
        _log_outage("page cache: generation bump failed")


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
        _log_outage("page cache: product version bump failed")


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

    return make_key(str(get_locale()), request.path, request.args.items(multi=True))


def make_key(locale: str, path: str, args) -> str:
    """The entry key: locale, path and the sorted query arguments ((name, value) pairs)."""
    query = "&".join(f"{k}={v}" for k, v in sorted(args))
    return f"{locale}|{path}?{query}"


def _fill(body: str) -> str:
    if CSRF_PLACEHOLDER in body:
        from shop.security import csrf_token

        body = body.replace(CSRF_PLACEHOLDER, csrf_token())
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


def _lookup(store, key: str, config=None) -> Entry | None:
    """The valid entry for `key` (this worker's copy, else the backend's), else None: one round trip."""
    now = time.monotonic()
    with _local_lock:
        item = _local.get(key)
        if item is not None:
            if item[0] < now:
                del _local[key]
                item = None
            else:
                _local.move_to_end(key)
    local = item[1] if item is not None else None
    entry = store.lookup(key, local)
    if entry is None and local is not None:  # maybe another worker stored a newer page
        with _local_lock:
            _local.pop(key, None)
        entry = store.lookup(key, None)
        local = None
    if entry is not None and local is None:
        _remember(key, entry, config)
    return entry


def _remember(key: str, entry: Entry, config=None) -> None:
    config = current_app.config if config is None else config
    limit = int(config.get("PAGE_CACHE_LOCAL_ENTRIES", 128))
    if limit <= 0:
        return
    ttl = int(config.get("PAGE_CACHE_TTL", 300))
    with _local_lock:
        _local[key] = (time.monotonic() + ttl, entry)
        _local.move_to_end(key)
        while len(_local) > limit:
            _local.popitem(last=False)


_HEADER = ("<!--pc:header-->", "<!--/pc:header-->", "_macros/_header.html")
_FLASHES = ("<!--pc:flashes-->", "<!--/pc:flashes-->", "_macros/_flashes.html")


def _personalize(body: str) -> str | None:
    """A cached (anonymous) page for this visitor: its header and flash messages rendered now
    (templates/base.html marks both; nothing else in a cacheable page depends on the visitor).
    None when the markers are missing (then the view renders the page). The header of a signed-in
    visitor comes from shop.header (rendered once per user and locale); the flash template is
    rendered only when a message is pending."""
    from flask import get_flashed_messages, render_template

    from shop.header import site_header

    return splice(body, lambda: str(site_header()),  # a plain str: str + Markup would escape the page
                  lambda: render_template(_FLASHES[2]) if get_flashed_messages() else "")


def splice(body: str, header, flashes) -> str | None:
    """`body` with the header and the flash messages (callables giving each part, called only when
    the page has both pairs of markers) between their markers; None when a marker is missing."""
    for (start, end, _template), part in ((_HEADER, header), (_FLASHES, flashes)):
        i = body.find(start)
        j = body.find(end, i + len(start)) if i >= 0 else -1
        if i < 0 or j < 0:
            return None
        body = body[: i + len(start)] + part() + body[j:]
    return body


def _blank(body: str) -> str | None:
    """A page rendered for a logged-in visitor without its header and flash messages (the parts
    `_personalize` renders per visitor), so that it can be shared with other logged-in visitors."""
    for start, end, _template_name in (_HEADER, _FLASHES):
        i = body.find(start)
        j = body.find(end, i + len(start)) if i >= 0 else -1
        if i < 0 or j < 0:
            return None
        body = body[: i + len(start)] + body[j:]
    return body


def cached_page(view):
    """Decorator for GET pages that are the same for every visitor but for the header and flash
    messages. Anonymous visitors without flash messages are served the cached page as stored (and
    fill the cache on a miss). Logged-in visitors (and anonymous ones with pending flash messages)
    use a separate entry, `u|<key>`, stored without header and messages, and get their own header
    and messages rendered into it (`_personalize`); so an anonymous visitor never sees a page
    rendered for someone logged in, and a logged-in visitor never sees the anonymous header."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not enabled() or request.method != "GET" or "lang" in request.args:
            return view(*args, **kwargs)
        anonymous = _cacheable_request()
        return _serve(view, args, kwargs, anonymous=anonymous, prefix="" if anonymous else "u|")

    return wrapper


def user_dependency(user_id: int) -> int:
    """The dependency id standing for one user's own data on a `user_page` (product ids are > 0)."""
    return -int(user_id)


def user_data_changed(session, user_ids) -> None:
    """Mark these users' own data (e.g. their cart) as changed in `session`: after its commit their
    `user_page` entries are misses (the same race-safe versions as a product's stock change)."""
    _mark_products(session, [user_dependency(u) for u in user_ids])


def unknown_change(session) -> None:
    """A change whose rows cannot be told apart: after the commit every cached page is a miss."""
    _mark_global(session)


def user_page(view):
    """Decorator for a GET page that shows a signed-in user's own data (the cart page): cached per
    user, `p<user id>|<key>`, stored without header and flash messages like the shared logged-in
    entries. It depends on the products it loads or declares (`depends_on`: stock, sold counts per
    product; prices and the rest through the global generation) and on `user_dependency(user id)`,
    which the owning package bumps with `user_data_changed` whenever that user's data changes
    (orders/cart_pages.py for carts). Anonymous visitors always get the view."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        from flask_login import current_user

        if not enabled() or request.method != "GET" or "lang" in request.args or not current_user.is_authenticated:
            return view(*args, **kwargs)
        user_id = current_user.id
        return _serve(view, args, kwargs, anonymous=False, prefix=f"p{user_id}|",
                      extra_deps=(user_dependency(user_id),))

    return wrapper


def cached_api(view):
    """Decorator for a public JSON API GET whose answer is the same for every caller (nothing of the
    user or the session in it, e.g. the product list): cached like an anonymous page, under
    `api|<key>`, with the same invalidation (the products it loads, per product; the rest through
    the generation). Put it under `@endpoint`, so that the query is validated first."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if not enabled() or request.method != "GET":
            return view(*args, **kwargs)
        return _serve(view, args, kwargs, anonymous=True, prefix="api|", mimetype="application/json")

    return wrapper


def _serve(view, args, kwargs, *, anonymous: bool, prefix: str, extra_deps=(), mimetype: str = "text/html"):
    """A hit from the cache, else the view's response (stored when it is a 200 response of
    `mimetype`: an HTML page, or the JSON of `cached_api`, stored and served as it is)."""
    html = mimetype == "text/html"
    try:
        store = backend()
        key = prefix + _key()
        entry = _lookup(store, key)
        if entry is not None and not html:
            return Response(entry.body, mimetype=mimetype)
        if entry is not None:
            body = entry.body if anonymous else _personalize(entry.body)
            if body is not None:
                return Response(_fill(body), mimetype="text/html")
        gen, seq = store.snapshot()  # before rendering (see module docstring)
    except Exception:
        _log_outage("page cache unavailable")
        return view(*args, **kwargs)
    deps: set[int] = set(extra_deps)
    token = _rendering.set(deps)
    try:
        response = current_app.make_response(view(*args, **kwargs))
    finally:
        _rendering.reset(token)
    if response.status_code == 200 and response.mimetype == mimetype and not response.direct_passthrough:
        if anonymous and ("Set-Cookie" in response.headers or "_flashes" in session):
            return response
        try:
            body = response.get_data(as_text=True)
            body = body if anonymous else _blank(body)
            if body is not None:
                entry = Entry(gen, new_stamp(), _template(body) if html else body)
                if store.store(key, entry, deps, seq, int(current_app.config.get("PAGE_CACHE_TTL", 300))):
                    _remember(key, entry)  # (refused when a commit raced the render)
        except Exception:
            _log_outage("page cache: store failed")
    return response


# --- invalidation -----------------------------------------------------------------------------

def _mark_global(session) -> None:
    session.info[_DIRTY] = True


def _mark_products(session, ids) -> None:
    session.info.setdefault(_PRODUCTS, set()).update(int(i) for i in ids)


#: stock record id -> product id (a record never changes product), filled as records are seen.
_record_products: dict[int, int] = {}


def remember_stock_products(mapping: dict[int, int]) -> None:
    """{stock record id: product id} a caller already knows (a stock record never changes product),
    e.g. `allocate()` at checkout: the commit then needs no query to learn which products' pages a
    stock UPDATE by record id invalidates."""
    if len(_record_products) > 100_000:
        _record_products.clear()
    _record_products.update(mapping)


def _note_records(session, record_ids) -> None:
    """Products of these stock records: from the identity map or this process's memo, else at commit."""
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
