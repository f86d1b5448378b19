"""Accounts: registration, password check, sessions and API tokens."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_babel import gettext as _
from sqlalchemy.orm import joinedload, make_transient_to_detached
from werkzeug.security import check_password_hash, generate_password_hash

from shop.auth.models import ApiToken, Role, User
from shop.db import statement
from shop.errors import Conflict, ValidationError
from shop.extensions import db
from shop.timeutil import now_utc

MIN_PASSWORD = 8


@dataclass(frozen=True)
class Registration:
    email: str
    password: str
    name: str = ""
    role: str = Role.CONSUMER
    station_id: int | None = None


def normalise_email(email: str) -> str:
    return (email or "").strip().lower()


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == normalise_email(email)))


def register_user(info: Registration, *, now: datetime) -> User:
    """Create an account. Raises Conflict if the e-mail is taken, ValidationError on bad input."""
    email = normalise_email(info.email)
    if "@" not in email or len(email) > 254:
        raise ValidationError(_("请填写有效的邮箱地址"), fields={"email": "invalid"})
    if len(info.password or "") < MIN_PASSWORD:
        raise ValidationError(
            _("密码至少需要 %(n)s 个字符", n=MIN_PASSWORD), fields={"password": "too short"}
        )
    if len(info.password) > 200:
        raise ValidationError(_("密码太长"), fields={"password": "too long"})
    if info.role not in set(Role):
        raise ValidationError(_("未知角色"), fields={"role": "invalid"})
    if info.role == Role.OPERATOR and info.station_id is None:
        raise ValidationError(_("站点操作员必须属于一个站点"), fields={"station": "required"})
    if get_user_by_email(email) is not None:
        raise Conflict(_("该邮箱已注册"), code="email_taken", fields={"email": "taken"})
    user = User(
        email=email,
        password_hash=generate_password_hash(info.password),
        name=(info.name or "")[:80],
        role=info.role,
        station_id=info.station_id if info.role == Role.OPERATOR else None,
        created_at=now,
    )
    db.session.add(user)
    db.session.flush()
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (same answer for both failures)."""
    user = get_user_by_email(email)
    if user is None or not user.is_active:
        check_password_hash(_DUMMY_HASH, password or "")  # same time whether or not the user exists
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    return user


_DUMMY_HASH = generate_password_hash("not-a-real-password")


def change_password(user: User, new_password: str) -> None:
    """Set a new password and invalidate every session and token issued before."""
    if len(new_password or "") < MIN_PASSWORD:
        raise ValidationError(
            _("密码至少需要 %(n)s 个字符", n=MIN_PASSWORD), fields={"password": "too short"}
        )
    user.password_hash = generate_password_hash(new_password)
    user.auth_version += 1
    db.session.flush()


def _session_ids(session_id: str) -> tuple[int, int] | None:
    """(user id, auth version) from the session's 'user_id:auth_version', or None."""
    user_id, _sep, version = (session_id or "").partition(":") if isinstance(session_id, str) else ("", "", "")
    if not user_id.isdigit() or not version.isdigit():
        return None
    return int(user_id), int(version)


def load_session_user(session_id: str) -> User | None:
    """flask-login loader: the session stores 'user_id:auth_version'; the account must be active
    and its auth version unchanged (a password change ends every older session)."""
    ids = _session_ids(session_id)
    user = _get_user(ids[0]) if ids else None
    if user is None or user.auth_version != ids[1] or not user.is_active:
        return None
    return user


def session_user_values(session_id: str) -> dict | None:
    """`load_session_user` as plain values ({column key: value}), read afresh with the same checks,
    without attaching a User to the ORM session (on PostgreSQL one driver round trip, see
    `_read_user_row`): for shop.frontdoor, which only shows who is signed in. App context needed."""
    ids = _session_ids(session_id)
    if ids is None:
        return None
    engine = db.engine
    if isinstance(engine, sa.Engine) and engine.dialect.name == "postgresql":
        values = _read_user_row(engine, ids[0])
    else:
        user = db.session.get(User, ids[0])
        values = None if user is None else {a.key: getattr(user, a.key) for a in User.__mapper__.column_attrs}
    if values is None or values["auth_version"] != ids[1] or not values["is_active_account"]:
        return None
    return values


_USERS = User.__table__
_TOKENS = ApiToken.__table__
#: (key in the values, column) of the reads below: the user's columns under their ORM keys, and for
#: a token its expiry and auth version besides.
_USER_COLUMNS = [(User.__mapper__.get_property_by_column(c).key, c) for c in _USERS.c]
_TOKEN_COLUMNS = [("token_expires_at", _TOKENS.c.expires_at), ("token_auth_version", _TOKENS.c.auth_version),
                  *_USER_COLUMNS]
_USER_BY_ID = sa.select(*(c for _k, c in _USER_COLUMNS)).where(_USERS.c.id == sa.bindparam("key"))
_USER_BY_TOKEN = (sa.select(*(c for _k, c in _TOKEN_COLUMNS)).select_from(_TOKENS.join(_USERS))
                  .where(_TOKENS.c.token_hash == sa.bindparam("key")))
#: The same SELECTs as plain SQL for the driver (psycopg), built per dialect at first use, with the
#: ORM's result processors per column (e.g. datetimes made UTC): see `_read_row`.
_driver_sql: dict = {}


