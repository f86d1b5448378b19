"""Whole-page cache on Flask-Caching, exact for stock and prices.

What is cached: the responses of the views decorated `cached_page` (home, product list, search,
category, village, product pages) and `cached_api` (the public product API). *Shared* requests (GET
or HEAD, no `lang=` argument, no signed-in user (no Flask-Login user in the session, no remember
cookie), no pending flash message) get the entry as it is. A shared page carries nothing personal:
it is rendered with `page_is_shared()` true, which leaves the CSRF token out of its forms (their
cross-site protection is the Origin check of `shop.security.same_origin_or_token`), and it has no
per-request CSP nonce.

Signed-in visitors (`personal_request`) get the same entry with its *personal parts* rendered for
them: the header's navigation, flash messages, form tokens, the favourite button (the macros of
`PARTS_TEMPLATE`, called through the template global `personal_part`). A render the cache stores
marks its parts; the entry keeps the body without the marks (what anonymous visitors get) and the
parts' places, and `_personal_body` renders them into those places per request. Their answers stay
`no-store`. Everyone else (other personal pages) gets the view rendered by Flask.

Backend: Flask-Caching's RedisCache when `CACHE_REDIS_URL` is set (shared by every web process and
node), its SimpleCache in process otherwise (the single-process default).

Keys: `page|<kind>|<locale>|<quoted path>?<query>`, the query re-encoded from the *parsed* arguments
(`page_key`): `?q=a%26sort%3Dx` and `?q=a&sort=x` never share an entry.

Invalidation (docs/caching.md has the reasoning):
- a global **generation** (`pc:gen`, a random token, replaced by every commit that changes what a
  page shows: prices, names, publishing, images, links, places, listings, search index...);
- a per-product **version** (`pc:v:<id>`) for what checkouts and stock work change (stock records,
  sold counts), taken from a monotonic counter (`pc:seq`), so a checkout invalidates the pages that
  show its products only.
Every entry records the generation and the versions of the products it shows, read *before* it was
rendered (a product's version newer than the counter read before the render means a commit raced
the render: the page is not stored). A hit re-reads them and is served only when all match. Commits
are seen by SQLAlchemy session events (`install_session_hooks`), and the bump happens after commit.

Failing closed: any error from the cache (a read, a store, a bump) puts this process in outage
mode: it neither reads nor stores entries, and a background thread replaces the generation as soon
as the cache answers again (which invalidates every entry written before, including the ones a
failed bump should have invalidated, and the ones another node's failed bump should have); only
then does the process use the cache again.

HTTP: shared responses get `Cache-Control: public, max-age=PAGE_MAX_AGE (0), must-revalidate`, an
ETag and 304s (`make_conditional`), `Vary: Cookie`; every other response without its own
Cache-Control gets `no-store` (`_http_caching`, one after-request rule).

nginx in front (`shop.proxycache`, when PROXY_CACHE_PURGE_URL is set): a page that passes the checks
above, for a request nginx offers to store, is registered and marked `X-Accel-Expires`; the bumps
below purge what nginx holds of the changed products (or everything, with a new generation).
"""

from __future__ import annotations

import contextvars
import functools
import logging
import re
import secrets
import threading
from urllib.parse import quote, urlencode

import sqlalchemy as sa
from flask import current_app, g, has_app_context, request, session
from flask_babel import get_locale
from flask_caching import Cache
from flask_login import current_user
from jinja2 import pass_context
from markupsafe import Markup
from sqlalchemy import event, inspect
from sqlalchemy.orm import Session
from werkzeug.http import generate_etag

from shop import proxycache
from shop.extensions import db
from shop.security import content_security_policy

log = logging.getLogger(__name__)

cache = Cache()

GEN_KEY = "pc:gen"
SEQ_KEY = "pc:seq"
VERSION_PREFIX = "pc:v:"
PAGE_PREFIX = "page|"
#: Generation, counter and versions live this long without a change (then a fresh generation).
VERSION_TIMEOUT = 7 * 86400
#: Longer keys (very long query strings) are not cached.
MAX_KEY_LENGTH = 2048
#: The execution option a service passes with a Core statement that changes catalog rows, naming
#: them (`changes(...)`); a Core statement on a catalog table without it bumps the generation.
OPTION = "page_cache_changes"

