"""Institutional buying (消费帮扶 by budget units, trade unions and companies, #22): organisation
accounts verified by the county office, their members (buyer, approver, viewer), and bulk purchases
that a second person approves before they are placed.

Layer: beside the station workspace and tourism, above orders. An approved purchase becomes orders
through `orders.services.placement.place_order`, the same service the retail checkout calls, so
stock, shipments, payments and household crediting have one path; that import is why the package
sits above orders. It needs nothing of stations or tourism (pick-up stations are `stock`'s), and
nothing below imports it: the county office, above, may read it for its reports.
"""

from flask import Flask

from institutions import errors as errors  # registers the package's error codes


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    import institutions.api  # noqa: F401  (routes on the shared `api` blueprint)
    import institutions.models  # noqa: F401
    import institutions.tasks  # noqa: F401  (the purchase mails, enqueued by name)
    from institutions.order_origins import PurchaseOrigins
    from institutions.services.notices import on_order_canceled_by_buyer
    from institutions.views import bp
    from orders import origins, signals

    app.register_blueprint(bp)
    origins.register("institutions", PurchaseOrigins())  # an order's page links to its purchase
    signals.order_canceled_by_buyer.connect(on_order_canceled_by_buyer)  # its purchase's approvers are mailed
