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

from tests.faults.services import sibling_database

ROOT = Path(__file__).resolve().parents[2]
REDIS_URL = os.environ.get("TEST_REDIS_URL", "")
IS_CI = os.environ.get("CI") == "true"


@pytest.mark.skipif(
    not REDIS_URL and not IS_CI,
    reason="needs a Redis broker: set TEST_REDIS_URL (e.g. redis://127.0.0.1:6379/15) to run the real-worker test",
)
def test_index_updates_go_through_a_real_worker_on_the_search_queue():
    env = dict(os.environ, TEST_DATABASE_URL=sibling_database("worker"))
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "tests/search/worker_check.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
    assert " passed" in result.stdout and " failed" not in result.stdout
