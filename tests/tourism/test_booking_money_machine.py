"""#18: the money state machine over bookings — stays booked and paid by card (or left unpaid until
their hold expires) and paid on arrival (the host's cash book, check-in with the cash or with the
wrong amount), canceled by the guest under the listing's policy (free, or a late-cancellation fee
kept), released by the host while unpaid, no-shows, completed stays, kept money given back — and
after every step the invariants of `tests.money_machine`: cash books (stations and hosts) + card
captures − refunds = money received = what each booking owes, credits = the split of the money
received, no order total ever changes, reconciliation finds nothing.
"""

from __future__ import annotations

from datetime import timedelta

import hypothesis.strategies as st
from hypothesis import settings
from hypothesis.stateful import rule, run_state_machine_as_test

from orders.models import Order
from orders.services import payments
from orders.services.expiry import expire_pending_orders
from shop.errors import DomainError
from shop.extensions import db
from shop.timeutil import local_date
from tests.factories import make_household, make_user
from tests.money_machine import SETTINGS, MoneyMachineBase
from tests.orders.factories import FakeStripeProvider
from tests.tourism.factories import make_listing
from tourism.models import Booking, BookingStatus
from tourism.services import booking as stays
from tourism.services.host_cash import CashNotReceived, arrival_due_fen


class BookingMoneyMachine(MoneyMachineBase):
    def __init__(self):
        super().__init__()
        self.host = make_user(role="host")
        households = [make_household(), make_household(), make_household()]
        # a card-only stay and one that also takes cash on arrival; late cancellation keeps 30 %
        self.listings = [
            make_listing(
                host=self.host,
                price_fen=14900,
                units=3,
                free_cancel_days=2,
                cancel_fee_pct=30,
                households=households[:2],
            ),
            make_listing(
                host=self.host,
                price_fen=23300,
                units=3,
                free_cancel_days=2,
                cancel_fee_pct=30,
                pay_on_arrival=True,
                households=households,
            ),
        ]
        self.bookings: list[int] = []

    def _bookings(self, *statuses) -> list[Booking]:
        found = [db.session.get(Booking, booking_id) for booking_id in self.bookings]
        return [b for b in found if not statuses or b.status in statuses]

    # --- rules ----------------------------------------------------------------------------------

    @rule(
        which=st.integers(0, 1),
        arrival=st.booleans(),
        days_ahead=st.integers(0, 4),
        nights=st.integers(1, 2),
        pay=st.booleans(),
    )
    def book(self, which, arrival, days_ahead, nights, pay):
        listing = self.listings[which]
        arrival = arrival and listing.pay_on_arrival
        check_in = local_date(self.clock) + timedelta(days=days_ahead)
        try:
            with db.session.begin_nested():
                booking = stays.book_listing(
                    stays.BookingRequest(
                        listing_id=listing.id,
                        check_in=check_in,
                        check_out=check_in + timedelta(days=nights),
                        guests=2,
                        pay_on_arrival=arrival,
                    ),
                    user=make_user(),
                    now=self.tick(),
                )
        except DomainError:  # no room left those nights
            return
        self.bookings.append(booking.id)
        order = db.session.get(Order, booking.order_id)
        if not arrival:
            payment = stays.start_card_payment(order, now=self.clock)
            if pay:
                FakeStripeProvider.succeed(payment.provider_ref)
                payments.sync_payment(payment, now=self.tick())
                assert booking.status == BookingStatus.CONFIRMED
        self.remember(order)

    @rule(index=st.integers(0, 1000), exact=st.booleans())
    def check_in(self, index, exact):
        """Check-in (a booking arriving today is made first when there is none)."""
        today = local_date(self.clock)

        def arriving():
            return [b for b in self._bookings(BookingStatus.CONFIRMED) if b.check_in_date <= today < b.check_out_date]

        if not arriving():  # a guest arrives today (paid on arrival or by card)
            self.book(1, index % 3 != 0, 0, 1 + index % 2, True)
        booking = self.pick(arriving(), index)
        if booking is None:
            return
        due = arrival_due_fen(booking)
        offered = due if (exact or not due) else due + 100
        try:
            with db.session.begin_nested():
                stays.check_in_booking(
                    booking,
                    booking.confirmation_code,
                    actor=self.host,
                    now=self.tick(),
                    cash_received_fen=offered if due else None,
                )
        except CashNotReceived:
            assert due and offered != due
            db.session.refresh(booking)
            assert booking.status == BookingStatus.CONFIRMED
            return
        assert booking.status == BookingStatus.CHECKED_IN

    @rule(index=st.integers(0, 1000))
    def guest_cancels(self, index):
        booking = self.pick(self._bookings(BookingStatus.HELD, BookingStatus.CONFIRMED), index)
        if booking is not None:
            stays.cancel_booking(booking, actor=booking.user, now=self.tick())

    @rule(index=st.integers(0, 1000))
    def host_releases_unpaid(self, index):
        unpaid = [b for b in self._bookings(BookingStatus.CONFIRMED) if b.pay_on_arrival]
        booking = self.pick(unpaid, index)
        if booking is not None:
            stays.host_cancel_booking(booking, actor=self.host, now=self.tick(), reason="漏水")

    @rule(index=st.integers(0, 1000))
    def no_show(self, index):
        today = local_date(self.clock)
        due = [b for b in self._bookings(BookingStatus.CONFIRMED) if b.check_in_date <= today]
        booking = self.pick(due, index)
        if booking is not None:
            stays.mark_no_show(booking, actor=self.host, now=self.tick())

    @rule(index=st.integers(0, 1000))
    def give_back_kept(self, index):
        over = [
            b
            for b in self._bookings(BookingStatus.CANCELED, BookingStatus.NO_SHOW)
            if stays.kept_fen(b, next((p for p in b.order.payments if p.state == "confirmed"), None)) > 0
        ]
        booking = self.pick(over, index)
        if booking is not None:
            assert stays.refund_kept(booking, actor=self.host, now=self.tick(), reason="好意退还") > 0

    @rule()
    def next_day(self):
        """A day passes: stays whose check-out day has come are completed (and credited)."""
        self.tick(24 * 60)
        stays.complete_stays(self.clock)

    @rule()
    def expire(self):
        self.tick(45)
        stays.expire_holds(self.clock)
        expire_pending_orders(self.clock)


def test_booking_money_stays_true_through_random_sequences(db, now, fake_stripe):
    BookingMoneyMachine.now = now
    run_state_machine_as_test(BookingMoneyMachine, settings=settings(SETTINGS, stateful_step_count=16))
