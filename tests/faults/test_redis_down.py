"""Redis down, then back: a private redis-server stopped and started, a real Celery worker.

The check itself is redis_down_check.py, run in a pytest process of its own (it points the app's
Celery, page cache and rate limiter at the private Redis). Needs the redis-server binary; bounded
to a few seconds. The in-process part (no services) is test_outbox.py.
"""

from __future__ import annotations

from tests.faults.services import free_port, needs_redis_server, run_check, sibling_database


def test_the_shop_takes_orders_and_bookings_while_redis_is_down_and_mails_each_once_when_it_is_back():
    needs_redis_server()
    port = free_port()
    run_check(
        "redis_down_check.py",
        {
            "TEST_DATABASE_URL": sibling_database("faults_redis"),
            "FAULTS_REDIS_PORT": str(port),
            "CACHE_REDIS_URL": f"redis://127.0.0.1:{port}/2",
            "RATELIMIT_STORAGE_URI": f"redis://127.0.0.1:{port}/3",
        },
    )
