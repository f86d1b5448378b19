"""Accounts: registration, password check, sessions and API tokens."""

from __future__ import annotations

import hashlib
import secrets
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import current_app
from flask_login import current_user
from sqlalchemy.orm import joinedload
from werkzeug.security import check_password_hash, generate_password_hash

from shop.auth.models import ApiToken, Role, User
from shop.db import commit, statement, unique_or
from shop.errors import Conflict, Forbidden, ValidationError
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
    """The one form an e-mail address is stored and compared in: NFKC (full-width and other
    compatibility look-alikes become their plain letters: `ａｌｉｃｅ@…` is `alice@…`), trimmed,
    lower-cased. Every way in (register, login, API token, forgot password, admin and CLI user
    creation) goes through `register_user` / `get_user_by_email`, which call this."""
    return unicodedata.normalize("NFKC", email or "").strip().lower()


def user_by_id(user_id: int) -> User | None:
    return db.session.get(User, user_id)


def get_user_by_email(email: str) -> User | None:
    return db.session.scalar(db.select(User).where(User.email == normalise_email(email)))


def register_user(info: Registration, *, now: datetime) -> User:
    """Create an account. Raises Conflict if the e-mail is taken, ValidationError on bad input."""
    email = normalise_email(info.email)
    if "@" not in email or len(email) > 254:
        raise ValidationError("invalid_email", fields={"email": "invalid"})
    if len(info.password or "") < MIN_PASSWORD:
        raise ValidationError("password_too_short", n=MIN_PASSWORD, fields={"password": "too short"})
    if len(info.password) > 200:
        raise ValidationError("password_too_long", fields={"password": "too long"})
    if info.role not in set(Role):
        raise ValidationError("unknown_role", fields={"role": "invalid"})
    if info.role == Role.OPERATOR and info.station_id is None:
        raise ValidationError("operator_needs_station", fields={"station": "required"})
    taken = Conflict("email_taken", fields={"email": "taken"})
    if get_user_by_email(email) is not None:
        raise taken
    user = User(
        email=email,
        password_hash=hash_password(info.password),
        name=(info.name or "")[:80],
        role=info.role,
        station_id=info.station_id if info.role == Role.OPERATOR else None,
        created_at=now,
    )
    with unique_or(taken):  # a concurrent registration of the same address won the race
        db.session.add(user)
    return user


def authenticate(email: str, password: str) -> User | None:
    """The active user with this e-mail and password, else None (same answer for both failures).

    A deactivated account with its right password raises `Forbidden("account_deactivated")` (账号已停用，
    请联系管理员): only the password's owner learns it, so it tells nobody else whether the address has an
    account; with a wrong password it is None like any other failure.

    A password stored with another method than PASSWORD_HASH_METHOD (an older setting) is hashed
    again with the current one; the caller's commit stores it, as it stores the sign-in."""
    user = get_user_by_email(email)
    if user is None:
        check_password_hash(_dummy_hash(), password or "")  # same time whether or not the user exists
        return None
    if not check_password_hash(user.password_hash, password or ""):
        return None
    if not user.is_active:
        raise Forbidden("account_deactivated")
    if hash_method(user.password_hash) != current_app.config["PASSWORD_HASH_METHOD"]:
        user.password_hash = hash_password(password)
    return user


def hash_method(password_hash: str) -> str:
    """The method a stored hash was made with: werkzeug's documented format is `method$salt$hash`."""
    return password_hash.partition("$")[0]


def hash_password(password: str) -> str:
    """The stored form of a password, hashed with the app's PASSWORD_HASH_METHOD."""
    return generate_password_hash(password, method=current_app.config["PASSWORD_HASH_METHOD"])


_DUMMY_HASHES: dict[str, str] = {}


