"""What Celery beat runs, run in process on the embedded default (`make run`: no broker, no beat).

Production runs `celery beat` against Redis. The embedded default has neither, yet orders and
booking holds must still expire, stays must still be completed and credited, and the monthly report
must still be written. So `flask run` with no `CELERY_BROKER_URL` (and not under TESTING) starts one
daemon thread that ticks every SCHEDULER_TICK_SECONDS and runs the entries of Celery's own
`beat_schedule` (`shop/celery.py`, the one source of the schedule) when they are due:

- an interval entry (`"schedule": 60.0`) runs when that many seconds have passed since it last ran
  (the first tick runs it);
- a `crontab` entry runs when a minute it names (in Celery's timezone) has passed since the previous
  tick; minutes missed while the process was down are not made up, as with beat.

Tasks run eagerly in this thread (`task.apply()`), each in its own app context and transaction, so a
failing one is logged and the others still run. Every scheduled task is safe to run twice or to
overlap a request (they lock and re-check), which is also what beat assumes.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import click
from celery.schedules import crontab
from flask import Flask
from flask.helpers import get_debug_flag
from werkzeug.serving import is_running_from_reloader

from shop.timeutil import now_utc

log = logging.getLogger(__name__)

#: A crontab entry looks back at most this far for a due minute (a tick after a long pause runs it once).
MAX_LOOKBACK = timedelta(days=2)


@dataclass
class Scheduler:
    """Runs `beat_schedule` entries on `tick(now)`; `clock` gives the time for the thread's ticks."""

    app: Flask
    clock: Callable[[], datetime] = now_utc
    last_run: dict[str, datetime] = field(default_factory=dict)
    last_tick: datetime | None = None

    @property
    def celery(self):
        return self.app.extensions["celery"]

    def entries(self) -> dict[str, dict]:
        return dict(self.celery.conf.beat_schedule or {})

    def due(self, now: datetime) -> list[str]:
        """Names of the entries due at `now` (does not run them)."""
        names = []
        for name, entry in self.entries().items():
            schedule = entry["schedule"]
            if isinstance(schedule, crontab):
                if self.last_tick is not None and _cron_matches_between(
                    schedule, self.last_tick, now, self._timezone()
                ):
                    names.append(name)
            else:
                seconds = (
                    schedule.total_seconds()
                    if isinstance(schedule, timedelta)
                    else float(getattr(schedule, "seconds", schedule))
                )
                last = self.last_run.get(name)
                if last is None or (now - last).total_seconds() >= seconds:
                    names.append(name)
        return names

    def tick(self, now: datetime | None = None) -> list[str]:
        """Run what is due at `now` (default: the clock). Returns the names of the entries run."""
        now = now or self.clock()
        names = self.due(now)
        entries = self.entries()
        for name in names:
            self.last_run[name] = now
            task_name = entries[name]["task"]
            task = self.celery.tasks.get(task_name)
            if task is None:
                log.error("scheduled task %s (%s) is not registered", task_name, name)
                continue
            try:
                task.apply(args=entries[name].get("args", ()), kwargs=entries[name].get("kwargs", {}))
            except Exception:  # one failing task must not stop the schedule
                log.exception("scheduled task %s failed", task_name)
        self.last_tick = now
        return names

    def _timezone(self) -> ZoneInfo:
        return ZoneInfo(self.celery.conf.timezone or "UTC")

    def run_forever(self, stop: threading.Event, interval: float) -> None:
        while not stop.is_set():
            try:
                self.tick()
            except Exception:  # pragma: no cover - tick already logs task failures
                log.exception("scheduler tick failed")
            stop.wait(interval)


def _cron_matches_between(schedule: crontab, start: datetime, end: datetime, tz: ZoneInfo) -> bool:
    """Whether a minute in (start, end] matches the crontab's fields (in `tz`)."""
    start = max(start, end - MAX_LOOKBACK)
    minute = (start.astimezone(tz).replace(second=0, microsecond=0)) + timedelta(minutes=1)
    last = end.astimezone(tz)
    while minute <= last:
        if (
            minute.minute in schedule.minute
            and minute.hour in schedule.hour
            and minute.day in schedule.day_of_month
            and minute.month in schedule.month_of_year
            and minute.isoweekday() % 7 in schedule.day_of_week
        ):
            return True
        minute += timedelta(minutes=1)
    return False


def wanted(app: Flask) -> bool:
    """Start the in-process schedule? Only for `flask run` (once, in the serving process) on the
    embedded default: no broker (so no beat) and not under TESTING."""
    if app.config.get("TESTING") or app.config.get("CELERY_BROKER_URL"):
        return False
    if not app.config.get("EMBEDDED_SCHEDULER", True):
        return False
    ctx = click.get_current_context(silent=True)
    if ctx is None or ctx.command is None or ctx.command.name != "run":
        return False
    reload = ctx.params.get("reload")
    if reload is None:  # as `flask run` decides it: on with --debug
        reload = get_debug_flag()
    return not reload or is_running_from_reloader()  # with the reloader: in the child that serves


def start(
    app: Flask, *, clock: Callable[[], datetime] = now_utc, interval: float | None = None
) -> tuple[Scheduler, threading.Event, threading.Thread]:
    """Start the scheduler thread; returns it with its stop event."""
    scheduler = Scheduler(app, clock=clock)
    stop = threading.Event()
    interval = float(interval if interval is not None else app.config.get("SCHEDULER_TICK_SECONDS", 30))
    thread = threading.Thread(target=scheduler.run_forever, args=(stop, interval), name="embedded-beat", daemon=True)
    thread.start()
    app.extensions["embedded_scheduler"] = scheduler
    log.info("embedded scheduler started: %s", ", ".join(sorted(scheduler.entries())))
    return scheduler, stop, thread


def init_app(app: Flask) -> None:
    if wanted(app):
        start(app)
