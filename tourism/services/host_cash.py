"""The host cash book: the cash a host takes for a booking paid on arrival (or at the gate) is a row
(`tourism.models.HostCashEntry`), as a station's till row is (docs/MONEY.md, "Tourism").

Rules:
- The cash is taken once, in the check-in step itself (`booking.check_in_booking`), for exactly
  what the booking owes (`arrival_due_fen`); check-in without it is refused with 409
  `cash_not_received` and nothing changes.
- The booking's payment becomes confirmed in the same transaction; its income is credited only
  when the stay is completed and its money was received (`booking.complete_stays`).
- Nothing is recomputed: what a host holds is a SUM over the book (`host_book`), and the county's
  reconciliation compares the book with the payments (`county.services.reconcile_money`).

- The host's till has the station till's daily close (日结), remittances and corrections, by the same
  service (`orders.services.cashbook`, over `HOST_TILL`): a closed day refuses every change (an
  arrival after the close goes into the next open day's book), a close difference needs a reason,
  two closes of one day at once make one close (the host's user row is locked for every write).

A cash refund of a booking paid on arrival is not built: the money is in the host's hands, so the
orders pipeline refuses it (`orders.services.payments.refund_payment`, 409 `cash_held_by_host`).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import selectinload

from orders.services.cashbook import Till, cash_in_hand, write_entry
from shop.auth.models import User
from shop.db import unique_or
from shop.errors import Conflict, ValidationError
from shop.extensions import db
from shop.history import record_note
from shop.money import MAX_FEN, format_yuan
from tourism.models import Booking, HostCashClose, HostCashEntry, HostCashKind

#: The host's till for the shared cash-book service (`orders.services.cashbook`): pass `till=HOST_TILL`
#: and the host's user id where the station's book takes a station id.
HOST_TILL = Till(entry=HostCashEntry, close=HostCashClose, owner="host_id", owner_model=User, entry_refs=("booking",))


class CashNotReceived(Conflict):
    code = "checkin_cash_not_received"


def arrival_entry(booking_id: int) -> HostCashEntry | None:
    return db.session.scalar(
        sa.select(HostCashEntry).where(
            HostCashEntry.booking_id == booking_id, HostCashEntry.kind == HostCashKind.ARRIVAL
        )
    )


def _owed_fen(booking: Booking, *, taken: bool) -> int:
    """The rule of `arrival_due_fen`, its cash-book entry looked up already (`taken`)."""
    if not booking.pay_on_arrival or booking.order_id is None or taken:
        return 0
    return max(0, booking.total_fen - booking.refunded_fen)


def arrival_due_fen(booking: Booking) -> int:
    """The cash the host takes at check-in: the booking's total when it is paid on arrival and its
    cash is not in the book yet, else nothing."""
    if not booking.pay_on_arrival or booking.order_id is None:
        return 0
    return _owed_fen(booking, taken=arrival_entry(booking.id) is not None)


@dataclass(frozen=True)
class ArrivalCash:
    #: What the host takes at check-in (`arrival_due_fen`).
    due_fen: int
    #: What the host took at check-in (0: none taken, paid online or not yet in).
    taken_fen: int


def arrivals_cash(bookings: list[Booking]) -> dict[int, ArrivalCash]:
    """{booking id: its cash on arrival} for the desk's arrivals of the day: their cash-book entries read in
    one statement, not one (or two) per arrival; `arrival_due_fen`'s rule."""
    ids = [b.id for b in bookings]
    taken: dict[int, int] = {}
    if ids:
        rows = db.session.execute(
            sa.select(HostCashEntry.booking_id, HostCashEntry.amount_fen).where(
                HostCashEntry.booking_id.in_(ids), HostCashEntry.kind == HostCashKind.ARRIVAL
            )
        )
        taken = {booking_id: amount for booking_id, amount in rows if booking_id is not None}
    return {b.id: ArrivalCash(_owed_fen(b, taken=b.id in taken), taken.get(b.id, 0)) for b in bookings}


def take_arrival_cash(booking: Booking, cash_received_fen: int | None, *, actor, now: datetime) -> HostCashEntry | None:
    """Write the cash the guest handed the host: exactly what is due (409 `cash_not_received` else).

    Call with the order row and the booking row locked (`booking.check_in_booking`). Returns None
    when nothing is due (paid online, or already taken)."""
    if cash_received_fen is not None and (
        isinstance(cash_received_fen, bool)
        or not isinstance(cash_received_fen, int)
        or not 0 <= cash_received_fen <= MAX_FEN
    ):
        raise ValidationError("invalid_arrival_cash", fields={"cash_received_fen": "invalid"})
    due = arrival_due_fen(booking)
    if due <= 0:
        if cash_received_fen:
            raise Conflict("cash_not_due")
        return None
    if cash_received_fen != due:
        raise CashNotReceived(
            "checkin_cash_not_received",
            due=format_yuan(due),
            fields={
                "cash_received_fen": "required" if cash_received_fen is None else "mismatch",
                "amount_due_fen": str(due),
            },
        )
    # taken meanwhile: the booking lock makes this the database's last word
    with unique_or(Conflict("booking_cash_already_received")):
        entry = write_entry(
            HOST_TILL,
            booking.listing.host_id,
            HostCashKind.ARRIVAL,
            due,
            actor=actor,
            now=now,
            listing_id=booking.listing_id,
            booking_id=booking.id,
            order_id=booking.order_id,
        )
    record_note(booking, f"cash received {format_yuan(due)}", actor=actor, now=now)
    return entry


@dataclass
class HostBook:
    entries: list[HostCashEntry]
    #: What the host holds in total, from the book.
    balance_fen: int


def host_book(host_id: int, *, limit: int = 50) -> HostBook:
    """A host's book: the latest entries, their bookings read at once (the desk shows each one's code), and
    the balance (a SUM over every entry)."""
    entries = list(
        db.session.scalars(
            sa.select(HostCashEntry)
            .where(HostCashEntry.host_id == host_id)
            .order_by(HostCashEntry.id.desc())
            .limit(limit)
            .options(selectinload(HostCashEntry.booking))
        )
    )
    balance = cash_in_hand(HOST_TILL, host_id)
    return HostBook(entries, balance)


def cash_by_booking(booking_ids: list[int]) -> dict[int, int]:
    """{booking id: cash in the hosts' book for it} (for the reconciliation)."""
    if not booking_ids:
        return {}
    rows = db.session.execute(
        sa.select(HostCashEntry.booking_id, sa.func.sum(HostCashEntry.amount_fen))
        .where(HostCashEntry.booking_id.in_(booking_ids))
        .group_by(HostCashEntry.booking_id)
    )
    return {booking_id: int(total) for booking_id, total in rows if booking_id is not None}
