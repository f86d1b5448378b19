"""The platform admin's workspace (系统管理): accounts and roles, categories, villages and stations."""

from flask import Flask

from admin import errors as errors  # registers the package's error codes


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    from admin import cli
    from admin.views import bp
    from shop.auth.views import ROLE_HOMES

    app.register_blueprint(bp)
    ROLE_HOMES.setdefault("admin", "admin.index")  # an admin signs in to 系统管理
    cli.register(app)