#: Tables whose change can alter a cached page.
CATALOG_TABLES = frozenset(
    {
        "products",
        "product_families",
        "stock_records",
        "product_images",
        "benefit_links",
        "categories",
        "villages",
        "townships",
        "stations",
        "listings",
        "unit_types",
        "producers",
        "listing_images",
        "households",
    }
)
#: Product columns whose change is per product (the rest bump the generation).
PER_PRODUCT_COLUMNS = frozenset({"sold_count", "delivered_count", "rating_count", "rating_sum", "updated_at"})

_EVERYTHING = "page_cache_everything"  # session.info: a generation bump is due at commit
_PRODUCTS = "page_cache_products"  # session.info: product ids whose version is due at commit
_RECORDS = "page_cache_records"  # session.info: stock record ids whose product is not known yet


# --- setup -----------------------------------------------------------------------------------


def init_app(app) -> None:
    """Bind Flask-Caching (Redis when CACHE_REDIS_URL is set, else in process), the HTTP caching
    rule, the template global `page_is_shared` and the session hooks that see catalog changes."""
    url = app.config.get("CACHE_REDIS_URL") or ""
    if url:
        # redis-py only when a Redis URL is configured: the embedded default never loads it
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # short timeouts and no retries: a dead Redis costs one request half a second, once
        # (then this process stops asking it until it answers again, see _Outage)
        config = {
            "CACHE_TYPE": "RedisCache",
            "CACHE_REDIS_URL": url,
            "CACHE_OPTIONS": {"socket_timeout": 0.5, "socket_connect_timeout": 0.5, "retry": Retry(NoBackoff(), 0)},
        }
    else:
        config = {"CACHE_TYPE": "SimpleCache", "CACHE_THRESHOLD": int(app.config.get("PAGE_CACHE_MAX_ENTRIES", 5000))}
    config.update(CACHE_DEFAULT_TIMEOUT=VERSION_TIMEOUT, CACHE_KEY_PREFIX=app.config.get("PAGE_CACHE_PREFIX", "shop:"))
    cache.init_app(app, config=config)
    app.extensions["page_cache_outage"] = _Outage(app)
    app.after_request(_http_caching)
    app.add_template_global(page_is_shared, "page_is_shared")
    app.add_template_global(visitor, "visitor")
    app.add_template_global(personal_part, "personal_part")
    proxycache.init_app(app)  # nginx's page cache, when PROXY_CACHE_PURGE_URL is set
    install_session_hooks()


def enabled() -> bool:
    """`PAGE_CACHE` (config): True/False; by default on, except for apps with TESTING (tests opt in)."""
    setting = current_app.config.get("PAGE_CACHE")
    return (not current_app.testing) if setting is None else bool(setting)


def page_is_shared() -> bool:
    """True while rendering a response that may be stored and served to other visitors (templates
    leave per-visitor values, such as the CSRF token, out of it)."""
    return bool(g.get("page_cache_shared"))


def visitor():
    """The signed-in visitor a personal part is rendered for (template global); None on a shared
    render or for a visitor not signed in."""
    if page_is_shared() or not current_user.is_authenticated:
        return None
    return current_user


# --- keys ------------------------------------------------------------------------------------


def page_key(kind: str, locale: str, path: str, args) -> str:
    """The entry key of a page: its kind, the locale, the path and the parsed query arguments
    ((name, value) pairs), re-encoded: sorted by name, the values of one name kept in their order
    (a view reads the first one), every `&`, `=`, `%`, `?` inside a name or value escaped. Two
    argument lists that parse to different arguments give different keys."""
    query = urlencode(sorted(args, key=lambda pair: pair[0]))
    return f"{PAGE_PREFIX}{kind}|{locale}|{quote(path, safe='/')}?{query}"


def _key(kind: str) -> str:

    return page_key(kind, str(get_locale()), request.path, request.args.items(multi=True))


def _version_key(product_id: int) -> str:
    return f"{VERSION_PREFIX}{int(product_id)}"


def _new_generation() -> str:
    return secrets.token_hex(8)


