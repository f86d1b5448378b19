"""The application factory. Everything else is bound to the app here, in small steps."""
from __future__ import annotations

import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, g, has_request_context, request, session

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("shop", "catalog", "stations", "orders", "tourism", "county", "reviews", "favourites")


def create_app(test_config: dict | None = None) -> Flask:
    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder=str(ROOT / "static"),
    )
    app.config.from_object("config.Config")
    if test_config:
        app.config.update(test_config)
    from shop.args import IdConverter

    app.url_map.converters["int"] = IdConverter  # before any route: ids past BIGINT are a 404 (shop/args.py)
    if urlsplit(str(app.config.get("SITE_URL", ""))).scheme == "https":  # never a cookie over plain HTTP
        app.config["SESSION_COOKIE_SECURE"] = True
        app.config["REMEMBER_COOKIE_SECURE"] = True
    os.makedirs(app.instance_path, exist_ok=True)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")

    _configure_extensions(app)
    _configure_i18n(app)
    _register_blueprints(app)

    from shop.errors import register_error_handlers
    from shop.filters import register_filters
    from shop.security import init_security

    init_security(app)

    register_error_handlers(app)
    from shop.db import register_outage_handler

    register_outage_handler(app)
    register_filters(app)
    from shop import pagecache

    pagecache.init_app(app)  # Flask-Caching, the HTTP caching rule and the session hooks it needs

    from shop.celery import celery_init_app

    celery_init_app(app)
    _import_tasks()
    from catalog.tasks import install_session_hooks as install_search_hooks

    install_search_hooks()  # product and listing changes enqueue search index updates

    from shop.cli import register_cli

    register_cli(app)
    # every model is imported by now: set up the mappers' relationships and attributes here, once,
    # rather than at the first query of some request
    import sqlalchemy.orm

    sqlalchemy.orm.configure_mappers()
    from shop.scheduler import init_app as init_scheduler

    init_scheduler(app)  # `flask run` on the embedded default runs what beat runs (shop/scheduler.py)
    return app


def _import_models() -> None:
    """Import every models module so that metadata (and Alembic) sees every table."""
    import catalog.models  # noqa: F401
    import county.models  # noqa: F401
    import orders.models  # noqa: F401
    import reviews.models  # noqa: F401
    import favourites.models  # noqa: F401
    import shop.audit  # noqa: F401
    import shop.auth.models  # noqa: F401
    import shop.history  # noqa: F401
    import shop.mail  # noqa: F401  (sent-mail keys; registers the send_mail task)
    import shop.once  # noqa: F401  (claimed form tokens)
    import shop.outbox  # noqa: F401  (the task outbox; registers the drain task)
    import stations.models  # noqa: F401
    import tourism.models  # noqa: F401


def _import_tasks() -> None:
    import importlib

    for package in PACKAGES:
        try:
            importlib.import_module(f"{package}.tasks")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.tasks":
                raise


def _configure_extensions(app: Flask) -> None:
    from sqlalchemy import event

    from shop.extensions import csrf, db, login_manager, migrate

    _import_models()
    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "shop" / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    login_manager.login_view = "auth.login"
    login_manager.login_message = None

    from shop.db import ping_idle_connections

    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine, float(app.config.get("DB_PING_IDLE_SECONDS", 2)))

    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite"):
        with app.app_context():
            engine = db.engine

            @event.listens_for(engine, "connect")
            def _sqlite_connect(dbapi_conn, _record):
                # let SQLAlchemy own transactions (SAVEPOINTs work), enforce foreign keys
                dbapi_conn.isolation_level = None
                cur = dbapi_conn.cursor()
                cur.execute("PRAGMA foreign_keys=ON")
                cur.execute("PRAGMA busy_timeout=10000")
                cur.close()

            @event.listens_for(engine, "begin")
            def _sqlite_begin(conn):
                conn.exec_driver_sql("BEGIN IMMEDIATE")

    from shop.auth.services import load_session_user

    login_manager.user_loader(load_session_user)


_parsed_locales: dict = {}


def selected_locale(wanted, config):
    """The babel Locale a request gets for the language it asks for (its `lang=`, else the session's,
    else the signed-in user's; None for none): a configured language, else the default. Parsed once
    per name (Flask-Babel passes a Locale through as is). Page cache keys use its `str()` (e.g.
    zh_Hans_CN for zh_CN)."""
    name = wanted if wanted in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]
    found = _parsed_locales.get(name)
    if found is None:
        from babel import Locale

        found = _parsed_locales.setdefault(name, Locale.parse(name))
    return found


def _configure_i18n(app: Flask) -> None:
    from shop.extensions import babel

    dirs = [str(ROOT / pkg / "translations") for pkg in PACKAGES]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(dirs)

    def select_locale():
        if not has_request_context():  # Celery tasks, CLI commands: the default locale
            return selected_locale(None, app.config)
        wanted = request.args.get("lang") or session.get("lang")
        user = g.get("_login_user")  # only if already loaded: loading it here could recurse
        if not wanted and getattr(user, "is_authenticated", False):
            wanted = user.locale
        return selected_locale(wanted, app.config)

    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Asia/Shanghai")

    @app.context_processor
    def _i18n_context():
        from flask_babel import get_locale

        locale = str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"])
        return {"current_locale": locale, "html_lang": locale.replace("_", "-")}


def _register_blueprints(app: Flask) -> None:
    from shop.api import api
    from shop.extensions import csrf

    # API modules add their routes to the shared `api` blueprint when imported.
    import catalog.api  # noqa: F401
    import county.api  # noqa: F401
    import orders.api  # noqa: F401
    import orders.webhooks  # noqa: F401  (POST /api/v1/payments/stripe/webhook)
    import shop.auth.api  # noqa: F401
    import stations.api  # noqa: F401
    import tourism.api  # noqa: F401
    import reviews.api  # noqa: F401
    import favourites.api  # noqa: F401
    from catalog.views import bp as catalog_bp
    from county.views import bp as county_bp
    from orders.views import bp as orders_bp
    from reviews.views import bp as reviews_bp
    from favourites.views import bp as favourites_bp
    from shop.auth.password import bp as password_bp
    from shop.auth.views import bp as auth_bp
    from shop.home import bp as home_bp
    from stations.views import bp as stations_bp
    from tourism.views import bp as tourism_bp

    csrf.exempt(api)  # bearer-token API; session callers are CSRF-checked in shop.api
    for bp in (home_bp, auth_bp, password_bp, catalog_bp, orders_bp, stations_bp, tourism_bp, county_bp, reviews_bp, favourites_bp, api):
        app.register_blueprint(bp)

    @app.before_request
    def _remember_language():
        lang = request.args.get("lang")
        if lang in app.config["LANGUAGES"]:
            session["lang"] = lang
        g.request_started = True