def _driver_reads(engine) -> bool:
    """Whether rows can be read through the driver (`_read_row`): PostgreSQL on a real Engine (not
    SQLite, not the tests' shared connection)."""
    return isinstance(engine, sa.Engine) and engine.dialect.name == "postgresql"


def _attached_user(values: dict) -> User:
    """A User built from its row and attached to the request's session as a clean persistent
    object, exactly as `session.get` would leave it (no SELECT); the session's own if it has one."""
    session = db.session
    if session.identity_map and session.identity_key(User, values["id"]) in session.identity_map:
        return session.get(User, values["id"])
    user = User.__mapper__.class_manager.new_instance()  # as the ORM builds a loaded row: no __init__
    user.__dict__.update(values)
    make_transient_to_detached(user)  # as if loaded: identity key set, no pending changes
    session.add(user)
    return user


def _get_user(user_id: int) -> User | None:
    """The user, read fresh from the database on every request (a password change or a deactivation
    counts at once), in ONE round trip on PostgreSQL: the row is read on an autocommit connection
    (no BEGIN / ROLLBACK around it; a read-committed SELECT sees the same either way) and attached
    to the request's session (`_attached_user`). A request that only needs the user (a cached
    page, the cached cart) then never opens a transaction. Elsewhere (SQLite, the tests' shared
    connection, a user already in the session) it is `session.get`."""
    session = db.session
    engine = db.engine
    if (not _driver_reads(engine)
            or (session.identity_map and session.identity_key(User, user_id) in session.identity_map)):
        return session.get(User, user_id)
    values = _read_user_row(engine, user_id)
    return None if values is None else _attached_user(values)


def _read_user_row(engine: sa.Engine, user_id: int) -> dict | None:
    """The user's row as {column key: value} (`_read_row`), or None when there is no such user."""
    return _read_row(engine, _USER_BY_ID, _USER_COLUMNS, user_id)


def _read_row(engine: sa.Engine, query, columns, key) -> dict | None:
    """The row of `query` for `key` as {key in `columns`: value}, read on a pooled connection through
    the driver itself in autocommit mode, or None when there is none.

    Through a SQLAlchemy Connection the same read cost about 0.3 ms of CPU (execution options for
    the isolation level, the result set up from psycopg's column descriptions) - a sixth of a
    cached page hit; through the driver, under 0.1 ms. The connection comes from the engine's pool
    (its checkout/checkin events run: `shop.db.ping_idle_connections`), and the pool's reset on
    return finds nothing to roll back. On any driver error the connection is discarded and the read
    is made again through SQLAlchemy (`_read_row_sa`), which raises and handles errors as every
    other statement does (a disconnect invalidates the pool; the app answers 503)."""
    compiled = _driver_sql.get((engine.dialect, query))
    if compiled is None:
        dialect = engine.dialect
        sql = str(query.compile(dialect=dialect))  # psycopg's %(key)s placeholder
        processors = [(name, column.type.dialect_impl(dialect).result_processor(dialect, None))
                      for name, column in columns]
        compiled = _driver_sql[(dialect, query)] = (sql, processors)
    sql, processors = compiled
    try:
        raw = engine.raw_connection()
    except Exception:
        return _read_row_sa(engine, query, columns, key)
    try:
        driver = raw.driver_connection
        driver.autocommit = True
        cursor = driver.execute(sql, {"key": key})
        row = cursor.fetchone()
        cursor.close()
        driver.autocommit = False
    except Exception:
        raw.invalidate()  # maybe broken: never back into the pool
        raw.close()
        return _read_row_sa(engine, query, columns, key)
    raw.close()
    if row is None:
        return None
    return {name: (proc(value) if proc is not None else value) for (name, proc), value in zip(processors, row)}


def _read_row_sa(engine: sa.Engine, query, columns, key) -> dict | None:
    """`_read_row` through a SQLAlchemy Connection (the fallback after a driver error)."""
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        row = conn.execute(query, {"key": key}).first()
    if row is None:
        return None
    return {name: value for (name, _column), value in zip(columns, row)}


def _hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def issue_token(user: User, *, now: datetime) -> str:
    """A new bearer token for the API; only its hash is stored."""
    token = secrets.token_urlsafe(32)
    days = current_app.config.get("API_TOKEN_DAYS", 30)
    db.session.add(
        ApiToken(
            user_id=user.id,
            token_hash=_hash_token(token),
            auth_version=user.auth_version,
            created_at=now,
            expires_at=now + timedelta(days=days),
        )
    )
    db.session.flush()
    return token


def user_for_token(token: str, *, now: datetime | None = None) -> User | None:
    if len(token) > 200:
        return None
    now = now or now_utc()
    engine = db.engine
    if _driver_reads(engine):  # token and user in one driver read, the user attached as a loaded row
        values = _read_row(engine, _USER_BY_TOKEN, _TOKEN_COLUMNS, _hash_token(token))
        if values is None:
            return None
        expires_at, version = values.pop("token_expires_at"), values.pop("token_auth_version")
        user = _attached_user(values) if expires_at > now else None
    else:  # the user in the same statement: one round trip per API request
        query = statement("auth.token_with_user", lambda: sa.select(ApiToken).options(joinedload(ApiToken.user))
                          .where(ApiToken.token_hash == sa.bindparam("token_hash")))
        row = db.session.scalar(query, {"token_hash": _hash_token(token)})
        if row is None or row.expires_at <= now:
            return None
        user, version = row.user, row.auth_version
    if user is None or not user.is_active or user.auth_version != version:
        return None
    return user