# --- who gets shared pages ---------------------------------------------------------------------


def shared_request() -> bool:
    """A request that may be answered with, and may fill, a shared entry (see the module docstring)."""
    if request.method not in ("GET", "HEAD") or "lang" in request.args or "Authorization" in request.headers:
        return False
    if "_user_id" in session or "_flashes" in session:
        return False
    if request.cookies.get(current_app.config.get("REMEMBER_COOKIE_NAME", "remember_token")):
        return False

    return not current_user.is_authenticated


def personal_request() -> bool:
    """A signed-in visitor's GET of a cached page (no `lang=`, no `Authorization`): answered with
    the page's shared entry and its personal parts rendered for the visitor."""
    if request.method not in ("GET", "HEAD") or "lang" in request.args or "Authorization" in request.headers:
        return False
    return bool(current_user.is_authenticated)


# --- personal parts ----------------------------------------------------------------------------

#: The template that defines the personal parts, one macro each (`personal_part`).
PARTS_TEMPLATE = "_macros/_personal.html"
#: Marks a personal part in a render the cache may store; random per process, so no text of a page
#: can imitate it (and the stored body holds the parts' places, not the marks).
_MARK = secrets.token_hex(8)
_PART = re.compile(
    rb"<!--pc-" + _MARK.encode() + rb":([a-z_]+)((?::[\w-]+)*)-->(.*?)<!--/pc-" + _MARK.encode() + rb"-->", re.S
)
#: A part's name and arguments, as the marks carry them (ASCII, as _PART reads them).
_PART_NAME = re.compile(r"[a-z_]+")
_PART_ARG = re.compile(r"[\w-]+", re.ASCII)


def parts_module(context):
    """The personal parts' macros, as a template module over `context` (once per request)."""
    module = g.get("page_cache_parts")
    if module is None:
        module = current_app.jinja_env.get_template(PARTS_TEMPLATE).make_module(context)
        g.page_cache_parts = module
    return module


@pass_context
def personal_part(context, name: str, *args):
    """A personal part of the page (template global): the macro `name` of PARTS_TEMPLATE, called
    with `args` (ids and words). Rendered for the visitor, or as an anonymous visitor sees it on a
    shared render; in a render the page cache stores, it is marked, and a signed-in visitor served
    from that entry gets it rendered for them in its place (`_personal_body`). Parts do not nest."""
    words = [str(arg) for arg in args]
    if not _PART_NAME.fullmatch(name) or not all(_PART_ARG.fullmatch(word) for word in words):
        raise ValueError(f"personal_part {name!r}: a name of a-z and _, arguments ids and ASCII words, not {words!r}")
    html = getattr(parts_module(context.get_all()), name)(*args)
    if not g.get("page_cache_marks"):
        return html
    opening = "".join(f":{word}" for word in words)
    return Markup(f"<!--pc-{_MARK}:{name}{opening}-->") + html + Markup(f"<!--/pc-{_MARK}-->")


def split_parts(body: bytes) -> tuple[bytes, list]:
    """The marked render `body` without its marks (what an anonymous visitor gets), and the places
    of its personal parts in it: [(start, end, name, args)], byte offsets."""
    pieces: list[bytes] = []
    parts: list = []
    size = position = 0
    for found in _PART.finditer(body):
        before, inner = body[position : found.start()], found.group(3)
        size += len(before)
        words = found.group(2).decode().split(":")[1:]
        args = tuple(int(word) if word.isdigit() else word for word in words)
        parts.append((size, size + len(inner), found.group(1).decode(), args))
        pieces += (before, inner)
        size += len(inner)
        position = found.end()
    if not parts:
        return body, []
    pieces.append(body[position:])
    return b"".join(pieces), parts


def _personal_body(body: bytes, parts) -> bytes:
    """The shared `body` with each personal part rendered for this request's visitor."""
    if not parts:
        return body
    context: dict = {}
    current_app.update_template_context(context)
    module = parts_module(context)
    pieces: list[bytes] = []
    position = 0
    for start, end, name, args in parts:
        pieces += (body[position:start], str(getattr(module, name)(*args)).encode())
        position = end
    pieces.append(body[position:])
    return b"".join(pieces)


