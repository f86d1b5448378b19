"""Leisure tourism: farm stays, experiences (picking, fishing), tickets (the flower sea)."""

from flask import Flask

from tourism import errors as errors  # registers the package's error codes


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    import tourism.api  # noqa: F401  (routes on the shared `api` blueprint)
    import tourism.host_listing_new_views  # noqa: F401  (the new-listing routes on the views' blueprint)
    import tourism.host_sessions_views  # noqa: F401  (the host's 场次 routes, on the tourism blueprint)
    import tourism.models  # noqa: F401
    import tourism.tasks  # noqa: F401
    from orders import bookables, signals
    from orders.services.tabs import extend_tab
    from shop.auth.views import ROLE_HOMES
    from tourism.services import booking
    from tourism.views import bp

    app.register_blueprint(bp)
    ROLE_HOMES.setdefault("host", "tourism.host_home")  # a host signs in to the host workspace
    # tourism follows the orders that sell its bookings (orders/signals.py)
    signals.order_paid.connect(booking.on_order_paid)
    signals.order_released.connect(booking.on_order_released)
    signals.order_cancel_requested.connect(booking.cancel_order_bookings)
    # the cart's booking lines: checked, priced and held by tourism (orders/bookables.py)
    bookables.register(booking.CartBookings())
    # 我的订单's 待使用 tab: the orders of bookings confirmed and not yet used (orders/services/tabs.py)
    extend_tab("to_use", booking.awaiting_use)
