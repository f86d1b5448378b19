"""A Celery worker killed mid-task (run by test_worker_killed.py in a pytest process of its own).

A real worker process (`celery -A wsgi:celery_app worker`, private Redis, visibility timeout 2 s)
takes an order e-mail task and is SIGKILLed while it waits for the SMTP server. Late acks keep the
message unacknowledged; a second worker gets it back after the visibility timeout, takes over the
dead run's mail claim and sends the mail: exactly one message arrives, and no more later.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import sqlalchemy as sa

from orders.tasks import send_order_mail
from shop.celery import enqueue_after_commit
from shop.db import commit
from shop.mail import SentMail
from shop.timeutil import now_utc
from tests.factories import make_product, make_user
from tests.faults.services import ROOT, SmtpSink, message_text, private_redis_fixture, use_broker, wait_for
from tests.orders.factories import make_order

PORT = int(os.environ.get("FAULTS_REDIS_PORT") or 0)
VISIBILITY = 2
pytestmark = pytest.mark.skipif(not PORT, reason="run through tests/faults/test_worker_killed.py")


redis_server = private_redis_fixture(PORT)


class Worker:
    """`celery -A wsgi:celery_app worker` in its own process group, logging to a file."""

    def __init__(self, env: dict, log_path):
        self.log_path = log_path
        self.log = open(log_path, "ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "wsgi:celery_app",
                "worker",
                "--pool",
                "solo",
                "-Q",
                "celery",
                "--without-gossip",
                "--without-mingle",
                "--without-heartbeat",
                "-l",
                "INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def kill(self) -> None:
        os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()

    def stop(self) -> None:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
        self.log.close()

    def output(self) -> str:
        return open(self.log_path, encoding="utf-8", errors="replace").read()[-4000:]


def test_a_worker_killed_mid_task_runs_it_again_and_the_mail_arrives_once(app, committed_db, redis_server, tmp_path):
    buyer = make_user(email="buyer@test.cn")
    order = make_order(buyer, [(make_product(name="三江腌菜500克"), 1)], now=now_utc())
    commit()  # still eager: the order's own mail goes to the log
    code, order_id = order.code, order.id
    sink = SmtpSink(hang_first_data=True)
    use_broker(app, redis_server.url(1))
    env = dict(
        os.environ,
        DATABASE_URL=app.config["SQLALCHEMY_DATABASE_URI"],
        SECRET_KEY=app.config["SECRET_KEY"],
        CELERY_BROKER_URL=redis_server.url(1),
        CELERY_VISIBILITY_TIMEOUT=str(VISIBILITY),
        MAIL_SERVER="127.0.0.1",
        MAIL_PORT=str(sink.port),
        MAIL_CLAIM_STALE_SECONDS="1",
        SEARCH_INDEX_DIR=str(tmp_path / "index"),
        CACHE_REDIS_URL="",
        RATELIMIT_STORAGE_URI="memory://",
    )
    first = Worker(env, tmp_path / "worker1.log")
    second = None
    try:
        enqueue_after_commit(send_order_mail, order_id, "placed")
        commit()  # published to the private Redis
        committed_db.session.remove()
        assert sink.in_data.wait(60), first.output()  # the worker is inside the SMTP conversation
        first.kill()
        broker = redis_server.client(1)
        assert broker.hlen("unacked") == 1 and broker.llen("celery") == 0  # held, not acknowledged
        assert sink.messages == []
        second = Worker(env, tmp_path / "worker2.log")
        assert wait_for(lambda: len(sink.messages) >= 1, 60), second.output()
        wait_for(lambda: False, VISIBILITY * 2)  # long enough for any repeat to show up
        assert len(sink.messages) == 1 and broker.hlen("unacked") == 0, second.output()
        assert code.encode() in sink.messages[0] or code in message_text(sink.messages[0])
        sent = committed_db.session.scalars(sa.select(SentMail)).all()
        assert [(m.key, m.status) for m in sent] == [(f"orders.tasks.send_order_mail:{_task_id(sent)}", "sent")]
    finally:
        if first.proc.poll() is None:
            first.kill()
        if second is not None:
            second.stop()
        sink.close()


def _task_id(sent) -> str:
    return sent[0].key.rsplit(":", 1)[1] if sent else ""
