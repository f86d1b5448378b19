"""The platform admin's workspace (系统管理): accounts and roles, categories, villages and stations."""

from flask import Flask

from admin import errors as errors  # registers the package's error codes


def init_app(app: Flask) -> None:
    from admin import cli
    from admin.views import bp

    app.register_blueprint(bp)
    cli.register(app)
