"""The county office (县扶贫办): registry, benefit links, review and reports, targets, reconciliation."""

from flask import Flask

from county import errors as errors  # registers the package's error codes


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    import county.api  # noqa: F401  (routes on the shared `api` blueprint)
    import county.models  # noqa: F401
    import county.papers  # noqa: F401  (food-safety papers' review: pages on the county blueprint, API routes)
    import county.sales_api  # noqa: F401  (one sale traced: GET /api/v1/county/sales/<line id>)
    import county.tasks  # noqa: F401
    from county import cli
    from county.recording import bp as recording_bp
    from county.views import bp

    app.register_blueprint(bp)
    app.register_blueprint(recording_bp)  # /station/benefits and /host/benefits
    from shop.auth.views import ROLE_HOMES

    ROLE_HOMES.setdefault("county", "county.dashboard")  # a county officer signs in to the county office
    cli.register(app)
