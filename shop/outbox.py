"""Transactional outbox: a Celery task is recorded in the same transaction as the change that causes it.

Why: publishing to Redis after commit can fail (Redis down, restarting, unreachable). Publishing
before commit could announce a change that then rolls back. So, with a broker configured:

1. `enqueue(task, *args)` (what `shop.celery.enqueue_after_commit` calls) inserts an `OutboxMessage`
   row in the session's transaction: it commits or rolls back with the change itself.
2. After the commit, the rows of that transaction are published (the Celery task id is the row's
   `task_id`) and deleted. By default both happen off the request: a per-process relay thread
   (`Relay`) publishes what the process committed in the last `OUTBOX_RELAY_SECONDS`, and a delete
   thread removes every published row of the last `OUTBOX_DELETE_SECONDS` in one statement
   (`_DeleteQueue`): a checkout or booking pays for neither a broker round trip nor a second
   transaction. With both set to 0 (the tests) each happens at once, in the request.
   Messages of a task with a batch runner (`batch_runner`: the order and booking e-mails) travel
   together: one `shop.outbox.run_batch` message per task name carries all of them, and the worker
   runs them in one go (one load, one claim and one mark of the mail keys for the lot, one Celery
   delivery instead of one each). Every item keeps its own task id, so its effect is still made
   once; an item the runner could not do (SMTP down) is published again as its own task, under
   its task id, with that task's retries. The drain always publishes rows one by one.
3. Rows whose publish failed stay. `drain()` publishes them once Redis is back: Celery beat runs
   `shop.outbox.drain` every `OUTBOX_DRAIN_SECONDS`, and `flask --app wsgi outbox drain` does it by
   hand. On PostgreSQL the rows are taken `FOR UPDATE SKIP LOCKED`, so two drainers never publish
   the same row; on SQLite every write transaction is `BEGIN IMMEDIATE`, which serialises them.
   Rows younger than `OUTBOX_MIN_AGE_SECONDS` are left to the process that wrote them.

After a failed publish this process stops trying for `OUTBOX_RETRY_SECONDS` (the rows wait for the
drain), so an outage costs requests nothing but one INSERT per task.

A message can still be published twice (published, then the DELETE failed; a worker killed
mid-task is redelivered too). Both copies carry the same task id, and every task makes its effect
once: see the task modules and `shop.mail.send_once`.

With no broker (the embedded default, and the tests) tasks run eagerly in this process after
the commit, as before, and no row is written.
"""

from __future__ import annotations

import atexit
import logging
import os
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Callable

import sqlalchemy as sa
from celery import shared_task
from flask import current_app
from sqlalchemy import event
from sqlalchemy.orm import Mapped, Session, mapped_column

from shop.columns import pk
from shop.db import after_commit
from shop.extensions import db
from shop.mail import forget_sent
from shop.timeutil import now_utc

log = logging.getLogger(__name__)

_BATCH = "outbox_batch"
#: A publish gives up quickly: the row is kept, so nothing is lost by not waiting for Redis.
PUBLISH_RETRY_POLICY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


