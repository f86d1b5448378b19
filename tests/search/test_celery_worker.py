"""The real-Celery-worker check runs in a pytest process of its own.

An in-process worker re-binds Celery's process-wide state (current app, connection and producer
pools) in ways that leak into the eager mode the rest of the suite relies on, so
`worker_check.py` runs in a fresh interpreter and this test asserts it passed.
"""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
IS_CI = os.environ.get("CI") == "true"


def _sibling_database(url: str) -> str:
    """`<name>_worker` beside the suite's PostgreSQL database (created if missing), so the child's
    schema reset does not touch ours; SQLite children get their own temp file anyway."""
    if not url.startswith("postgresql"):
        return url
    import sqlalchemy as sa

    base, _, name = url.rpartition("/")
    sibling = f"{name}_worker"
    engine = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": sibling}):
            conn.execute(sa.text(f'CREATE DATABASE "{sibling}"'))
    engine.dispose()
    return f"{base}/{sibling}"


@pytest.mark.skipif(
    not REDIS_URL and not IS_CI,
    reason="needs a Redis broker: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run the real-worker test",
)
def test_index_updates_go_through_a_real_worker_on_the_search_queue():
    env = dict(os.environ, TEST_DATABASE_URL=_sibling_database(os.environ.get("TEST_DATABASE_URL", "")))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/search/worker_check.py"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
