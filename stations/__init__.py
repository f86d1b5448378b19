"""Village e-commerce service stations' workspace: fulfilment, stock intake, counter cash, assisted selling."""

from flask import Flask

from stations import errors as errors  # registers the package's error codes


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    import stations.api  # noqa: F401  (routes on the shared `api` blueprint)
    import stations.cash_refunds_api  # noqa: F401  (cash refunds the till owes buyers: 待退还现金, 退还现金)
    import stations.lots_api  # noqa: F401  (stock intake by lots)
    import stations.papers_api  # noqa: F401  (food-safety papers)
    import stations.tasks  # noqa: F401
    from shop.auth.views import ROLE_HOMES
    from stations.trace_views import bp as trace_bp
    from stations.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(trace_bp)
    ROLE_HOMES.setdefault("operator", "stations.index")  # an operator signs in to the station workspace