class OutboxMessage(db.Model):
    """One Celery task waiting to be published."""

    __tablename__ = "outbox_messages"

    id: Mapped[int] = pk()
    #: The Celery task id of every publish of this row (so a task can recognise a repeat).
    task_id: Mapped[str] = mapped_column(sa.String(64), unique=True)
    task_name: Mapped[str] = mapped_column(sa.String(200))
    args: Mapped[list] = mapped_column(sa.JSON, default=list)
    kwargs: Mapped[dict] = mapped_column(sa.JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(index=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str] = mapped_column(sa.String(300), default="")


_INSERT = sa.insert(OutboxMessage.__table__)


# --------------------------------------------------------------------------------------- broker


class _Breaker:
    """Per process: after a failed publish, skip publishing for a while (rows wait for the drain)."""

    def __init__(self):
        self.lock = threading.Lock()
        self.down_until = 0.0

    def is_open(self) -> bool:
        return time.monotonic() < self.down_until

    def trip(self, seconds: float) -> None:
        with self.lock:
            self.down_until = time.monotonic() + seconds

    def reset(self) -> None:
        with self.lock:
            self.down_until = 0.0


breaker = _Breaker()


def _celery():
    return current_app.extensions["celery"]


def is_eager() -> bool:
    """No broker: tasks run in process (the embedded default)."""
    return bool(_celery().conf.task_always_eager)


def publish(task_name: str, args, kwargs, task_id: str) -> None:
    """Send one task to the broker (raises when the broker is unreachable)."""
    celery = _celery()
    options = {"task_id": task_id, "retry": True, "retry_policy": PUBLISH_RETRY_POLICY}
    task = celery.tasks.get(task_name)
    if task is not None:
        task.apply_async(args=list(args or ()), kwargs=dict(kwargs or {}), **options)
    else:  # a task this process did not import: routing by name still applies
        celery.send_task(task_name, args=list(args or ()), kwargs=dict(kwargs or {}), **options)


# -------------------------------------------------------------------------------------- enqueue


def enqueue(task, *args, session=None, **kwargs) -> None:
    """Run `task(*args, **kwargs)` once the current transaction commits, at least once and with
    one effect (see the module docstring). Eager mode: in process, after commit.

    `task` is a Celery task or its registered name: services name the tasks they enqueue, so that a
    services module and the tasks module that calls it do not import each other."""
    session = session if session is not None else db.session
    name = task if isinstance(task, str) else task.name
    if is_eager():
        after_commit(lambda: _celery().tasks[name].delay(*args, **kwargs), session=session)
        return
    row = {
        "task_id": uuid.uuid4().hex,
        "task_name": name,
        "args": list(args),
        "kwargs": dict(kwargs),
        "created_at": now_utc(),
        "attempts": 0,
        "last_error": "",
    }
    session.execute(_INSERT, row)  # Core, now: no unit of work (and no flush) for a row nothing reads back
    batch = session.info.get(_BATCH)
    if batch is None:
        batch = session.info[_BATCH] = []
        after_commit(lambda: _publish_committed(session), session=session)
    batch.append((row["task_id"], row["task_name"], row["args"], row["kwargs"]))


def _publish_committed(session) -> None:
    """After commit: hand this transaction's messages to the relay thread, or (OUTBOX_RELAY_SECONDS
    = 0) publish them now and delete the published rows."""
    batch = session.info.pop(_BATCH, None)
    if not batch or _left_for_the_drain(batch):
        return
    interval = float(current_app.config.get("OUTBOX_RELAY_SECONDS", 0) or 0)
    if interval > 0:
        relay.add(current_app._get_current_object(), batch, interval)
        return
    _publish_and_delete(batch, session=session)


def _left_for_the_drain(messages: list) -> bool:
    """True (and logged) while the breaker says the broker is down: the rows wait for the drain."""
    if not breaker.is_open():
        return False
    log.info("outbox: broker marked down, %d task(s) left for the drain", len(messages))
    return True


def _units(messages: list[tuple]) -> list[tuple[str, list[tuple]]]:
    """Messages as publish units, in commit order: (task name, [message]) for a task without a batch
    runner or alone in its group; (task name, [messages...]) for the messages of a batched task."""
    units: list[tuple[str, list[tuple]]] = []
    groups: dict[str, list[tuple]] = {}
    for message in messages:
        name = message[1]
        if name in _BATCH_RUNNERS:
            if name not in groups:
                groups[name] = []
                units.append((name, groups[name]))
            groups[name].append(message)
        else:
            units.append((name, [message]))
    return units


def _publish_unit(name: str, messages: list[tuple]) -> None:
    if len(messages) == 1:
        task_id, _name, args, kwargs = messages[0]
        publish(name, args, kwargs, task_id)
        return
    items = [[task_id, list(args or ()), dict(kwargs or {})] for task_id, _name, args, kwargs in messages]
    publish(RUN_BATCH, [name, items], {}, uuid.uuid4().hex)


def _publish_and_delete(messages: list[tuple], *, session=None) -> None:
    """Publish (task id, name, args, kwargs) messages, then delete their rows: through the delete
    thread when OUTBOX_DELETE_SECONDS > 0, else at once (in `session`, or on a connection of its
    own). The first failed publish trips the breaker and leaves the rest to the drain."""
    published: list[str] = []
    for name, unit in _units(messages):
        try:
            _publish_unit(name, unit)
        except Exception as exc:  # Redis down: the rows stay, the drain publishes them
            breaker.trip(float(current_app.config.get("OUTBOX_RETRY_SECONDS", 5)))
            log.warning(
                "outbox: publish of %s failed (%s); %d task(s) left for the drain",
                name,
                exc,
                len(messages) - len(published),
            )
            break
        published.extend(message[0] for message in unit)
    if not published:
        return
    interval = float(current_app.config.get("OUTBOX_DELETE_SECONDS", 0) or 0)
    if interval > 0:
        deletes.add(db.engine, published, interval)
        return
    try:
        if session is not None:
            delete_published(session, published)
        else:
            with db.engine.connect() as connection:
                delete_published(connection, published)
    except Exception:  # the drain publishes them again; the tasks are idempotent
        log.exception("outbox: could not delete %d published row(s)", len(published))
        if session is not None:
            session.rollback()


def delete_published(session_or_connection, task_ids: list[str]) -> None:
    """Delete published rows and commit. On PostgreSQL the commit does not wait for the disk
    (synchronous_commit off for this transaction only): losing it in a crash only means the drain
    publishes the task again, and the tasks are idempotent."""
    dialect = getattr(session_or_connection, "dialect", None) or session_or_connection.get_bind().dialect
    if dialect.name == "postgresql":
        session_or_connection.execute(sa.text("SET LOCAL synchronous_commit TO OFF"))
    session_or_connection.execute(
        sa.delete(OutboxMessage).where(OutboxMessage.task_id.in_(task_ids)),
        execution_options={"synchronize_session": False},
    )
    session_or_connection.commit()


class _ProcessQueue:
    """Per process: items waiting for a daemon thread of this process (started on first use in each
    process, so also after a fork). `add` queues items with what the thread needs to handle them
    (`target`: an engine, an app); `take` empties the queue."""

    thread_name = "outbox"

    def __init__(self, interval: float):
        self.lock = threading.Lock()
        self.items: list = []
        self.target = None
        self.pid = 0
        self.interval = interval
        self.wake = threading.Event()

    def add(self, target, items: list, interval: float) -> None:
        with self.lock:
            self.items.extend(items)
            self.target = target
            self.interval = interval
            if self.pid != os.getpid():  # first use in this process (or a forked child)
                self.pid = os.getpid()
                threading.Thread(target=self._run, name=self.thread_name, daemon=True).start()

    def take(self) -> tuple[list, object]:
        with self.lock:
            items, self.items = self.items, []
            return items, self.target

    def _run(self) -> None:
        raise NotImplementedError


class _DeleteQueue(_ProcessQueue):
    """Task ids published but not yet deleted. The thread deletes them every `interval` seconds in
    one statement on its own connection; `flush()` does it now (also at exit). Rows it could not
    delete (the database down, the process killed first) stay: the drain publishes them again after
    OUTBOX_MIN_AGE_SECONDS, which must be longer than the interval, and the task runs once (same
    task id)."""

    thread_name = "outbox-deletes"

    def _run(self) -> None:
        while True:
            self.wake.wait(self.interval)
            self.wake.clear()
            self.flush()

    def flush(self) -> int:
        """Delete the waiting ids now; returns how many were sent to the database."""
        ids, engine = self.take()
        if not ids or engine is None:
            return 0
        try:
            with engine.connect() as connection:
                delete_published(connection, ids)
        except Exception:  # the drain publishes them again; the tasks are idempotent
            log.exception("outbox: could not delete %d published row(s)", len(ids))
        return len(ids)


deletes = _DeleteQueue(0.5)
atexit.register(deletes.flush)


class Relay(_ProcessQueue):
    """Messages committed but not yet published. The thread wakes when messages arrive, lets
    `interval` seconds of them gather, then publishes them (`_publish_and_delete`, in an app context
    of the app that committed them); `flush()` does it now (also at exit). A message the thread
    never publishes (the process killed first) keeps its row: the drain publishes it after
    OUTBOX_MIN_AGE_SECONDS, which must be longer than the interval."""

    thread_name = "outbox-relay"

    def add(self, app, messages: list[tuple], interval: float) -> None:
        super().add(app, messages, interval)
        self.wake.set()

    def _run(self) -> None:
        while True:
            self.wake.wait()
            time.sleep(self.interval)  # let the messages of the next few requests join these
            self.wake.clear()
            self.flush()

    def flush(self) -> int:
        """Publish the waiting messages now; returns how many were handed to the broker or the drain."""
        messages, app = self.take()
        if not messages or app is None:
            return 0
        try:
            with app.app_context():
                if not _left_for_the_drain(messages):
                    _publish_and_delete(messages)
        except Exception:  # the rows stay: the drain publishes them
            log.exception("outbox: relay could not publish %d task(s)", len(messages))
        return len(messages)


relay = Relay(0.2)
atexit.register(relay.flush)  # atexit runs last-registered first: publish, then delete


# ---------------------------------------------------------------------------------------- batches

RUN_BATCH = "shop.outbox.run_batch"

#: task name -> runner(items) -> the items it could not do; items are (task_id, args, kwargs).
_BATCH_RUNNERS: dict[str, Callable[[list[tuple]], list[tuple]]] = {}


def batch_runner(task):
    """Register `runner(items) -> failed items` for the messages of `task` (items are (task id,
    args, kwargs)). The runner must make each item's effect once per task id, exactly as the task
    would (e.g. `shop.mail.send_many` with the key `shop.mail.mail_key(task name, task id)`), and
    commit what it does; it returns the items to hand back to the task one by one (its retries
    apply). Register in the task's module, so every process that enqueues the task knows it."""

    def register(runner):
        _BATCH_RUNNERS[task.name] = runner
        return runner

    return register


@shared_task(name=RUN_BATCH)
def run_batch(task_name: str, items: list) -> int:
    """Worker: run the messages of one batched task in one go; what fails (or, with no runner in
    this worker, everything) is published again as its own task under its own task id, or, if the
    broker is gone meanwhile, written back to the outbox for the drain. Returns how many items the
    runner did."""
    items = [(task_id, list(args or ()), dict(kwargs or {})) for task_id, args, kwargs in items]
    runner = _BATCH_RUNNERS.get(task_name)
    failed = items
    if runner is not None:
        try:
            failed = runner(items)
        except Exception:  # each item on its own: its task's retries and once-per-task-id apply
            log.exception("outbox: batch of %d %s failed; publishing them one by one", len(items), task_name)
            db.session.rollback()
            failed = items
    for n, (task_id, args, kwargs) in enumerate(failed):
        try:
            publish(task_name, args, kwargs, task_id)
        except Exception:  # the broker went away meanwhile: the rest wait in the outbox, as any message
            log.exception(
                "outbox: could not publish %d %s items again; they wait for the drain", len(failed) - n, task_name
            )
            _keep_for_the_drain(task_name, failed[n:])
            break
    return len(items) - len(failed)


def _keep_for_the_drain(task_name: str, items: list[tuple]) -> None:
    """Outbox rows again for batch items that could not be published (same task ids: their effect
    is still made once); the drain publishes them once the broker answers."""
    now = now_utc()
    db.session.rollback()
    db.session.execute(
        _INSERT,
        [
            {
                "task_id": task_id,
                "task_name": task_name,
                "args": list(args),
                "kwargs": dict(kwargs),
                "created_at": now,
                "attempts": 1,
                "last_error": "publish failed after its batch",
            }
            for task_id, args, kwargs in items
        ],
    )
    db.session.commit()


def _forget_rolled_back(session, _previous) -> None:
    if not session.in_transaction():  # the outermost transaction rolled back: its rows are gone
        session.info.pop(_BATCH, None)


# ---------------------------------------------------------------------------------------- drain


@dataclass
class DrainResult:
    published: int = 0
    left: int = 0  # rows not published because the broker failed
    error: str = ""


def drain(*, min_age: float | None = None, batch: int = 100, now: datetime | None = None) -> DrainResult:
    """Publish waiting rows older than `min_age` seconds (default OUTBOX_MIN_AGE_SECONDS), oldest
    first, in batches; each batch is published and deleted in one transaction. Stops at the first
    publish failure (the broker is still down) and records it on that row."""
    if min_age is None:
        min_age = float(current_app.config.get("OUTBOX_MIN_AGE_SECONDS", 10))
    cutoff = (now or now_utc()) - timedelta(seconds=min_age)
    session = db.session
    result = DrainResult()
    while True:
        query = (
            sa.select(OutboxMessage).where(OutboxMessage.created_at <= cutoff).order_by(OutboxMessage.id).limit(batch)
        )
        if session.get_bind().dialect.name == "postgresql":
            query = query.with_for_update(skip_locked=True)
        rows = list(session.scalars(query))
        if not rows:
            break
        done = []
        for row in rows:
            try:
                publish(row.task_name, row.args, row.kwargs, row.task_id)
            except Exception as exc:
                row.attempts += 1
                row.last_error = f"{type(exc).__name__}: {exc}"[:300]
                result.error = row.last_error
                break
            done.append(row.id)
        if done:
            session.execute(
                sa.delete(OutboxMessage).where(OutboxMessage.id.in_(done)),
                execution_options={"synchronize_session": False},
            )
        session.commit()
        result.published += len(done)
        if result.error:
            break
    if result.error:
        result.left = waiting()
        log.warning("outbox: drain stopped, broker unreachable (%s); %d row(s) wait", result.error, result.left)
    else:
        breaker.reset()
    return result


def waiting() -> int:
    return db.session.scalar(sa.select(sa.func.count()).select_from(OutboxMessage)) or 0


@shared_task(name="shop.outbox.drain")
def drain_task() -> int:
    """Beat, every OUTBOX_DRAIN_SECONDS: publish what web processes could not; forget old mail keys."""
    result = drain()
    forget_sent()
    return result.published


def install_session_hooks() -> None:
    """Forget the messages of a rolled-back transaction. Installed by the app factory (installing
    twice is harmless)."""
    if not event.contains(Session, "after_soft_rollback", _forget_rolled_back):
        event.listen(Session, "after_soft_rollback", _forget_rolled_back)
