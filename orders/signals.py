"""The order lifecycle's signals (blinker, as Flask's own signals): how packages that sell through
orders (tourism's bookings, institutions' purchases) follow an order without orders knowing them.

Receivers run synchronously, inside the caller's transaction and after its locks (the order row,
then the payment row), so what they write commits or rolls back with the order. They are
connected by their package's `init_app` (tourism/__init__.py), never as an import side effect.
Each signal's sender is the `Order`; keyword arguments as documented below.
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

#: The order's payment is confirmed (card, or cash/pay on arrival). kwargs: now.
order_paid = _signals.signal("order-paid")

#: The order is released without being paid for what it held: expired unpaid, or canceled. A
#: receiver releases its holds. kwargs: now.
order_released = _signals.signal("order-released")

#: Someone asks to cancel the order (buyer, station, county). A receiver that owns the order's
#: lines cancels them under its own policy and returns True; the order is then left as the
#: receiver put it. When no receiver returns True, orders cancels it as goods. kwargs: actor, now,
#: full_refund (the shop cancels, not the buyer — a late payment's all or nothing: every line goes back
#: in full, no cancellation policy's fee kept).
order_cancel_requested = _signals.signal("order-cancel-requested")

#: The order's buyer canceled it (`payments.buyer_cancel_order`: the order page, the API), sent once it
#: is canceled, not for a second tap; never for the shop's own cancels (expired unpaid, not collected, a
#: recall, a booking's host). Institutions tells a purchase's approvers (`institutions.init_app`).
#: kwargs: actor, now.
order_canceled_by_buyer = _signals.signal("order-canceled-by-buyer")


def cancel_handled_elsewhere(order, *, actor, now, full_refund: bool = False) -> bool:
    """Send `order_cancel_requested`; True when a receiver cancelled the order itself."""
    return any(
        result
        for _receiver, result in order_cancel_requested.send(order, actor=actor, now=now, full_refund=full_refund)
    )
