"""nginx's page cache (`proxy_cache`, deploy/nginx.conf) in front of the app, invalidated exactly.

Off unless `PROXY_CACHE_PURGE_URL` is set (the embedded default needs nothing but Python). When it
is set (the production shape: nginx in front of gunicorn, `CACHE_REDIS_URL` required):

- **What nginx stores.** nginx offers to store only anonymous GETs without a query string (or with
  `?page=N` alone) that carry no cookie and no Authorization; it tells the app by sending the key it
  would store the page under (its `$request_uri`) in `X-Page-Cache-Key`. The app answers such a
  request with `X-Accel-Expires: PROXY_CACHE_TTL` (nginx's own header, which nginx does not pass on)
  only for the pages of `shop.pagecache.cached_page` views rendered for a shared request, when the
  page cache's own exactness check holds (below). Every other answer keeps `max-age=0` or
  `no-store`, which nginx does not store. Browsers and other shared caches still see
  `Cache-Control: public, max-age=0, must-revalidate`.
- **Who shows what.** `register(key, products)`, before the page is offered, records in Redis which
  products the page shows (the page cache's dependencies): sorted sets `px:p:<product id>` and
  `px:all`, scored with the time of registration.
- **Invalidation** follows the page cache's own events (`shop.pagecache.products_changed` and
  `catalog_changed`, after the commit and after the page cache's versions or generation moved):
  `PURGE /purge-page-cache<key>` to nginx (Debian's `libnginx-mod-http-cache-purge`, `proxy_cache_purge`) for every
  key registered with one of the changed products, or for every key when the generation changed.
  Only keys registered in the last `PROXY_CACHE_TTL` + `REGISTRATION_MARGIN` seconds can still be in
  nginx: older ones are left out. The keys are taken out of the sets they were read from in the
  same atomic step (a Lua script), so the next change purges a page again only if a new render
  registered it again (a checkout after a checkout sends no purge for a page nobody asked for since).
- **Races.** A page is registered *before* the app re-reads the generation and the versions of its
  products, and offered only if they are still the ones it was rendered under: a change whose bump
  came first is seen by that check, one whose bump came after it finds the registration and purges.
  One window remains: a page checked just before a change's bump whose answer reaches nginx only
  after that change's purge. So every purge is sent a second time `PROXY_CACHE_REPURGE_SECONDS`
  (2 s) later, from a thread of the process.
- **Failures.** A Redis error while registering: the page is not offered. A Redis error while
  invalidating: the page cache's outage mode (`shop.pagecache`), whose recovery purges every
  registered key once Redis answers. nginx not answering a purge: logged, and tried again with the
  second purge. nginx keeps its cache on disk across restarts: after a purge could not reach it,
  clear its cache directory before starting it again (docs/caching.md).
"""

from __future__ import annotations

import http.client
import logging
import os
import queue
import threading
import time
from urllib.parse import urlsplit

from flask import current_app, request

log = logging.getLogger(__name__)

#: Set by nginx on a request whose answer it may store: the key it would store it under.
KEY_HEADER = "X-Page-Cache-Key"
#: nginx's own expiry header (it takes precedence over Cache-Control and is not passed to clients).
EXPIRES_HEADER = "X-Accel-Expires"
MAX_KEY_LENGTH = 2048
#: nginx's purge location (deploy/nginx.conf): PURGE /purge-page-cache<key>.
PURGE_PREFIX = "/purge-page-cache"
#: Seconds added to the TTL for a page stored a little after its registration.
REGISTRATION_MARGIN = 60
#: KEYS: registration sets; ARGV[1]: the oldest registration time that can still be in nginx.
#: Returns the members registered since then and removes every member from those sets.
TAKE_SCRIPT = """
local taken = {}
for _, name in ipairs(KEYS) do
  for _, member in ipairs(redis.call('ZRANGEBYSCORE', name, ARGV[1], '+inf')) do
    taken[#taken + 1] = member
  end
  redis.call('DEL', name)
end
return taken
"""


def init_app(app) -> None:
    url = app.config.get("PROXY_CACHE_PURGE_URL") or ""
    if not url:
        return
    if not app.config.get("CACHE_REDIS_URL"):
        raise RuntimeError(
            "PROXY_CACHE_PURGE_URL needs CACHE_REDIS_URL (the pages nginx holds are registered in Redis)"
        )
    app.extensions["proxy_cache"] = ProxyCache(app)


def get() -> ProxyCache | None:
    """This app's nginx cache, or None when it has none (PROXY_CACHE_PURGE_URL unset)."""
    return current_app.extensions.get("proxy_cache")


def request_key() -> str | None:
    """The key nginx would store this request's answer under, when nginx offers to store it."""
    key = request.headers.get(KEY_HEADER, "")
    if not key.startswith("/") or len(key) > MAX_KEY_LENGTH or not key.isprintable() or " " in key:
        return None
    return key


