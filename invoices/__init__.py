"""Invoices (发票, #22): a buyer — a shopper or a member of an organisation — asks for an invoice per
order or per period (普通发票 or 专用发票); the station that sold the goods issues it outside the system
and records its number, date, amount and file (PDF or OFD); the buyer downloads it. What is invoiced
never exceeds what was paid minus refunds, per order and per period; a refund after invoicing asks for
a red invoice (红字发票), which the station records against the original.

Layer: above the station workspace and institutional buying (it reads an order's organisation and the
members' rights from `institutions`, the money received from `orders`), beside reviews and search;
nothing below imports it. The order page shows 待开票 through the `order_invoice_state` template global.
"""

from flask import Flask

from invoices import errors as errors  # registers the package's error codes


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    import invoices.api  # noqa: F401  (routes on the shared `api` blueprint)
    import invoices.models  # noqa: F401
    from invoices.views import bp

    app.register_blueprint(bp)