# --- outage: fail closed -----------------------------------------------------------------------


class _Outage:
    """One app's view of its cache: up, or down since an error. While down nothing is read from or
    stored in the cache and the commits' bumps are only counted (`pending`); a thread replaces the
    generation once the cache answers, and the cache is used again only if no bump was missed
    meanwhile (else it replaces it once more)."""

    RETRY_SECONDS = 0.25

    def __init__(self, app):
        self.app = app
        self.lock = threading.Lock()
        self.down = False
        self.pending = 0
        self.thread: threading.Thread | None = None

    def failed(self) -> None:
        with self.lock:
            first = not self.down
            self.down = True
            self.pending += 1
            if self.thread is None or not self.thread.is_alive():
                self.thread = threading.Thread(target=self._recover, daemon=True, name="page-cache-recovery")
                self.thread.start()
        if first:
            self.app.logger.exception("page cache unavailable: pages are rendered without it until it answers again")

    def skipped_bump(self) -> bool:
        """Count a commit's bump while down (True), or say the cache is up (False)."""
        with self.lock:
            if self.down:
                self.pending += 1
            return self.down

    def _recover(self) -> None:
        pause = threading.Event()
        while True:
            pause.wait(self.RETRY_SECONDS)
            with self.lock:
                seen = self.pending
            try:
                with self.app.app_context():
                    if not cache.set(GEN_KEY, _new_generation(), timeout=VERSION_TIMEOUT):
                        continue
                    proxy = proxycache.get()
                    if proxy is not None:  # what nginx holds was not purged while down
                        proxy.everything_changed()
            except Exception:
                continue
            with self.lock:
                if self.pending == seen:
                    self.down = False
                    self.pending = 0
                    self.thread = None
                    self.app.logger.warning("page cache answers again: generation replaced, cache in use")
                    return


def _outage():
    return current_app.extensions["page_cache_outage"]


def _failed() -> None:
    _outage().failed()


def is_down() -> bool:
    return _outage().down


# --- serving ---------------------------------------------------------------------------------

#: The product ids a shared page being rendered shows (None outside such a render).
_rendering: contextvars.ContextVar[set | None] = contextvars.ContextVar("page_cache_rendering", default=None)


def depends_on(product_ids) -> None:
    """Declare that the page being rendered shows these products (their stock badge, sold count).

    ORM loads of products and stock records are recorded too (`_record_load`), but an object already
    in the session's identity map fires no load event, so the explicit list is the contract."""
    deps = _rendering.get()
    if deps is not None:
        deps.update(int(i) for i in product_ids)


def cached_page(view):
    """Decorator for GET pages that are the same for every anonymous visitor (in one locale)."""
    return _decorate(view, kind="html", mimetype="text/html", everyone=False)


def cached_api(view):
    """Decorator for a public JSON API GET whose answer is the same for every caller (nothing of the
    user in it): served from the cache to every caller. Put it under `@endpoint` (query validated first)."""
    return _decorate(view, kind="api", mimetype="application/json", everyone=True)


def _decorate(view, *, kind: str, mimetype: str, everyone: bool):
    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if request.method not in ("GET", "HEAD"):
            return view(*args, **kwargs)
        shared = shared_request()
        g.page_cache_shared = shared  # (public HTTP caching too, see _http_caching)
        if not enabled():
            return view(*args, **kwargs)
        if shared or everyone:
            return _serve(view, args, kwargs, kind=kind, mimetype=mimetype)
        if kind == "html" and personal_request():
            return _serve(view, args, kwargs, kind=kind, mimetype=mimetype, personal=True)
        return view(*args, **kwargs)

    return wrapper


