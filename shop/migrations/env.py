import logging
from logging.config import fileConfig

import sqlalchemy as sa
from alembic import context
from flask import current_app

# this is the Alembic Config object, which provides
# access to the values within the .ini file in use.
config = context.config

# Interpret the config file for Python logging.
# This line sets up loggers basically.
fileConfig(config.config_file_name, disable_existing_loggers=False)
logger = logging.getLogger("alembic.env")


def get_engine():
    return current_app.extensions["migrate"].db.engine


def render_item(type_, obj, autogen_context):
    """Render our column types as the plain SQL types they store, so that migrations do not
    import application code (UTCDateTime -> DateTime(timezone=True), EncryptedString -> Text)."""
    if type_ == "type" and isinstance(obj, sa.types.TypeDecorator) and obj.__module__.startswith("shop."):
        return f"sa.{obj.impl!r}"
    return False


def get_engine_url():
    try:
        return get_engine().url.render_as_string(hide_password=False).replace("%", "%%")
    except AttributeError:
        return str(get_engine().url).replace("%", "%%")


# add your model's MetaData object here
# for 'autogenerate' support
# from myapp import mymodel
# target_metadata = mymodel.Base.metadata
config.set_main_option("sqlalchemy.url", get_engine_url())
target_db = current_app.extensions["migrate"].db

# other values from the config, defined by the needs of env.py,
# can be acquired:
# my_important_option = config.get_main_option("my_important_option")
# ... etc.


def get_metadata():
    if hasattr(target_db, "metadatas"):
        return target_db.metadatas[None]
    return target_db.metadata


def run_migrations_offline():
    """Run migrations in 'offline' mode.

    This configures the context with just a URL
    and not an Engine, though an Engine is acceptable
    here as well.  By skipping the Engine creation
    we don't even need a DBAPI to be available.

    Calls to context.execute() here emit the given string to the
    script output.

    """
    url = config.get_main_option("sqlalchemy.url")
    context.configure(url=url, target_metadata=get_metadata(), literal_binds=True)

    with context.begin_transaction():
        context.run_migrations()


def run_migrations_online():
    """Run migrations in 'online' mode.

    In this scenario we need to create an Engine
    and associate a connection with the context.

    """

    # this callback is used to prevent an auto-migration from being generated
    # when there are no changes to the schema
    # reference: http://alembic.zzzcomputing.com/en/latest/cookbook.html
    def process_revision_directives(context, revision, directives):
        if getattr(config.cmd_opts, "autogenerate", False):
            script = directives[0]
            if script.upgrade_ops.is_empty():
                directives[:] = []
                logger.info("No changes in schema detected.")

    conf_args = current_app.extensions["migrate"].configure_args
    if conf_args.get("process_revision_directives") is None:
        conf_args["process_revision_directives"] = process_revision_directives
    conf_args.setdefault("render_item", render_item)
    conf_args.setdefault("compare_type", True)

    connectable = get_engine()

    with connectable.connect() as connection:
        sqlite = connection.dialect.name == "sqlite"
        if sqlite:
            # one transaction for the whole upgrade (SQLite's DDL is transactional; Alembic assumes not and
            # commits each migration), so that the reference check below can still roll everything back
            conf_args["transactional_ddl"] = True
            _sqlite_foreign_keys(connection, on=False)
        context.configure(connection=connection, target_metadata=get_metadata(), **conf_args)
        try:
            with context.begin_transaction():
                context.run_migrations()
                if sqlite:
                    _refuse_broken_references(connection)
        finally:
            if sqlite:
                _sqlite_foreign_keys(connection, on=True)


def _sqlite_foreign_keys(connection, *, on: bool) -> None:
    """SQLite changes a table (a batch migration: a column, a CHECK) by copying it and dropping the old one.
    With foreign keys enforced, that DROP deletes the rows that reference it ON DELETE CASCADE (a user's
    addresses, carts, reviews), nulls those ON DELETE SET NULL (the audit log's actors) and fails on the
    RESTRICT ones (a host's listings): an existing database could not be upgraded, or lost rows. So they are
    off while migrating, as SQLite's own procedure for altering a table says (sqlite.org/lang_altertable.html),
    and checked before the commit (`_refuse_broken_references`). The PRAGMA is a no-op inside a transaction:
    it goes to the DBAPI connection (autocommit, shop/__init__.py) before the migration's transaction."""
    connection.connection.driver_connection.execute(f"PRAGMA foreign_keys={'ON' if on else 'OFF'}")


def _refuse_broken_references(connection) -> None:
    """Roll the migration back if it left a row pointing at nothing (what the enforced keys would have refused)."""
    broken = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if broken:
        raise RuntimeError(f"after the migration {len(broken)} row(s) reference nothing, e.g. {tuple(broken[0])}")


if context.is_offline_mode():
    run_migrations_offline()
else:
    run_migrations_online()
