"""Two invoices of one paid order (its own request and a period request) recorded at the same moment by the
station, each for the whole amount: one is recorded, the other refused, never more invoiced than paid
(the order and payment rows are locked before what is left is computed; PostgreSQL threads).

Two requests waiting for one order's money can no longer be made (a request leaves out what is asked
already, and requests for one order are taken one at a time: test_two_requests_for_one_order_at_once_ask_once);
a database from before that rule may still hold such a pair, so the first test builds one as it was
stored, and issuing must still never invoice more than was paid."""

from __future__ import annotations

import pytest
import sqlalchemy as sa

from invoices.models import Invoice, InvoiceOrder
from invoices.services import invoices as svc
from orders.models import Order
from orders.services import payments
from shop.db import commit
from shop.timeutil import local_date, now_utc
from tests.concurrency.race import Loaded, at_once
from tests.conftest import requires_postgres
from tests.factories import make_product, make_station, make_user
from tests.orders.factories import FakeStripeProvider, make_order

PDF = b"%PDF-1.4\n%%EOF\n"


def _issue(db, invoice_id: int, number: str, amount_fen: int, operator_id: int):
    """The station's operator recording the invoice as issued (the race's action)."""
    from shop.auth.models import User

    return lambda: svc.issue_invoice(
        db.session.get(Invoice, invoice_id),
        svc.IssuedData(number=number, issued_on=local_date(now_utc()), amount_fen=amount_fen),
        PDF,
        actor=db.session.get(User, operator_id),
        now=now_utc(),
    )


@requires_postgres
def test_two_invoices_of_one_order_recorded_at_once_never_exceed_what_was_paid(app, committed_db, fake_stripe):
    db = committed_db

    station = make_station()
    product = make_product(stock=20, station=station)
    buyer, op = make_user(), make_user(role="operator", station=station)
    now = now_utc()
    order = make_order(buyer, [(product, 2)], now=now, payment_method="card")
    payment = payments.start_payment(order.payments[0], now=now)
    FakeStripeProvider.succeed(payment.provider_ref)
    payments.sync_payment(payment, now=now)
    details = svc.InvoiceDetails(kind="ordinary", title="个人")
    [own] = svc.request_for_order(order, details, user=buyer, now=now)
    # the pair a database from before the rule may hold: a period request naming the same order, as stored
    period = Invoice(
        station_id=station.id,
        requested_by_id=buyer.id,
        scope="period",
        period_from=local_date(now),
        period_to=local_date(now),
        kind=own.kind,
        status=own.status,
        title=own.title,
        tax_number=own.tax_number,
        address=own.address,
        phone=own.phone,
        bank=own.bank,
        account=own.account,
        created_at=now,
    )
    period.orders.append(InvoiceOrder(order_id=order.id, amount_fen=0))
    db.session.add(period)
    db.session.flush()
    ids = {"own": own.id, "period": period.id, "op": op.id, "order": order.id}
    paid = order.total_fen
    commit()

    race = at_once(
        app,
        [
            _issue(db, ids["own"], "04400000101", paid, ids["op"]),
            _issue(db, ids["period"], "04400000102", paid, ids["op"]),
        ],
    )
    assert race.errors == []
    assert len(race.won) == 1 and race.refused == ["invoice_exceeds_paid"], race.outcomes
    db.session.remove()
    invoiced = db.session.scalar(
        sa.select(sa.func.sum(InvoiceOrder.amount_fen))
        .join(Invoice, Invoice.id == InvoiceOrder.invoice_id)
        .where(InvoiceOrder.order_id == ids["order"], Invoice.status == "issued")
    )
    assert invoiced == paid


@requires_postgres
def test_one_invoice_number_recorded_twice_at_once_is_refused_once_not_a_server_error(app, committed_db, fake_stripe):
    db = committed_db

    station = make_station()
    product = make_product(stock=20, station=station)
    buyer, op = make_user(), make_user(role="operator", station=station)
    now = now_utc()
    details = svc.InvoiceDetails(kind="ordinary", title="个人")
    ids = {"op": op.id}
    for key in ("first", "second"):
        order = make_order(buyer, [(product, 1)], now=now, payment_method="card")
        payment = payments.start_payment(order.payments[0], now=now)
        FakeStripeProvider.succeed(payment.provider_ref)
        payments.sync_payment(payment, now=now)
        [invoice] = svc.request_for_order(order, details, user=buyer, now=now)
        ids[key] = invoice.id
    commit()
    race = at_once(app, [_issue(db, ids[key], "04400000201", 100, ids["op"]) for key in ("first", "second")])
    assert race.errors == [] and len(race.won) == 1 and race.refused == ["invoice_number_taken"], race.outcomes


@requires_postgres
@pytest.mark.parametrize("first", ["period", "order"])
def test_two_requests_for_one_order_at_once_ask_once(app, committed_db, fake_stripe, first):
    """A period request and a second request covering the same paid order sent at the same moment (two
    taps, two devices): the station is asked once — one request is written, the other is refused 409
    (the order rows are locked before what is asked already is read)."""
    db = committed_db
    from shop.auth.models import User

    station = make_station()
    product = make_product(stock=20, station=station)
    buyer = make_user()
    now = now_utc()
    order = make_order(buyer, [(product, 2)], now=now, payment_method="card")
    payment = payments.start_payment(order.payments[0], now=now)
    FakeStripeProvider.succeed(payment.provider_ref)
    payments.sync_payment(payment, now=now)
    ids = {"buyer": buyer.id, "order": order.id}
    commit()
    details = svc.InvoiceDetails(kind="ordinary", title="个人")

    def ask(how: str) -> Loaded:
        def act(user):
            if how == "period":
                day = local_date(now_utc())
                svc.request_for_period(details, start=day, end=day, organisation_id=None, user=user, now=now_utc())
            else:
                svc.request_for_order(db.session.get(Order, ids["order"]), details, user=user, now=now_utc())

        return Loaded(lambda: db.session.get(User, ids["buyer"]), act)

    race = at_once(app, [ask("period"), ask(first)])
    assert race.errors == [] and len(race.won) == 1 and len(race.refused) == 1, race.outcomes
    assert race.refused[0] in ("invoice_period_already_requested", "invoice_already_requested"), race.refused
    db.session.remove()
    waiting = db.session.scalar(
        sa.select(sa.func.count(InvoiceOrder.id))
        .join(Invoice, Invoice.id == InvoiceOrder.invoice_id)
        .where(InvoiceOrder.order_id == ids["order"], Invoice.status == "requested")
    )
    assert waiting == 1
