"""Village e-commerce service stations' workspace: fulfilment, stock intake, counter cash, assisted selling."""
from flask import Flask


def init_app(app: Flask) -> None:
    import stations.api  # noqa: F401  (routes on the shared `api` blueprint)
    import stations.tasks  # noqa: F401
    from stations import cli
    from stations.views import bp

    app.register_blueprint(bp)
    cli.register(app)
