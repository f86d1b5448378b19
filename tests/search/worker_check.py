"""The index update through a real Celery worker consuming the "search" queue (Redis broker).

Runs when TEST_REDIS_URL is set (CI sets redis://127.0.0.1:6379/15); required under CI=true.
"""

from __future__ import annotations

import os
import time

import pytest

from search import index as search
from shop.db import commit
from tests.factories import make_product
from tests.faults.services import celery_for_broker, restore_celery
from tests.search.factories import make_place

REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
IS_CI = os.environ.get("CI") == "true"

pytestmark = pytest.mark.skipif(
    not REDIS_URL and not IS_CI,
    reason="needs a Redis broker: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run the real-worker test",
)


@pytest.fixture
def redis_celery(app):
    """The app's Celery switched from eager mode to the Redis broker, restored afterwards."""
    if not REDIS_URL:
        pytest.fail("CI=true requires TEST_REDIS_URL for the real Celery worker test")
    previous = app.extensions["celery"]
    capp = celery_for_broker(app, REDIS_URL, result_backend=None, broker_connection_retry_on_startup=True)
    try:
        yield capp
    finally:
        restore_celery(app, previous)


def _wait_for(check, timeout: float = 15.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(0.05)
    return False


def test_an_index_update_happens_through_a_real_worker_on_the_search_queue(app, committed_db, index_dir, redis_celery):
    from celery.contrib.testing.worker import start_worker

    _village, station = make_place("柳溪村", "三江镇")
    first = make_product(name="三江腌菜500克", station=station)
    committed_db.session.flush()
    search.rebuild()
    with start_worker(
        redis_celery,
        pool="solo",
        concurrency=1,
        queues=["search"],
        perform_ping_check=False,
        loglevel="WARNING",
        shutdown_timeout=10,
    ):
        commit()  # the after-commit hook publishes search.tasks.reindex_products to the "search" queue
        product = make_product(name="南安板鸭1只", station=station)
        assert search.search_product_ids("板鸭") == []  # nothing indexed in this process before the commit
        commit()
        assert _wait_for(lambda: search.search_product_ids("banya") == [product.id])
        assert search.search_product_ids("yancai") == [first.id]