class ProxyCache:
    def __init__(self, app):
        import redis  # only when nginx's cache is configured: the embedded default never loads redis-py

        parts = urlsplit(app.config["PROXY_CACHE_PURGE_URL"])
        if parts.scheme != "http" or not parts.hostname:
            raise RuntimeError("PROXY_CACHE_PURGE_URL must be http://host[:port] (nginx's address, seen from the app)")
        self.host, self.port = parts.hostname, parts.port or 80
        self.ttl = int(app.config.get("PROXY_CACHE_TTL", 300))
        self.repurge_seconds = float(app.config.get("PROXY_CACHE_REPURGE_SECONDS", 2.0))
        self.prefix = app.config.get("PAGE_CACHE_PREFIX", "shop:") + "px:"
        self.redis = redis.Redis.from_url(app.config["CACHE_REDIS_URL"], socket_timeout=0.5, socket_connect_timeout=0.5)
        self.local = threading.local()
        self.later: queue.Queue = queue.Queue()
        self.thread: threading.Thread | None = None
        self.thread_pid = 0
        self.lock = threading.Lock()
        self.take_script = self.redis.register_script(TAKE_SCRIPT)

    # --- registry ---------------------------------------------------------------------------

    def _all(self) -> str:
        return self.prefix + "all"

    def _product(self, product_id: int) -> str:
        return f"{self.prefix}p:{int(product_id)}"

    def register(self, key: str, product_ids) -> None:
        """Record that the page stored under `key` shows these products (raises on a Redis error)."""
        now = time.time()
        keep = self.ttl + REGISTRATION_MARGIN
        pipe = self.redis.pipeline(transaction=False)
        for name in (self._all(), *(self._product(i) for i in product_ids)):
            pipe.zadd(name, {key: now})
            pipe.expire(name, keep)
        pipe.execute()

    def _take(self, names: list[str]) -> set[str]:
        """The keys registered in these sets in the last TTL + margin, taken out of them in the same
        atomic step (a Lua script: a page registered after it stays registered), so a later change
        does not purge them again unless a new render registered them again."""
        since = time.time() - self.ttl - REGISTRATION_MARGIN
        return {k.decode() for k in self.take_script(keys=names, args=[since])}

    # --- invalidation -----------------------------------------------------------------------

    def products_changed(self, product_ids) -> None:
        """Purge the pages that show one of these products (raises on a Redis error)."""
        self.purge(self._take([self._product(i) for i in product_ids]))

    def everything_changed(self) -> None:
        """Purge every page nginx may hold (raises on a Redis error)."""
        self.purge(self._take([self._all()]))

    def purge(self, keys, *, again: bool = True) -> None:
        """PURGE each key now and, with `again`, once more PROXY_CACHE_REPURGE_SECONDS later."""
        keys = sorted(keys)
        if not keys:
            return
        for key in keys:
            self._purge_one(key)
        if again and self.repurge_seconds > 0:
            self._start_thread()
            self.later.put((time.monotonic() + self.repurge_seconds, keys))

    def _purge_one(self, key: str) -> None:
        for attempt in (1, 2):  # a kept-alive connection nginx closed meanwhile: once more, afresh
            conn = getattr(self.local, "conn", None)
            if conn is None:
                conn = self.local.conn = http.client.HTTPConnection(self.host, self.port, timeout=2)
            try:
                conn.request("PURGE", PURGE_PREFIX + key)
                response = conn.getresponse()
                response.read()
            except (OSError, http.client.HTTPException):
                conn.close()
                self.local.conn = None
                if attempt == 2:
                    log.error(
                        "nginx cache: PURGE %s failed (nginx at %s:%s does not answer)", key, self.host, self.port
                    )
                continue
            if response.status not in (200, 404):  # 404: nginx did not hold it
                log.error("nginx cache: PURGE %s answered %s", key, response.status)
            return

    def _start_thread(self) -> None:
        with self.lock:
            if self.thread is not None and self.thread.is_alive() and self.thread_pid == os.getpid():
                return
            if self.thread_pid != os.getpid():  # a forked worker: the parent's queue and thread are not ours
                self.later = queue.Queue()
            self.thread_pid = os.getpid()
            self.thread = threading.Thread(target=self._repurge, daemon=True, name="proxy-cache-repurge")
            self.thread.start()

    def _repurge(self) -> None:
        while True:
            due, keys = self.later.get()
            pending = set(keys)
            while True:  # everything due by then, once
                try:
                    more_due, more = self.later.get_nowait()
                except queue.Empty:
                    break
                due = max(due, more_due)
                pending.update(more)
            wait = due - time.monotonic()
            if wait > 0:
                time.sleep(wait)
            try:
                self.purge(pending, again=False)
            except Exception:
                log.exception("nginx cache: the second purge failed")
