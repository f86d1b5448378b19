"""The application factory. Everything else is bound to the app here, in small steps.

The kernel knows no domain package by name: `config.Config.DOMAIN_PACKAGES` lists them, bottom layer
first, and the factory calls each one's `init_app(app)`, which imports its models, registers its
blueprints, API routes, commands and tasks, and connects its signal receivers and session
listeners (docs/ARCHITECTURE.md).

The factory imports the kernel's modules inside its functions, as Flask's tutorial does, not at the
top of this file: Python runs this file before any `shop.*` module, so a script, a migration or a
test importing `shop.money` or `shop.db` would otherwise load the extensions, the blueprints,
Celery and the rest of the application with it.
"""

from __future__ import annotations

import importlib
import logging
import os
from pathlib import Path
from urllib.parse import urlsplit

from flask import Flask, g, has_request_context, request, session

ROOT = Path(__file__).resolve().parent.parent


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
    packages = [importlib.import_module(name) for name in app.config["DOMAIN_PACKAGES"]]
    _configure_i18n(app, ["shop", *app.config["DOMAIN_PACKAGES"]])
    for package in packages:
        package.init_app(app)
    _register_blueprints(app)

    from shop.errors import register_error_handlers
    from shop.filters import register_filters
    from shop.security import init_security

    init_security(app)

    register_error_handlers(app)
    from shop import resubmit

    resubmit.init_app(app)  # a form sent after its page expired is shown again, not a bare 400
    from shop.errors import register_outage_handler

    register_outage_handler(app)
    register_filters(app)
    from shop import pagecache

    pagecache.init_app(app)  # Flask-Caching, the HTTP caching rule and the session hooks it needs
    from shop import outbox

    outbox.install_session_hooks()  # a rolled-back transaction's queued tasks are dropped

    from shop.celery import celery_init_app

    celery_init_app(app)
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
    """Import the kernel's models (the domain packages import theirs in their `init_app`)."""
    import shop.audit  # noqa: F401
    import shop.auth.models  # noqa: F401
    import shop.history  # noqa: F401
    import shop.mail  # noqa: F401  (sent-mail keys; registers the send_mail task)
    import shop.once  # noqa: F401  (claimed form tokens)
    import shop.outbox  # noqa: F401  (the task outbox; registers the drain task)


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

    from shop.db import end_reads_with_commit, ping_idle_connections

    with app.app_context():
        for engine in db.engines.values():
            ping_idle_connections(engine, float(app.config.get("DB_PING_IDLE_SECONDS", 2)))
            if engine.dialect.name == "postgresql":
                end_reads_with_commit(app, engine)  # psycopg keeps its prepared statements

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

    from shop.api import token_holder
    from shop.auth.services import load_session_user
    from shop.auth.views import needs_account

    login_manager.user_loader(load_session_user)
    login_manager.request_loader(token_holder)  # on the API, a bearer token's holder is current_user
    login_manager.unauthorized_handler(needs_account)


_parsed_locales: dict = {}


def selected_locale(wanted, config):
    """The babel Locale a request gets for the language it asks for (its `lang=`, else the session's,
    else the calling account's, a bearer token's holder on the API; None for none): a configured
    language, else the default. Parsed once per name (Flask-Babel passes a Locale through as is). Page
    cache keys use its `str()` (e.g. zh_Hans_CN for zh_CN)."""
    name = wanted if wanted in config["LANGUAGES"] else config["BABEL_DEFAULT_LOCALE"]
    found = _parsed_locales.get(name)
    if found is None:
        from babel import Locale

        found = _parsed_locales.setdefault(name, Locale.parse(name))
    return found


def _configure_i18n(app: Flask, packages: list[str]) -> None:
    from flask_login import current_user

    from shop.api import token_holder
    from shop.errors import DATABASE_FAILED
    from shop.extensions import babel

    dirs = [str(ROOT / pkg / "translations") for pkg in packages if (ROOT / pkg / "translations").is_dir()]
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = ";".join(dirs)

    def select_locale():
        if not has_request_context():  # Celery tasks, CLI commands: the default locale
            return selected_locale(None, app.config)
        wanted = request.args.get("lang") or session.get("lang")
        if not wanted and not g.get("locale_asked_user") and not g.get(DATABASE_FAILED):
            # The caller's saved language: on the API a bearer token's holder (the API's caller even when
            # another account is signed in on the pages: `shop.api.token_holder`), else the session's user,
            # loaded now if nothing has yet. Asked once a request, and never once the database failed in
            # it (`shop.errors.DATABASE_FAILED`): the 503 answer must not try to load the account again.
            g.locale_asked_user = True
            caller = token_holder() or current_user
            if caller.is_authenticated:
                wanted = caller.locale
        return selected_locale(wanted, app.config)

    babel.init_app(app, locale_selector=select_locale, timezone_selector=lambda: "Asia/Shanghai")

    @app.context_processor
    def _i18n_context():
        from flask_babel import get_locale

        locale = str(get_locale() or app.config["BABEL_DEFAULT_LOCALE"])
        return {"current_locale": locale, "html_lang": locale.replace("_", "-")}


def _register_blueprints(app: Flask) -> None:
    """The kernel's blueprints. The shared `api` blueprint comes last: the domain packages' API
    modules have added their routes to it in their `init_app`."""
    import shop.auth_api  # noqa: F401  (its routes go on the shared `api` blueprint)
    from shop.api import api
    from shop.auth.password import bp as password_bp
    from shop.auth.views import bp as auth_bp
    from shop.confirm import bp as confirm_bp
    from shop.extensions import csrf
    from shop.site import bp as site_bp

    csrf.exempt(api)  # bearer-token API; session callers are CSRF-checked in shop.api
    for bp in (site_bp, auth_bp, password_bp, confirm_bp, api):
        app.register_blueprint(bp)

    @app.before_request
    def _remember_language():
        lang = request.args.get("lang")
        if lang in app.config["LANGUAGES"]:
            session["lang"] = lang
            from shop.api import token_holder
            from shop.auth.services import remember_locale

            if token_holder() is None:  # a token caller's `lang=` is that answer's language, not the account's choice
                remember_locale(lang)
        g.request_started = True