def _serve(view, args, kwargs, *, kind: str, mimetype: str, personal: bool = False):
    """Answer from the entry, or render (shared, its personal parts marked), store and answer. A
    `personal` request (a signed-in visitor) gets the shared body with its personal parts rendered
    for the visitor; its answer stays personal (`no-store`, never offered to nginx)."""
    key = _key(kind)
    if is_down() or len(key) > MAX_KEY_LENGTH:
        return view(*args, **kwargs)
    proxy_key = None
    if kind == "html" and not personal and proxycache.get() is not None:
        proxy_key = proxycache.request_key()
    try:
        entry, gen, seq = cache.get_many(key, GEN_KEY, SEQ_KEY)
        if (
            entry is not None
            and gen is not None
            and entry["gen"] == gen
            and (not personal or "parts" in entry)  # (an entry stored before parts were kept)
            and _versions_hold(entry["versions"])
        ):
            if personal:
                body = _personal_body(entry["body"], entry["parts"])
                return current_app.response_class(body, mimetype=entry["mimetype"])
            response = current_app.response_class(entry["body"], mimetype=entry["mimetype"])
            response.set_etag(entry["etag"])
            if proxy_key:
                _offer_to_proxy(proxy_key, gen, entry["versions"])
            return response
        if gen is None:  # a fresh cache (or an evicted generation): a new one
            cache.add(GEN_KEY, _new_generation(), timeout=VERSION_TIMEOUT)
            cache.add(SEQ_KEY, 1, timeout=VERSION_TIMEOUT)
            gen, seq = cache.get_many(GEN_KEY, SEQ_KEY)
            if gen is None:
                raise RuntimeError("the cache did not keep the page generation")
    except Exception:
        _failed()
        return view(*args, **kwargs)
    deps: set[int] = set()
    token = _rendering.set(deps)
    flashes = session.get("_flashes")
    g.page_cache_shared = g.page_cache_marks = True  # (a signed-in visitor's miss renders the shared page)
    try:
        response = current_app.make_response(view(*args, **kwargs))
    finally:
        _rendering.reset(token)
        g.page_cache_marks = False
        g.page_cache_shared = not personal
    flashed = session.get("_flashes") != flashes  # (the view flashed a message; before the parts show them)
    parts: list = []
    if response.mimetype == "text/html" and not response.direct_passthrough:
        body, parts = split_parts(response.get_data())
        response.set_data(_personal_body(body, parts) if personal else body)
    if (
        response.status_code != 200
        or response.mimetype != mimetype
        or response.direct_passthrough
        or flashed
        or "Set-Cookie" in response.headers
    ):
        return response
    if not personal:
        body = response.get_data()
    etag = generate_etag(body)
    if not personal:
        response.set_etag(etag)
    try:
        versions = _versions_to_store(deps, int(seq or 0))
        if versions is not None and not is_down():
            cache.set(
                key,
                {
                    "gen": gen,
                    "versions": versions,
                    "body": body,
                    "parts": parts,
                    "mimetype": response.mimetype,
                    "etag": etag,
                },
                timeout=int(current_app.config.get("PAGE_CACHE_TTL", 300)),
            )
            if proxy_key:
                _offer_to_proxy(proxy_key, gen, versions)
    except Exception:
        _failed()
    return response


def _offer_to_proxy(proxy_key: str, gen, versions: dict) -> None:
    """Let nginx store this page (`_http_caching` adds X-Accel-Expires) if, once it is registered
    with its products, the generation and its products' versions are still those it was rendered
    under: a change whose bump came first is seen here, one whose bump comes later finds the
    registration and purges the page (shop.proxycache)."""
    proxy = proxycache.get()
    try:
        proxy.register(proxy_key, list(versions))
    except Exception:
        log.warning("nginx cache: a page could not be registered; not offered to nginx", exc_info=True)
        return
    ids = list(versions)
    current = cache.get_many(GEN_KEY, *(_version_key(i) for i in ids))
    if current[0] == gen and all(value == versions[i] for i, value in zip(ids, current[1:])):
        g.proxy_cache_offer = True


def _versions_hold(versions: dict) -> bool:
    if not versions:
        return True
    ids = list(versions)
    current = cache.get_many(*(_version_key(i) for i in ids))
    return all(value is not None and value == versions[i] for i, value in zip(ids, current))


