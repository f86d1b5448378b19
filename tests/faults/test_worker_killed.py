"""A Celery worker killed mid-task: the task runs again and its effect (an e-mail) happens once.

The check is worker_killed_check.py, run in a pytest process of its own with a private
redis-server and real worker processes (SIGKILL, then a second worker). Bounded to a few seconds
plus the 2 s visibility timeout it configures.
"""

from __future__ import annotations

from tests.faults.services import free_port, needs_redis_server, run_check, sibling_database


def test_a_worker_killed_mid_task_runs_the_task_again_with_one_effect():
    needs_redis_server()
    run_check(
        "worker_killed_check.py",
        {
            "TEST_DATABASE_URL": sibling_database("faults_worker"),
            "FAULTS_REDIS_PORT": str(free_port()),
        },
    )
