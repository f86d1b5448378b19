"""Races for the PostgreSQL tests: several actions started at one moment, each as a concurrent request
would run it, and how each ended.

    from tests.concurrency.race import Loaded, at_once

    race = at_once(app, [approve, approve])  # two taps of one button
    assert race.errors == []  # a deadlock, a unique violation, a thread that never finished
    assert len(race.won) == 1 and race.refused == ["refund_request_decided"]

Each action runs in a thread of its own, in its own app context (`context="request"`: a request context
for `/`), so with its own session, connection and transaction:

1. a `Loaded` action first runs its `load()`: what a request reads before it acts (the rows, the actor),
   outside the race;
2. every thread waits at one barrier (`BARRIER_SECONDS`), so the actions start together;
3. the action runs (a `Loaded` one as `act(loaded)`), then `shop.db.commit()` (its after-commit side
   effects, mails say, run as after a request);
4. an exception of one of the `refused` classes (`Conflict` unless told) is rolled back and is a
   refusal, told by its `code`; any other exception is rolled back and is an error (its repr); the
   session is removed either way.

An action that goes through a test client (`context="client"`) gets no context of its own (its requests
make theirs and commit) and is not committed or rolled back; it returns what the test wants of the
answer, and a refusal is then an answer (a 409), not an exception.

`Race.outcomes` lists one `Outcome` an action, in the order the actions were given (not the order they
finished), so `race.won` names the winners by their index, `race.values` holds what they returned,
`race.refused` the refusals' codes, `race.labels` one word an action ("ok" or the code) and `race.kinds`
the same with the refusal's class instead of its code (one class may raise several codes).
A thread still running `FINISH_SECONDS` after the start (a lock nobody lets go) is an error.

The actions close over ids, not ORM objects: an object of the test's session must not be used in
another thread's session (load it again there, in `load` or in the action).

`start` runs one action the same way without a barrier, for a test that starts its actions one after the
other to force an order of lock waits (tests/concurrency/test_summary_race.py).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from contextlib import AbstractContextManager, nullcontext
from dataclasses import dataclass
from typing import Any, Literal, NamedTuple

from flask import Flask

from shop.db import commit, rollback
from shop.errors import Conflict
from shop.extensions import db

BARRIER_SECONDS = 10
FINISH_SECONDS = 60


class Loaded(NamedTuple):
    """An action that loads what it acts on before the barrier: `act(load())`."""

    load: Callable[[], Any]
    act: Callable[[Any], Any]


Action = Callable[[], Any] | Loaded

#: where an action runs: "app" an app context, "request" a request context for `/` (for services that
#: read the request: its language, its address), "client" none (the action sends requests through a test
#: client, each request with its own context and commit).
Context = Literal["app", "request", "client"]


@dataclass
class Outcome:
    """How one action ended: committed (`value`, what it returned), refused (`refusal`) or failed
    (`error`); `finished` stays False while its thread runs."""

    value: Any = None
    refusal: Exception | None = None
    error: str | None = None
    finished: bool = False

    @property
    def won(self) -> bool:
        return self.finished and self.refusal is None and self.error is None

    @property
    def code(self) -> str | None:
        """The refusal's code (its class name when it has none)."""
        if self.refusal is None:
            return None
        return getattr(self.refusal, "code", type(self.refusal).__name__)

    @property
    def label(self) -> str:
        """ "ok" when it committed, else the refusal's code, else "error: " and what went wrong."""
        if self.won:
            return "ok"
        return self.code or f"error: {self.error or 'not finished'}"


@dataclass
class Race:
    """The outcomes of the actions of one race, in the order the actions were given."""

    outcomes: list[Outcome]

    @property
    def won(self) -> list[int]:
        """The indexes of the actions that committed."""
        return [i for i, outcome in enumerate(self.outcomes) if outcome.won]

    @property
    def values(self) -> list[Any]:
        """What the actions that committed returned."""
        return [outcome.value for outcome in self.outcomes if outcome.won]

    @property
    def refused(self) -> list[str]:
        """The codes of the refusals."""
        return [outcome.code for outcome in self.outcomes if outcome.refusal is not None]

    @property
    def labels(self) -> list[str]:
        """Each action's `Outcome.label`: `sorted(race.labels) == ["ok", "unavailable"]` says it all."""
        return [outcome.label for outcome in self.outcomes]

    @property
    def kinds(self) -> list[str]:
        """Each action's "ok", its refusal's class name (`BookingUnavailable`), or "error: …"."""
        return [
            "ok" if o.won else type(o.refusal).__name__ if o.refusal is not None else o.label for o in self.outcomes
        ]

    @property
    def errors(self) -> list[str]:
        """What went wrong otherwise: every one is a failure of the test."""
        return [outcome.error for outcome in self.outcomes if outcome.error is not None]


class Started:
    """One action running in its own thread (see `start`)."""

    def __init__(self, thread: threading.Thread, outcome: Outcome):
        self.thread, self.outcome = thread, outcome

    def join(self, seconds: float = FINISH_SECONDS) -> Outcome:
        self.thread.join(seconds)
        if self.thread.is_alive():
            self.outcome.error = f"still running after {seconds} s"
        return self.outcome


def _context(app: Flask, context: Context) -> AbstractContextManager:
    if context == "client":  # the action's requests push their own contexts and commit themselves
        return nullcontext()
    return app.test_request_context("/") if context == "request" else app.app_context()


def _run(
    app: Flask,
    action: Action,
    outcome: Outcome,
    barrier: threading.Barrier | None,
    refused: tuple[type[Exception], ...],
    context: Context,
) -> None:
    """One thread: load, wait, act, commit, and write down how it ended."""
    in_session = context != "client"
    with _context(app, context):
        try:
            loaded = action.load() if isinstance(action, Loaded) else None
            if barrier is not None:
                barrier.wait(BARRIER_SECONDS)
            value = action.act(loaded) if isinstance(action, Loaded) else action()
            if in_session:
                commit()
            outcome.value = value
        except refused as exc:
            if in_session:
                rollback()
            outcome.refusal = exc
        except Exception as exc:  # deadlocks, constraint violations, a broken barrier: failures
            if in_session:
                rollback()
            outcome.error = repr(exc)
        finally:
            if in_session:
                db.session.remove()
            outcome.finished = True


def start(
    app: Flask,
    action: Action,
    *,
    refused: tuple[type[Exception], ...] = (Conflict,),
    context: Context = "app",
    barrier: threading.Barrier | None = None,
) -> Started:
    """Start `action` in a thread of its own, as described in the module's docstring."""
    outcome = Outcome()
    thread = threading.Thread(target=_run, args=(app, action, outcome, barrier, refused, context))
    thread.start()
    return Started(thread, outcome)


def at_once(
    app: Flask,
    actions: Sequence[Action],
    *,
    refused: tuple[type[Exception], ...] = (Conflict,),
    context: Context = "app",
    seconds: float = FINISH_SECONDS,
) -> Race:
    """Run every one of `actions` in a thread of its own, all started together at one barrier, and wait
    for them (`seconds` at the most, counted for each thread in turn)."""
    barrier = threading.Barrier(len(actions))
    started = [start(app, a, refused=refused, context=context, barrier=barrier) for a in actions]
    return Race([s.join(seconds) for s in started])
