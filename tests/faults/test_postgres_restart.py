"""PostgreSQL restarts during load: requests fail cleanly (503 + Retry-After, no half-written
order) and the app recovers without a restart (pool_pre_ping).

A private throwaway PostgreSQL cluster (initdb as the postgres user, a free port, a temp dir) is
started here and restarted by postgres_restart_check.py, which runs in a pytest process of its own
against it, so the shared PostgreSQL other suites use is never touched. Needs PostgreSQL's server
binaries and root (to run them as postgres); PostgreSQL-only like the other row-lock tests.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile

import pytest

from tests.conftest import requires_postgres
from tests.faults.services import IS_CI, free_port, run_check

PG_BIN = (sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")) or [""])[-1].rpartition("/")[0]


def _runas() -> list[str]:
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--"]
    return []


@pytest.fixture
def private_cluster():
    if not PG_BIN or (os.geteuid() == 0 and not shutil.which("runuser")):
        if IS_CI:
            pytest.fail("CI=true: the PostgreSQL restart test needs /usr/lib/postgresql/*/bin and runuser")
        pytest.skip("needs PostgreSQL's server binaries (/usr/lib/postgresql/*/bin)")
    tmp = tempfile.mkdtemp(prefix="faults-pg-")
    if os.geteuid() == 0:
        shutil.chown(tmp, "postgres", "postgres")
    data, port = os.path.join(tmp, "data"), free_port()
    options = (
        f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off -c synchronous_commit=off "
        "-c full_page_writes=off -c max_connections=40"
    )
    subprocess.run(
        _runas() + [f"{PG_BIN}/initdb", "-D", data, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C.UTF-8"],
        check=True,
        capture_output=True,
        timeout=120,
    )
    subprocess.run(
        _runas() + [f"{PG_BIN}/pg_ctl", "-D", data, "-l", os.path.join(tmp, "log"), "-w", "-o", options, "start"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    subprocess.run(
        _runas() + [f"{PG_BIN}/createdb", "-h", "127.0.0.1", "-p", str(port), "-U", "postgres", "faults"],
        check=True,
        capture_output=True,
        timeout=60,
    )
    try:
        yield {"url": f"postgresql+psycopg://postgres@127.0.0.1:{port}/faults", "data": data, "options": options}
    finally:
        subprocess.run(
            _runas() + [f"{PG_BIN}/pg_ctl", "-D", data, "-m", "immediate", "-w", "stop"],
            capture_output=True,
            timeout=60,
        )
        shutil.rmtree(tmp, ignore_errors=True)


@requires_postgres
def test_postgresql_restarting_under_load_fails_requests_cleanly_and_the_app_recovers(private_cluster):
    run_check(
        "postgres_restart_check.py",
        {
            "TEST_DATABASE_URL": private_cluster["url"],
            "FAULTS_PG_CTL": f"{PG_BIN}/pg_ctl",
            "FAULTS_PG_DATA": private_cluster["data"],
            "FAULTS_PG_OPTIONS": private_cluster["options"],
            "FAULTS_PG_RUNAS": " ".join(_runas()),
        },
    )