def _dummy_hash() -> str:
    """A hash made with the configured method, checked when there is no such user: the answer takes
    as long as for a real account's wrong password."""
    method = current_app.config["PASSWORD_HASH_METHOD"]
    if method not in _DUMMY_HASHES:
        _DUMMY_HASHES[method] = generate_password_hash("not-a-real-password", method=method)
    return _DUMMY_HASHES[method]


def change_password(user: User, new_password: str) -> None:
    """Set a new password and invalidate every session and token issued before."""
    if len(new_password or "") < MIN_PASSWORD:
        raise ValidationError("password_too_short", n=MIN_PASSWORD, fields={"password": "too short"})
    user.password_hash = hash_password(new_password)
    user.has_own_password = True  # an invited account's set-up link was used (or a reset, which counts too)
    user.auth_version += 1  # API tokens
    end_sessions(user)


def change_own_password(user: User, *, current: str, new: str) -> None:
    """The signed-in account's own change (修改密码): the current password must be right, and the new
    one must differ from it (the same again would change nothing, yet end every other session and
    token); then as `change_password`. A reset by e-mailed link checks neither: its holder does not
    know the old password, and saying "the same as before" would tell them."""
    if not check_password_hash(user.password_hash, current or ""):
        raise ValidationError("current_password_wrong", fields={"current": "wrong"})
    if new == current:
        raise ValidationError("password_unchanged", fields={"password": "unchanged"})
    change_password(user, new)


def _session_ids(session_id: str) -> tuple[int, int] | None:
    """(user id, session generation) from the session's 'user_id:generation', or None."""
    user_id, _sep, generation = (session_id or "").partition(":") if isinstance(session_id, str) else ("", "", "")
    if not (user_id.isascii() and user_id.isdigit() and generation.isascii() and generation.isdigit()):
        return None
    if len(user_id) > 18 or len(generation) > 9:  # past the columns' range: no such user
        return None
    return int(user_id), int(generation)


def load_session_user(session_id: str) -> User | None:
    """flask-login loader: the session stores 'user_id:session_generation'; the account must be
    active and its session generation unchanged (logout and a password change bump it, which ends
    every session issued before, copied cookies included). Read through the request's ORM session,
    which starts empty for every request: a deactivation counts at once."""
    ids = _session_ids(session_id)
    if ids is None:
        return None
    user = db.session.get(User, ids[0])
    if user is None or user.session_generation != ids[1] or not user.is_active:
        return None
    return user


def session_account_deactivated(session_id: str | None) -> bool:
    """Whether the session's cookie names an account that has been deactivated since (the loader refused
    it): the sign-in page then says so instead of asking to sign in, to its holder only."""
    ids = _session_ids(session_id or "")
    if ids is None:
        return False
    user = db.session.get(User, ids[0])
    return user is not None and not user.is_active


def end_sessions(user: User) -> None:
    """Revoke every session of `user` (all devices, copied cookies, remember-me cookies): the
    generation their cookies name is no longer the account's. Logout and password changes call it;
    the caller commits."""
    user.session_generation = (user.session_generation or 0) + 1
    db.session.flush()


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
    """The active user a bearer token belongs to, if the token is unexpired and was issued since the
    user's last password change; else None. Token and user come in one SELECT."""
    if len(token) > 200:
        return None
    now = now or now_utc()
    query = statement(
        "auth.token_with_user",
        lambda: (
            db.select(ApiToken).options(joinedload(ApiToken.user)).where(ApiToken.token_hash == sa.bindparam("hash"))
        ),
    )
    row = db.session.scalar(query, {"hash": _hash_token(token)})
    if row is None or row.expires_at <= now:
        return None
    user = row.user
    if user is None or not user.is_active or user.auth_version != row.auth_version:
        return None
    return user


def remember_locale(lang: str) -> None:
    """The signed-in account chose `lang` (a language of the shop): its e-mails are written in it from now
    on (tasks use `user.locale`). Commits only when it changed."""
    if current_user.is_authenticated and current_user.locale != lang:
        current_user.locale = lang
        commit()
