"""What a booking owes, derived from its rows (docs/MONEY.md, "Tourism"), as
`orders.services.amounts` does for shipments. Nothing is stored: the booking's status, its order
line's status and what the booking says it gave back (`refunded_fen`) decide.
"""

from __future__ import annotations

from tourism.models import Booking, BookingStatus


def booking_due_fen(booking: Booking, line, *, captured: bool) -> int:
    """The money the platform should hold for a booking now (captured − refunded must equal it).

    - held or expired: nothing (a late payment for a hold with no room left is refunded);
    - confirmed: the total when paid online, nothing yet when it is paid on arrival (or at the gate);
    - checked in or completed: the total while its line is open, nothing once the line is refunded;
    - canceled or no-show: what the booking kept (total less what it gave back) when it was paid,
      nothing when it never was.
    """
    status = booking.status
    if status in (BookingStatus.HELD, BookingStatus.EXPIRED):
        return 0
    if status == BookingStatus.CONFIRMED:
        return 0 if booking.pay_on_arrival else booking.total_fen
    if status in (BookingStatus.CHECKED_IN, BookingStatus.COMPLETED):
        return booking.total_fen if line is not None and (line.status or "open") == "open" else 0
    return max(0, booking.total_fen - booking.refunded_fen) if captured else 0
