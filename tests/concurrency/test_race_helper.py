"""The race helper itself (tests/concurrency/race.py): how it tells a win, a refusal and an error apart,
that the actions start together, and that a thread that never finishes fails the race. No rows are
written, so it runs on SQLite as well."""

from __future__ import annotations

import threading

from shop.errors import Conflict, ValidationError
from tests.concurrency.race import Loaded, at_once


def test_each_action_is_told_won_refused_or_failed_in_the_order_given(app):
    def refuse():
        raise Conflict("refund_request_decided")

    def invalid():
        raise ValidationError("price_not_positive")

    race = at_once(app, [lambda: "first", refuse, invalid, lambda: "last"])
    assert race.won == [0, 3] and race.values == ["first", "last"]
    assert race.refused == ["refund_request_decided"]
    assert len(race.errors) == 1 and "ValidationError" in race.errors[0]  # not a Conflict: a failure
    assert race.labels[:2] == ["ok", "refund_request_decided"] and race.labels[2].startswith("error: ")
    assert race.kinds[:2] == ["ok", "Conflict"]


def test_the_refusals_are_the_classes_named(app):
    def invalid():
        raise ValidationError("price_not_positive")

    race = at_once(app, [invalid], refused=(ValidationError,))
    assert race.errors == [] and race.refused == ["price_not_positive"] and race.kinds == ["ValidationError"]


def test_every_action_loads_before_any_acts(app):
    loaded, acted = [], []

    def contender(i: int) -> Loaded:
        return Loaded(lambda: loaded.append(i) or i, lambda n: acted.append((n, len(loaded))))

    race = at_once(app, [contender(i) for i in range(4)])
    assert race.errors == [] and race.won == [0, 1, 2, 3]
    assert sorted(n for n, _ in acted) == [0, 1, 2, 3] and {seen for _, seen in acted} == {4}


def test_an_action_that_does_not_finish_in_time_is_an_error(app):
    let_go = threading.Event()
    try:
        race = at_once(app, [lambda: let_go.wait(5)], seconds=0.2)
    finally:
        let_go.set()
    assert race.won == [] and race.errors == ["still running after 0.2 s"]
