"""The page cache on a real Redis that stops, pauses and comes back, shared by two web nodes.

The check itself is page_cache_redis_check.py, run in a pytest process of its own (it builds a
second app, "node B", beside the suite's "node A", both on a private redis-server). Needs the
redis-server binary.
"""

from __future__ import annotations

from tests.faults.services import free_port, needs_redis_server, run_check, sibling_database


def test_two_nodes_share_invalidations_and_a_redis_outage_never_leaves_a_stale_price():
    needs_redis_server()
    port = free_port()
    run_check(
        "page_cache_redis_check.py",
        {
            "TEST_DATABASE_URL": sibling_database("faults_pagecache"),
            "FAULTS_REDIS_PORT": str(port),
            "CACHE_REDIS_URL": f"redis://127.0.0.1:{port}/4",
        },
    )
