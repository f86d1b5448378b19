"""nginx's page cache in front of a live app, invalidated exactly (shop/proxycache.py, deploy/nginx.conf).

The check itself is proxy_cache_check.py, run in a pytest process of its own with the app's page
cache on a private redis-server and PROXY_CACHE_PURGE_URL pointing at the nginx it starts. Needs
Debian's nginx and libnginx-mod-http-cache-purge (skipped without them, required under CI=true: .ci/run
installs them) and the redis-server binary.
"""

from __future__ import annotations

import os
import shutil

import pytest

from tests.faults.services import IS_CI, free_port, needs_redis_server, run_check, sibling_database

PURGE_MODULE = "/usr/lib/nginx/modules/ngx_http_cache_purge_module.so"


def _nginx() -> str:
    path = shutil.which("nginx") or "/usr/sbin/nginx"
    if os.access(path, os.X_OK) and os.path.exists(PURGE_MODULE):
        return path
    if IS_CI:
        pytest.fail("CI=true: the nginx page cache test needs `apt-get install -y nginx libnginx-mod-http-cache-purge`")
    pytest.skip(
        "needs nginx and libnginx-mod-http-cache-purge (apt-get install -y nginx libnginx-mod-http-cache-purge)"
    )


def _port_pair() -> int:
    """A port P with P and P + 2 free (bench.run's app and nginx ports for BENCH_PORT=P)."""
    for _ in range(50):
        base = free_port()
        if base + 2 < 65535:
            import socket

            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", base + 2))
                except OSError:
                    continue
            return base
    raise RuntimeError("no free pair of ports")


def test_nginx_keeps_anonymous_pages_and_never_shows_a_stale_price_or_a_personal_page():
    nginx = _nginx()
    needs_redis_server()
    redis_port = free_port()
    base = _port_pair()
    run_check(
        "proxy_cache_check.py",
        {
            "TEST_DATABASE_URL": sibling_database("proxycache"),
            "FAULTS_REDIS_PORT": str(redis_port),
            "CACHE_REDIS_URL": f"redis://127.0.0.1:{redis_port}/4",
            "BENCH_PORT": str(base),
            "PROXY_CACHE_PURGE_URL": f"http://127.0.0.1:{base + 2}",
            "PROXY_TEST_NGINX": nginx,
        },
    )