def _versions_to_store(deps: set[int], seq: int) -> dict | None:
    """{product id: version} for an entry rendered after reading the counter `seq`; None when it
    must not be stored: a product changed after `seq` (a commit raced the render). A product
    without a version (never changed, or evicted) is given version 0, and then the page is stored
    only if no product at all changed since `seq` (else a version set and lost meanwhile could
    hide a change)."""
    ids = sorted(deps)
    if not ids:
        return {}
    keys = [_version_key(i) for i in ids]
    current = cache.get_many(*keys)
    if any(value is None for value in current):
        for key, value in zip(keys, current):
            if value is None:
                cache.add(key, 0, timeout=VERSION_TIMEOUT)
        current = cache.get_many(*keys)
        if int(cache.get(SEQ_KEY) or 0) != seq:
            return None
    if any(value is None or int(value) > seq for value in current):
        return None
    return dict(zip(ids, current))


def _http_caching(response):
    """One rule for HTTP caching. A shared page (or API answer) for an anonymous visitor: public,
    revalidated on every use (`PAGE_MAX_AGE`, 0 by default: any longer and a browser or proxy could
    show a changed price), with an ETag and 304s. Anything else that did not set its own
    Cache-Control (static files and media do): `no-store`, as personal pages need."""
    if (
        g.get("page_cache_shared")
        and response.status_code == 200
        and request.method in ("GET", "HEAD")
        and not current_app.session_interface.should_set_cookie(current_app, session)
    ):
        response.cache_control.public = True
        response.cache_control.max_age = int(current_app.config.get("PAGE_MAX_AGE", 0))
        response.cache_control.must_revalidate = True
        response.vary.add("Cookie")
        if g.get("proxy_cache_offer") and "csp_nonce" not in g:  # nginx may store it (shop.proxycache)
            response.headers[proxycache.EXPIRES_HEADER] = str(proxycache.get().ttl)  # (nginx does not pass it on)
            # the page runs no inline script (it asked for no nonce): a policy without one, as the
            # same headers go to every visitor nginx answers
            response.headers["Content-Security-Policy"] = content_security_policy(current_app, nonce=False)
        if response.get_etag()[0] is None:
            response.add_etag()
        return response.make_conditional(request)
    if "Cache-Control" not in response.headers:
        response.cache_control.no_store = True
    return response


# --- invalidation ----------------------------------------------------------------------------


def catalog_changed() -> None:
    """Replace the generation now: every cached page becomes a miss (every process, every node)."""
    if _outage().skipped_bump():
        return
    try:
        if not cache.set(GEN_KEY, _new_generation(), timeout=VERSION_TIMEOUT):
            raise RuntimeError("the cache refused the page generation")
        cache.add(SEQ_KEY, 1, timeout=VERSION_TIMEOUT)  # (a new counter only with a new generation)
        proxy = proxycache.get()
        if proxy is not None:  # after the bump: a page registered later is checked against it
            proxy.everything_changed()
    except Exception:
        _failed()


def products_changed(ids) -> None:
    """New versions for these products now: the cached pages that show one of them become misses."""
    ids = sorted({int(i) for i in ids})
    if not ids or _outage().skipped_bump():
        return
    try:
        seq = cache.cache.inc(SEQ_KEY)  # (atomic: INCR in Redis, under the lock in process)
        if seq is None:
            raise RuntimeError("the cache refused the version counter")
        fresh = int(seq) == 1
        if fresh:  # a counter started afresh (lost): versions from before it could repeat
            cache.set(GEN_KEY, _new_generation(), timeout=VERSION_TIMEOUT)
        stored = cache.set_many({_version_key(i): int(seq) for i in ids}, timeout=VERSION_TIMEOUT)
        if len(stored) != len(ids):
            raise RuntimeError("the cache refused product versions")
        proxy = proxycache.get()
        if proxy is not None:  # after the bump: a page registered later is checked against it
            proxy.everything_changed() if fresh else proxy.products_changed(ids)
    except Exception:
        _failed()


def clear() -> None:
    """Forget every entry (tests)."""
    cache.clear()
    catalog_changed()


def changes(*, products=(), stock_records=()) -> dict:
    """Execution options for a Core statement run through the session that changes the stock or the
    sold counts of these products or stock records only: their pages are invalidated after the
    commit, per product (a Core statement on a catalog table without them bumps the generation)."""
    return {
        OPTION: {"products": tuple(int(i) for i in products), "stock_records": tuple(int(i) for i in stock_records)}
    }


