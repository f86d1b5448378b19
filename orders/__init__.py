"""Cart, checkout, orders split into shipments, payments (Stripe, pay at station, cash on delivery),
and the station cash book that records cash payments."""

from flask import Flask

from orders import errors as errors  # registers the package's error codes


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    import orders.addresses_api  # noqa: F401  (the caller's address book, 收货地址)
    import orders.api  # noqa: F401  (routes on the shared `api` blueprint)
    import orders.models  # noqa: F401
    import orders.refunds_api  # noqa: F401  (refund requests: the buyer asks, the station decides)
    import orders.tasks  # noqa: F401
    import orders.webhooks  # noqa: F401  (POST /api/v1/payments/stripe/webhook)
    from orders.account_views import bp as account_bp
    from orders.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(account_bp)  # 我的 (/account) and the address book
