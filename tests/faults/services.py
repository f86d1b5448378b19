"""Helpers for the fault tests: free ports, a private Redis, an SMTP sink, child pytest runs.

The fault checks change process-wide state (Celery's broker and pools, the rate limiter's storage,
the database server) so each runs in a pytest process of its own (`run_check`), as
tests/search/test_celery_worker.py does, on a sibling database of the suite's.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from shop.celery import celery_init_app

ROOT = Path(__file__).resolve().parents[2]
IS_CI = os.environ.get("CI") == "true"
REDIS_SERVER = shutil.which("redis-server") or ""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(check, timeout: float = 15.0, step: float = 0.05) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return True
        time.sleep(step)
    return False


def needs_redis_server():
    """Skip (or fail under CI=true) when the redis-server binary is missing."""
    if not REDIS_SERVER:
        if IS_CI:
            pytest.fail("CI=true: the fault tests need redis-server (apt-get install redis-server)")
        pytest.skip("needs the redis-server binary to stop and start a private Redis")


class PrivateRedis:
    """A throwaway redis-server on 127.0.0.1:`port` that a test may stop and start again."""

    def __init__(self, port: int):
        self.port = port
        self.proc: subprocess.Popen | None = None

    def url(self, db: int = 1) -> str:
        return f"redis://127.0.0.1:{self.port}/{db}"

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        assert wait_for(self.ping, 10), "private redis-server did not start"

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None
        assert wait_for(lambda: not self.ping(), 5)

    def ping(self) -> bool:

        try:
            return bool(self.client(0).ping())
        except Exception:
            return False

    def client(self, db: int = 1):
        import redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        return redis.Redis(port=self.port, db=db, socket_connect_timeout=0.5, retry=Retry(NoBackoff(), 0))


def message_text(raw: bytes) -> str:
    """A received message as a test reads it: the subject, then the plain-text body (attachments aside)."""
    from email import message_from_bytes, policy

    msg = message_from_bytes(raw, policy=policy.default)
    return f"{msg['Subject']}\n{msg.get_body(('plain',)).get_content()}"


class SmtpSink:
    """A minimal SMTP server on loopback that keeps every complete message.

    `hang_first_data=True`: the first DATA command is never answered (the sender blocks, as with a
    slow mail server) and `in_data` is set, so a test can kill the sender right there."""

    def __init__(self, *, hang_first_data: bool = False):
        self.messages: list[bytes] = []
        self.in_data = threading.Event()
        self._hang = hang_first_data
        self._sock = socket.socket()
        self._sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._sock.bind(("127.0.0.1", 0))
        self._sock.listen(16)
        self.port = self._sock.getsockname()[1]
        self._closed = False
        threading.Thread(target=self._accept, daemon=True).start()

    def close(self) -> None:
        self._closed = True
        self._sock.close()

    def _accept(self) -> None:
        while not self._closed:
            try:
                conn, _ = self._sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(conn,), daemon=True).start()

    def _serve(self, conn: socket.socket) -> None:
        conn.settimeout(60)
        with conn, conn.makefile("rb") as lines:
            conn.sendall(b"220 sink\r\n")
            while True:
                line = lines.readline()
                if not line:
                    return
                verb = line.strip().split(b" ")[0].upper()
                if verb == b"DATA":
                    if self._hang:
                        self._hang = False
                        self.in_data.set()
                        while lines.readline():  # until the sender goes away
                            pass
                        return
                    conn.sendall(b"354 go ahead\r\n")
                    body = []
                    while (data := lines.readline()) not in (b".\r\n", b""):
                        body.append(data)
                    self.messages.append(b"".join(body))
                    conn.sendall(b"250 queued\r\n")
                elif verb == b"QUIT":
                    conn.sendall(b"221 bye\r\n")
                    return
                else:  # EHLO/HELO, MAIL, RCPT, RSET, NOOP
                    conn.sendall(b"250 ok\r\n")


def private_redis_fixture(port: int):
    """A pytest fixture: a private redis-server on `port`, started for the test and stopped after
    (the drills stop and start it themselves in between)."""

    @pytest.fixture
    def redis_server():
        server = PrivateRedis(port)
        server.start()
        yield server
        server.stop()

    return redis_server


def celery_for_broker(app, url: str, **conf):
    """A fresh Celery for `app` (the factory's own `celery_init_app`) pointed at `url`, out of eager
    mode, with `conf` over its settings; it becomes the app's Celery. Being new, it has no connection
    or producer pool made for the previous broker (pools made in eager mode point at memory://).
    Returns it; the caller that must give the app's previous Celery back keeps that one and puts it
    back with `restore_celery`."""
    fresh = celery_init_app(app)
    fresh.conf.update(broker_url=url, task_always_eager=False, **conf)
    return fresh


def restore_celery(app, previous) -> None:
    """Give `app` its `previous` Celery back, also as Celery's default and current app (a new Celery
    makes itself the current one when it is built, and task proxies follow the current app)."""
    app.extensions["celery"] = previous
    previous.set_default()
    previous.set_current()


def use_broker(app, url: str):
    """The app's Celery pointed at `url` and out of eager mode, for a check that runs in a process of
    its own (nothing to give back). Returns the new Celery."""
    return celery_for_broker(app, url)


def sibling_database(suffix: str) -> str:
    """`<suite db>_<suffix>` on the suite's PostgreSQL (created if missing); SQLite children get a
    temp file of their own anyway."""
    url = os.environ.get("TEST_DATABASE_URL", "")
    if not url.startswith("postgresql"):
        return url
    import sqlalchemy as sa

    base, _, name = url.rpartition("/")
    sibling = f"{name}_{suffix}"
    engine = sa.create_engine(f"{base}/postgres", isolation_level="AUTOCOMMIT")
    with engine.connect() as conn:
        if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": sibling}):
            conn.execute(sa.text(f'CREATE DATABASE "{sibling}"'))
    engine.dispose()
    return f"{base}/{sibling}"


def run_check(check: str, env: dict, timeout: int = 240) -> None:
    """Run tests/faults/<check> in a fresh pytest process; fail with its output if it failed."""
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", f"tests/faults/{check}"],
        cwd=ROOT,
        env=dict(os.environ, **env),
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    if result.returncode != 0:
        import tempfile

        with tempfile.NamedTemporaryFile("w", prefix=f"faults-{check}-", suffix=".log", delete=False) as log:
            log.write(result.stdout + result.stderr)
        summary = [line for line in result.stdout.splitlines() if line.startswith(("E ", "FAILED", ">"))]
        pytest.fail(f"{check} failed (full output: {log.name}):\n" + "\n".join(summary[:60]))
    assert " passed" in result.stdout and " failed" not in result.stdout and "skipped" not in result.stdout, (
        result.stdout[-3000:]
    )