def mark_products(session, ids) -> None:
    """Say that this session changes the stock or sold counts of these products (per product, after
    its commit): for writes the session events cannot see, such as a data-modifying CTE."""
    session.info.setdefault(_PRODUCTS, set()).update(int(i) for i in ids)


def mark_everything(session) -> None:
    session.info[_EVERYTHING] = True


def _table(obj) -> str | None:
    return getattr(type(obj), "__tablename__", None)


def _after_flush(session, _flush_context) -> None:
    if session.info.get(_EVERYTHING):
        return
    for obj in (*session.new, *session.dirty, *session.deleted):
        table = _table(obj)
        if table not in CATALOG_TABLES:
            continue
        if obj in session.new or obj in session.deleted:
            mark_everything(session)
            return
        state = inspect(obj)
        if table == "stock_records":
            product_id = state.dict.get("product_id")
            if product_id is None:
                mark_everything(session)
                return
            mark_products(session, [product_id])
            continue
        changed = {attr.key for attr in state.attrs if attr.history.has_changes()}
        if not changed:  # flushed without a column change (e.g. a relationship only)
            continue
        if table == "products" and changed <= PER_PRODUCT_COLUMNS:
            mark_products(session, [state.identity[0]])
            continue
        mark_everything(session)
        return


def _do_orm_execute(state) -> None:
    """Core DML through the session does not flush: a statement on a catalog table is per product
    when its caller named what it changes (`changes()`), else it bumps the generation."""
    if not (state.is_update or state.is_delete or state.is_insert):
        return
    table = getattr(getattr(state.statement, "table", None), "name", None)
    if table not in CATALOG_TABLES or state.session.info.get(_EVERYTHING):
        return
    declared = state.execution_options.get(OPTION)
    if declared is None:
        mark_everything(state.session)
        return
    mark_products(state.session, declared["products"])
    state.session.info.setdefault(_RECORDS, set()).update(declared["stock_records"])


def _before_commit(session) -> None:
    """Stock records named by id only: their products, in one query, still in the transaction."""
    records = session.info.pop(_RECORDS, None)
    if not records or session.info.get(_EVERYTHING):
        return
    try:
        rows = session.execute(
            sa.text("SELECT product_id FROM stock_records WHERE id IN :ids").bindparams(
                sa.bindparam("ids", expanding=True)
            ),
            {"ids": sorted(records)},
        )
        mark_products(session, [row[0] for row in rows])
    except Exception:  # (the commit fails too, or commits: then every page is a miss)
        mark_everything(session)


def _after_commit(session) -> None:
    products = session.info.pop(_PRODUCTS, None)
    session.info.pop(_RECORDS, None)
    everything = session.info.pop(_EVERYTHING, False)
    if not (everything or products):
        return
    if not has_app_context() or "page_cache_outage" not in current_app.extensions:
        return  # no app (or one without the page cache): nothing cached to drop
    if everything:
        catalog_changed()
    else:
        products_changed(products)


def _after_soft_rollback(session, _previous) -> None:
    if not session.in_transaction():  # the outermost transaction: nothing of it was committed
        for name in (_PRODUCTS, _RECORDS, _EVERYTHING):
            session.info.pop(name, None)


def _record_load(target, _context) -> None:
    """ORM `load` hook: a shared page being rendered depends on the products it loads."""
    deps = _rendering.get()
    if deps is None:
        return
    table = _table(target)
    if table == "products":
        deps.add(inspect(target).identity[0])
    elif table == "stock_records":
        product_id = inspect(target).dict.get("product_id")
        if product_id is not None:
            deps.add(product_id)


def install_session_hooks() -> None:
    """Listen to every SQLAlchemy session (once per process; called by the app factory)."""
    if not event.contains(Session, "after_flush", _after_flush):
        event.listen(Session, "after_flush", _after_flush)
        event.listen(Session, "do_orm_execute", _do_orm_execute)
        event.listen(Session, "before_commit", _before_commit)
        event.listen(Session, "after_commit", _after_commit)
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)

    if not event.contains(db.Model, "load", _record_load):
        event.listen(db.Model, "load", _record_load, propagate=True)
