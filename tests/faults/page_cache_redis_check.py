"""Two web nodes (the suite's app, A, and a second app, B) sharing a private redis-server as their
page cache (run by test_page_cache_redis.py in a pytest process of its own).

- Each node sees the other's invalidations: a price, a checkout's stock, an unpublished product.
- Redis paused (SIGSTOP: its data kept, every call times out) while node A changes a price: A's
  invalidation cannot be recorded, so A stops using the cache and renders; once Redis answers again
  A records a new generation, and neither node ever shows the old price afterwards, not even B,
  which met no error at all. A node that meets the outage itself also recovers on its own.
- Redis killed and started empty: both nodes render, then cache again.
"""

from __future__ import annotations

import os
import signal
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from shop.db import commit
from tests.conftest import TEST_CONFIG, RequestIsolatingClient
from tests.factories import make_product
from tests.faults.services import private_redis_fixture, wait_for

PORT = int(os.environ.get("FAULTS_REDIS_PORT") or 0)
pytestmark = pytest.mark.skipif(not PORT, reason="run through tests/faults/test_page_cache_redis.py")

redis_server = private_redis_fixture(PORT)


@pytest.fixture
def nodes(app, committed_db, redis_server, monkeypatch):
    from shop import create_app, pagecache

    monkeypatch.setitem(app.config, "PAGE_CACHE", True)
    assert app.config["CACHE_REDIS_URL"] == os.environ["CACHE_REDIS_URL"]
    other = create_app(dict(TEST_CONFIG, PAGE_CACHE=True))
    other.test_client_class = RequestIsolatingClient
    for node in (app, other):
        with node.app_context():
            pagecache.clear()
    yield app, other


def _outage(node):
    return node.extensions["page_cache_outage"]


@contextmanager
def _statements(node):
    from shop.extensions import db

    seen: list[str] = []
    with node.app_context():
        engine = db.engine

    def record(conn, cursor, statement, *args):
        seen.append(statement)

    sa.event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        sa.event.remove(engine, "before_cursor_execute", record)


def _page(node, url) -> tuple[bool, str]:
    """(served from the cache, page) for an anonymous visitor of `node`."""
    from shop.extensions import db

    with _statements(node) as seen:
        response = node.test_client().get(url)
    db.session.remove()  # node A's requests share the test's app context: end their transaction
    assert response.status_code == 200, (url, response.status_code)
    return seen == [], response.get_data(as_text=True)


def _new_product(name: str, stock: int) -> tuple[int, str]:
    from shop.extensions import db

    product = make_product(name=name, price_fen=4500, stock=stock)
    commit()
    pid, url = product.id, f"/products/{product.id}-{product.slug}"
    db.session.remove()
    return pid, url


def _change(pid: int, **values) -> None:
    """A commit on node A (the test's app context), by ORM as a view would."""
    from catalog.models import Product
    from shop.extensions import db

    product = db.session.get(Product, pid)
    for name, value in values.items():
        setattr(product, name, value)
    commit()
    db.session.remove()


def _warm(node, url) -> None:
    for _ in range(3):
        if _page(node, url)[0]:
            return
    raise AssertionError(f"{url} is never served from the cache")


def test_each_node_sees_the_others_invalidations(nodes, committed_db, redis_server):
    from catalog.models import Product
    from shop.extensions import db
    from stock.models import StockRecord
    from stock.services import allocate

    a, b = nodes
    pid, url = _new_product("三江腌菜", 2)
    _warm(a, url)
    _warm(b, url)
    assert redis_server.client(4).keys("shop:pc:gen"), "the generation lives in the shared Redis"
    _change(pid, price_fen=3900)  # committed on node A
    hit, page = _page(b, url)
    assert not hit and "¥39.00" in page and "¥45.00" not in page
    hit, page = _page(a, url)  # (the page node B just rendered, from the shared cache)
    assert hit and "¥39.00" in page and "¥45.00" not in page
    record = db.session.scalar(sa.select(StockRecord.id).where(StockRecord.product_id == pid))
    allocate({record: 2})  # a checkout on node A: a per-product version, not a new generation
    commit()
    db.session.remove()
    hit, page = _page(b, url)
    assert not hit and "已售罄" in page
    _warm(a, "/products")
    with b.app_context():  # node B commits: the product unpublished
        db.session.execute(sa.update(Product).where(Product.id == pid).values(is_published=False))
        commit()
    hit, page = _page(a, "/products")
    assert not hit and "三江腌菜" not in page
    assert node_b_page_is_gone(b, url)


def node_b_page_is_gone(b, url) -> bool:
    return b.test_client().get(url).status_code == 404


def test_a_price_changed_while_redis_is_paused_is_never_shown_stale(nodes, committed_db, redis_server, caplog):
    a, b = nodes
    pid, url = _new_product("富硒大米", 5)
    _warm(a, url)
    _warm(b, url)
    os.kill(redis_server.proc.pid, signal.SIGSTOP)  # ------------------------------- Redis paused
    try:
        _change(pid, price_fen=3900)  # node A: committed, but its invalidation cannot be recorded
        assert _outage(a).down and not _outage(b).down
        for _ in range(3):
            hit, page = _page(a, url)  # node A renders, never asks the cache meanwhile
            assert not hit and "¥39.00" in page
    finally:
        os.kill(redis_server.proc.pid, signal.SIGCONT)  # ---------------------------- Redis back
    assert wait_for(lambda: not _outage(a).down, 10), "node A records a new generation"
    assert not _outage(b).down and _outage(b).pending == 0, "node B met no error at all"
    for node in (b, a, b):
        page = _page(node, url)[1]
        assert "¥39.00" in page and "¥45.00" not in page
    _warm(b, url)
    assert [r for r in caplog.records if "page cache unavailable" in r.getMessage()][:1], "the outage is logged"

    # node B meets the outage itself (a read times out): it renders meanwhile and recovers on its own
    os.kill(redis_server.proc.pid, signal.SIGSTOP)
    try:
        hit, page = _page(b, url)
        assert not hit and "¥39.00" in page and _outage(b).down
    finally:
        os.kill(redis_server.proc.pid, signal.SIGCONT)
    assert wait_for(lambda: not _outage(b).down, 10)
    _warm(b, url)


def test_redis_killed_and_started_empty(nodes, committed_db, redis_server):
    a, b = nodes
    pid, url = _new_product("板鸭", 5)
    _warm(a, url)
    _warm(b, url)
    redis_server.stop()  # ------------------------------------------------------------ Redis down
    _change(pid, price_fen=2500)
    for node in (a, b):
        hit, page = _page(node, url)
        assert not hit and "¥25.00" in page and _outage(node).down
    redis_server.start()  # ----------------------------------------------------------- Redis back
    assert wait_for(lambda: not _outage(a).down and not _outage(b).down, 10)
    for node in (a, b):
        _warm(node, url)
        assert "¥25.00" in _page(node, url)[1]
