"""nginx's page cache is off by default: without PROXY_CACHE_PURGE_URL the app never tells a proxy to
keep a page, whatever a request claims; with it, CACHE_REDIS_URL is required (shop/proxycache.py).
The real nginx in front of a live app: tests/faults/test_proxy_cache.py."""

from __future__ import annotations

import pytest

from shop import create_app, proxycache
from shop.db import commit
from tests.conftest import TEST_CONFIG
from tests.factories import make_product


def test_the_embedded_default_lets_no_proxy_keep_a_page(app, client, db, cache_on):
    product = make_product(name="三江腌菜500克", stock=5)
    commit()
    path = f"/products/{product.id}-{product.slug}"
    assert app.extensions.get("proxy_cache") is None
    for _ in range(2):  # a miss, then a hit of the app's own cache
        response = client.get(path, headers={proxycache.KEY_HEADER: path})
        assert response.status_code == 200 and response.headers["Cache-Control"].startswith("public")
        assert proxycache.EXPIRES_HEADER not in response.headers
        assert "nonce-" in response.headers["Content-Security-Policy"]


def test_a_purge_url_without_a_shared_cache_is_refused_at_start():
    with pytest.raises(RuntimeError, match="CACHE_REDIS_URL"):
        create_app(dict(TEST_CONFIG, PROXY_CACHE_PURGE_URL="http://127.0.0.1:8080", CACHE_REDIS_URL=""))
