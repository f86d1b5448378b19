"""Real nginx (deploy/nginx.conf, Debian's cache-purge module) in front of a live app whose page cache
is a private redis-server (run by test_proxy_cache.py in a pytest process of its own).

- An anonymous product page is stored by nginx and served by it: the app does not see the request.
- A cached page carries nothing personal (no cookie, no CSRF token) and its add-to-cart form is
  still refused to another site.
- A price change and a sell-out, committed by the app, are on the very next request through nginx
  (the app PURGEd the pages that show the product after the commit).
- A signed-in visitor (a session cookie) is never answered from the cache and never fills it; a
  query string other than ?page=N is never stored either.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import threading
from pathlib import Path

import pytest
import requests
import sqlalchemy as sa
from werkzeug.serving import make_server

from shop.db import commit
from tests.factories import make_product, make_user
from tests.faults.services import private_redis_fixture, wait_for

PORT = int(os.environ.get("FAULTS_REDIS_PORT") or 0)
NGINX = os.environ.get("PROXY_TEST_NGINX", "")
pytestmark = pytest.mark.skipif(not PORT or not NGINX, reason="run through tests/faults/test_proxy_cache.py")

redis_server = private_redis_fixture(PORT)


class Counting:
    """WSGI middleware: the paths the app was asked for."""

    def __init__(self, wsgi):
        self.wsgi = wsgi
        self.paths: list[str] = []

    def __call__(self, environ, start_response):
        self.paths.append(environ.get("PATH_INFO", ""))
        return self.wsgi(environ, start_response)


@pytest.fixture
def shop(app, committed_db, redis_server, monkeypatch):
    """The app on bench.run's APP_PORT, nginx (deploy/nginx.conf as the bench fills it in) on NGINX_PORT."""
    from bench import run as bench_run
    from shop import pagecache

    monkeypatch.setitem(app.config, "PAGE_CACHE", True)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)  # (the suite's default is off)
    assert app.extensions.get("proxy_cache") is not None, "PROXY_CACHE_PURGE_URL and CACHE_REDIS_URL are set"
    with app.app_context():
        pagecache.clear()
    counting = Counting(app.wsgi_app)
    monkeypatch.setattr(app, "wsgi_app", counting)
    server = make_server("127.0.0.1", bench_run.APP_PORT, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    workdir = Path(tempfile.mkdtemp(prefix="proxy-cache-"))
    workdir.chmod(0o755)  # nginx's workers (nobody, when the master is root) write the cache in it
    conf = bench_run.nginx_config(workdir)
    argv = [NGINX, "-e", "stderr", "-p", str(conf.parent), "-c", str(conf), "-g", "daemon off;"]
    check = subprocess.run([*argv[:-2], "-t"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    nginx = subprocess.Popen(argv, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    front = f"http://127.0.0.1:{bench_run.NGINX_PORT}"

    def up() -> bool:
        try:
            return requests.get(front + "/healthz", timeout=2).status_code == 200
        except requests.RequestException:
            return False

    try:
        assert wait_for(up, 20), "nginx answers"
        yield front, counting
    finally:
        nginx.terminate()
        nginx.wait(10)
        server.shutdown()
        thread.join(5)


def _new_product(name: str, stock: int) -> tuple[int, str]:
    from shop.extensions import db

    product = make_product(name=name, price_fen=4500, stock=stock)
    commit()
    pid, path = product.id, f"/products/{product.id}-{product.slug}"
    db.session.remove()
    return pid, path


def _get(front: str, path: str, **kwargs) -> requests.Response:
    response = requests.get(front + path, timeout=10, allow_redirects=False, **kwargs)
    assert response.status_code == 200, (path, response.status_code)
    return response


def _cached(front: str, path: str, counting: Counting) -> requests.Response:
    """The page as nginx serves it from its cache (asked until it is a HIT), the app not asked."""
    for _ in range(3):
        response = _get(front, path)
        if response.headers.get("X-Cache-Status") == "HIT":
            seen = len(counting.paths)
            again = _get(front, path)
            assert again.headers["X-Cache-Status"] == "HIT" and len(counting.paths) == seen, "nginx answered alone"
            return again
    raise AssertionError(f"nginx never serves {path} from its cache: {dict(response.headers)}")


def test_nginx_serves_anonymous_pages_and_a_change_is_on_the_next_request(shop, committed_db):
    from shop.extensions import db
    from stock.models import StockRecord
    from stock.services import allocate

    front, counting = shop
    pid, path = _new_product("三江腌菜", 2)
    page = _cached(front, path, counting)
    assert "¥45.00" in page.text and "已售罄" not in page.text
    # nothing personal in what nginx keeps: no cookie, no form token; browsers revalidate it
    assert "Set-Cookie" not in page.headers and "csrf_token" not in page.text
    assert page.headers["Cache-Control"].startswith("public") and "max-age=0" in page.headers["Cache-Control"]
    assert "X-Accel-Expires" not in page.headers and "X-Page-Cache-Key" not in page.headers
    assert "nonce-" not in page.headers["Content-Security-Policy"] and "nonce" not in page.text
    # its add-to-cart form has no token: another site's post is refused by where it comes from
    cross = requests.post(
        front + "/cart/add",
        data={"product_id": pid, "quantity": 1},
        headers={"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"},
        timeout=10,
        allow_redirects=False,
    )
    assert cross.status_code in (400, 403)
    _cached(front, "/products", counting)
    _cached(front, "/", counting)

    # a price change (an ORM commit, a new generation): the next request through nginx shows it
    from catalog.models import Product

    db.session.get(Product, pid).price_fen = 3900
    commit()
    db.session.remove()
    page = _get(front, path)
    assert page.headers["X-Cache-Status"] != "HIT" and "¥39.00" in page.text and "¥45.00" not in page.text
    assert "¥39.00" in _cached(front, path, counting).text
    listing = _cached(front, "/products", counting)
    assert "¥39.00" in listing.text

    # a sell-out (a checkout's stock allocation, per product): the next request shows it sold out
    record = db.session.scalar(sa.select(StockRecord.id).where(StockRecord.product_id == pid))
    allocate({record: 2})
    commit()
    db.session.remove()
    page = _get(front, path)
    assert page.headers["X-Cache-Status"] != "HIT" and "已售罄" in page.text
    listing = _get(front, "/products")
    assert listing.headers["X-Cache-Status"] != "HIT" and "已售罄" in listing.text
    assert "已售罄" in _cached(front, path, counting).text


def test_a_signed_in_visitor_is_never_served_from_the_cache_nor_stored(shop, committed_db):
    from shop.extensions import db

    front, counting = shop
    _pid, path = _new_product("富硒大米", 5)
    name = make_user(email="guest-proxy@example.com", name="王小丫").name
    commit()
    db.session.remove()
    browser = requests.Session()
    form = browser.get(front + "/login", timeout=10)
    assert form.headers["X-Cache-Status"] == "BYPASS" or "csrf_token" in form.text
    token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', form.text)
    assert token, "the sign-in form carries its token"
    login = browser.post(
        front + "/login",
        data={"csrf_token": token.group(1), "email": "guest-proxy@example.com", "password": "password123"},
        headers={"Origin": front},
        timeout=10,
        allow_redirects=False,
    )
    assert login.status_code in (302, 303) and browser.cookies
    _cached(front, path, counting)  # an anonymous copy in the cache
    for _ in range(2):
        seen = len(counting.paths)
        mine = browser.get(front + path, timeout=10)
        assert mine.status_code == 200 and mine.headers["X-Cache-Status"] == "BYPASS"
        assert len(counting.paths) == seen + 1, "the app answered the signed-in visitor"
        assert name in mine.text or "退出" in mine.text
    assert "no-store" in mine.headers["Cache-Control"]
    # the signed-in answer was not stored: with the cache emptied, anonymous visitors get a fresh render
    other_path = _new_product("板鸭", 5)[1]
    browser.get(front + other_path, timeout=10)
    first = _get(front, other_path)
    assert first.headers["X-Cache-Status"] == "MISS" and name not in first.text
    # a query string other than ?page=N is never stored
    for _ in range(2):
        assert _get(front, "/products?sort=price_asc").headers["X-Cache-Status"] == "BYPASS"
    assert wait_for(lambda: _get(front, "/products?page=1").headers.get("X-Cache-Status") == "HIT", 5)
