"""Every Flask extension, created unbound. Nothing here imports the app; `create_app` binds them."""

import click
from flask_babel import Babel
from flask_login import LoginManager
from flask_sqlalchemy import SQLAlchemy
from flask_wtf.csrf import CSRFProtect

from shop.columns import Base


class Migrate:
    """Flask-Migrate, imported when first used: `flask_migrate` imports alembic, which only `flask db ...`,
    the migrations and the tests need, never a web worker or a Celery worker (bench/README.md, "Web worker
    memory").

    `init_app` puts a stand-in in `app.extensions["migrate"]` and a `db` command group that load the
    real Flask-Migrate (which then replaces both) the moment either is used."""

    def init_app(self, app, db, **kwargs) -> None:
        state = _DeferredMigrate(app, db, kwargs)
        app.extensions["migrate"] = state
        app.cli.add_command(_DbCommands(state), name="db")


class _DeferredMigrate:
    def __init__(self, app, db, kwargs):
        self._app, self._db, self._kwargs = app, db, kwargs
        self._real = None

    def real(self):
        if self._real is None:
            from flask_migrate import Migrate as FlaskMigrate  # at first use: see Migrate

            FlaskMigrate(self._app, self._db, **self._kwargs)  # sets extensions["migrate"], adds `db`
            self._real = self._app.extensions["migrate"]
        return self._real

    def __getattr__(self, name):
        return getattr(self.real(), name)


class _DbCommands(click.Group):
    """`flask db ...`: Flask-Migrate's command group, loaded when invoked."""

    def __init__(self, state: _DeferredMigrate):
        super().__init__("db", help="Perform database migrations.")
        self._state = state

    def make_context(self, info_name, args, parent=None, **extra):
        self._state.real()
        from flask_migrate.cli import db as commands  # at first use: see Migrate

        return commands.make_context(info_name, args, parent=parent, **extra)


#: join_transaction_mode lets tests bind the session to an outer connection whose transaction
#: is rolled back after each test (commit() in code becomes a SAVEPOINT release there).
db = SQLAlchemy(model_class=Base, session_options={"join_transaction_mode": "create_savepoint"})
migrate = Migrate()
login_manager = LoginManager()
csrf = CSRFProtect()
babel = Babel()
