"""Accounts and roles, as the platform admin manages them (pages under /admin/users and `flask users`).

Rules:
- a role is one of `shop.auth.models.Role`; an operator works for exactly one existing station, and any
  other role has none (a station named for another role is refused, never silently dropped);
- an account the admin creates on the web (`invite_user`) gets a random password no one knows, not even the
  admin, and a mailed link to set its own (`shop.auth.password.send_setup_link`), in the language the admin
  chose for it (`LOCALES`; it becomes the account's `locale`);
- while its owner has not set a password (`User.has_own_password`), the admin may send the link again
  (`resend_setup_link`): a new random password makes every earlier link stop working, so only the newest
  mail sets the password; refused for a deactivated account, for an account whose owner has set a password
  (a set-up link is not the admin's way to reset one: the owner's own 忘记密码 does that) and within
  `SETUP_LINK_PAUSE` of the last link (a double tap sends one mail);
- the shop always keeps one active admin: the last one can be neither demoted nor deactivated, and an
  admin never deactivates their own account;
- a deactivated account's sessions and API tokens stop at once (`end_sessions` and `auth_version`);
  reactivating it does not bring them back;
- every change is written to the audit log (`shop.audit`).
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

import sqlalchemy as sa
from sqlalchemy.orm import aliased, selectinload

from institutions.services.organisations import organisations_of
from shop.audit import ACTION_LABELS as AUDIT_ACTION_LABELS
from shop.audit import AuditEntry, record_audit
from shop.auth.models import Role, User
from shop.auth.password import send_setup_link
from shop.auth.services import Registration, end_sessions, hash_password, register_user
from shop.codes import typed_code
from shop.errors import N_, Conflict, NotFound, ValidationError
from shop.extensions import db
from shop.timeutil import now_utc
from stock.models import Station
from tourism.services.host import host_commitments

#: The roles in the order the pages offer them, with their labels (msgids of this package's catalogue).
ROLE_LABELS: dict[str, str] = {
    Role.CONSUMER: N_("消费者"),
    Role.OPERATOR: N_("站点操作员"),
    Role.HOST: N_("接待户"),
    Role.COUNTY: N_("县扶贫办"),
    Role.ADMIN: N_("系统管理员"),
}
#: What the account page's history says for each audited action (msgids): the audit log's own labels.
ACTION_LABELS: dict[str, str] = {k: v for k, v in AUDIT_ACTION_LABELS.items() if k.startswith("user.")}
#: The languages an account's mails can be written in, as the new-account form offers them (the first is
#: the default); "English" names itself on a Chinese page too, as the header's language switch does. Not
#: the switch's bare "中文": as a msgid it would read as Chinese UI text beside the switch on English pages.
LOCALES: dict[str, str] = {"zh_CN": N_("简体中文"), "en": "English"}
#: After a set-up link was sent (with the account or again), the next one waits this long.
SETUP_LINK_PAUSE = timedelta(minutes=5)
PER_PAGE = 30


@dataclass
class UserQuery:
    #: Part of the e-mail address or the name.
    q: str = ""
    role: str | None = None
    page: int = 1
    per_page: int = PER_PAGE


def search_users(f: UserQuery) -> tuple[list[User], int]:
    """One page of accounts matching `f`, newest first, with their stations, and how many match in all."""
    query = sa.select(User)
    # a search box strips what PostgreSQL cannot compare (a NUL is a psycopg error) or no one types
    text = "".join(ch for ch in (f.q or "") if ch.isprintable()).strip().lower()
    if text:
        like = "%" + text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_") + "%"
        query = query.where(
            sa.or_(User.email.like(like, escape="\\"), sa.func.lower(User.name).like(like, escape="\\"))
        )
    if f.role:
        query = query.where(User.role == f.role)
    # counted over the query as a subquery: `with_only_columns(count())` of a query with no filter keeps no
    # FROM and counts one row (the overview said 1 account, and no page past the first was offered)
    total = db.session.scalar(sa.select(sa.func.count()).select_from(query.subquery())) or 0
    rows = db.session.scalars(
        query.options(selectinload(User.station))
        .order_by(User.id.desc())
        .limit(f.per_page)
        .offset((max(f.page, 1) - 1) * f.per_page)
    ).all()
    return list(rows), total


def get_user(user_id: int) -> User:
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound("no_such_user")
    return user


def station_by_code(code: str) -> Station:
    """The station with this code (how `flask users create --station` names one)."""
    station = db.session.scalar(sa.select(Station).where(Station.code == typed_code(code)))
    if station is None:
        raise NotFound("no_such_station")
    return station


def _check_station(role: str, station_id: int | None) -> int | None:
    """The station of an account with this role: an operator's must exist, any other role has none."""
    if role not in set(Role):
        raise ValidationError("unknown_role", fields={"role": "invalid"})
    if role != Role.OPERATOR:
        if station_id is not None:
            raise ValidationError("station_only_for_operators", fields={"station": "not_allowed"})
        return None
    if station_id is None:
        raise ValidationError("operator_needs_station", fields={"station": "required"})
    if db.session.get(Station, station_id) is None:
        raise ValidationError("no_such_station", fields={"station": "unknown"})
    return station_id


def create_user(info: Registration, *, actor, now: datetime, invited: bool = False, locale: str | None = None) -> User:
    """A new account with a role (the CLI's `flask users create`): the station is checked (`_check_station`),
    then `register_user` applies the account rules (e-mail, password, an address taken in any case);
    audited as `user.create` (`invited`: by `invite_user`, with the account's `locale`)."""
    _check_station(info.role, info.station_id)
    user = register_user(info, now=now)
    detail: dict = {"role": user.role, "station_id": user.station_id}
    if invited:
        detail["invited"] = True
    if locale is not None:
        user.locale = locale
        detail["locale"] = locale
    record_audit(actor=actor, action="user.create", subject=user, detail=detail, now=now)
    return user


@dataclass(frozen=True)
class NewAccount:
    """What the admin types to create an account: never a password."""

    email: str
    name: str = ""
    role: str = Role.CONSUMER
    station_id: int | None = None
    #: The account's language (one of `LOCALES`): its set-up mail and later mails are written in it.
    locale: str = "zh_CN"


def _unknown_password() -> str:
    return secrets.token_urlsafe(32)


def invite_user(account: NewAccount, *, actor, now: datetime) -> User:
    """Create an account on the web (/admin/users/new) under `create_user`'s rules, with a random password
    no one knows and the language `account.locale`, and mail its owner a link to set their own, in that
    language (sent after the caller's commit; a refusal sends nothing). Flushes; the caller commits."""
    if account.locale not in LOCALES:
        raise ValidationError("unknown_locale", fields={"locale": "invalid"})
    info = Registration(
        email=account.email,
        password=_unknown_password(),
        name=account.name,
        role=account.role,
        station_id=account.station_id,
    )
    user = create_user(info, actor=actor, now=now, invited=True, locale=account.locale)
    user.has_own_password = False
    db.session.flush()
    send_setup_link(user)
    return user


def _last_setup_link_at(user: User) -> datetime | None:
    """When the last set-up link went out: with the account (`user.create`) or again (`user.setup_link`)."""
    return db.session.scalar(
        sa.select(sa.func.max(AuditEntry.created_at)).where(
            AuditEntry.subject_type == User.__tablename__,
            AuditEntry.subject_id == user.id,
            AuditEntry.action.in_(("user.create", "user.setup_link")),
        )
    )


def check_setup_link(user: User, *, now: datetime) -> None:
    """Raise what `resend_setup_link` would refuse (the confirmation step asks it first)."""
    if not user.is_active_account:
        raise Conflict("setup_link_inactive")
    if user.has_own_password:
        raise Conflict("password_already_set")
    last = _last_setup_link_at(user)
    if last is not None and now - last < SETUP_LINK_PAUSE:
        raise Conflict("setup_link_just_sent", minutes=int(SETUP_LINK_PAUSE.total_seconds() // 60))


def resend_setup_link(user: User, *, actor, now: datetime) -> None:
    """Mail the owner of an account the admin created, who has not set a password yet, a new set-up link
    (in the account's language, after the caller's commit), under `check_setup_link`'s rules. The account's
    row is locked first, so two taps queue up and the second one sees the first's audit entry (refused:
    one mail). The link is signed over the password hash (shop.auth.password): a new random password
    makes every earlier link stop working, so a lost or leaked mail no longer sets the password and the
    new one has its full ACCOUNT_SETUP_DAYS. Audited as `user.setup_link`. Flushes; the caller commits."""
    db.session.refresh(user, with_for_update=True)
    check_setup_link(user, now=now)
    user.password_hash = hash_password(_unknown_password())
    db.session.flush()
    record_audit(actor=actor, action="user.setup_link", subject=user, now=now)
    send_setup_link(user)


def _other_active_admins(user: User, *, lock: bool) -> int:
    """How many active admins there are besides `user`. With `lock`, every active admin's row, `user`'s
    included, is locked (ascending id) before counting: two admins demoting or deactivating each other
    at once queue up, and the second sees the first's change (no shop left without an admin)."""
    query = sa.select(User.id).where(User.role == Role.ADMIN, User.is_active_account.is_(True)).order_by(User.id)
    if lock:
        query = query.with_for_update()
    return len([i for i in db.session.scalars(query).all() if i != user.id])


def _keeps_an_admin(user: User, *, lock: bool) -> None:
    if user.role == Role.ADMIN and user.is_active_account and _other_active_admins(user, lock=lock) == 0:
        raise Conflict("last_active_admin")


def same_role(user: User, role: str, station_id: int | None) -> bool:
    """Whether `user` has this role already (an operator: of this station; other roles have none)."""
    return user.role == role and (station_id if role == Role.OPERATOR else None) == user.station_id


def _keeps_its_guests(user: User, role: str, *, now: datetime) -> None:
    """A host keeps its role while it has listings open to tourists or bookings not ended
    (`tourism.services.host.host_commitments`): under another role it could not receive them."""
    if user.role != Role.HOST or role == Role.HOST:
        return
    commitments = host_commitments(user.id, now=now)
    if commitments:
        raise Conflict("host_has_commitments", listings=commitments.open_listings, bookings=commitments.bookings)


def _keeps_its_organisations(user: User, role: str) -> None:
    """A member of an organisation (institutions: its manager, a buyer, an approver or a viewer) stays a
    shopper's account: institutions never adds a station's, a host's or the county office's account to one
    (`member_role_not_allowed`), and a county officer would approve the purchases of an organisation it
    verifies. The change is refused until the account has left them: the organisation's page removes a member
    (an admin may, as its manager may: `institutions.services.organisations.remove_member`), or the person
    leaves."""
    if role == Role.CONSUMER:
        return
    names = [organisation.name for organisation, _member in organisations_of(user)]
    if names:
        raise Conflict("organisation_member_role", email=user.email, organisations="、".join(names))


def check_role_change(user: User, role: str, station_id: int | None, *, now: datetime | None = None) -> None:
    """Raise what `set_role` would refuse (for the confirmation step: a refused change says why at once)."""
    _check_station(role, station_id)
    if role != Role.ADMIN:
        _keeps_an_admin(user, lock=False)
    _keeps_its_guests(user, role, now=now or now_utc())
    _keeps_its_organisations(user, role)


def set_role(user: User, role: str, station_id: int | None, *, actor, now: datetime) -> bool:
    """Give `user` the role `role` (an operator: of the station `station_id`). Returns whether anything
    changed; a change is audited as `user.role`. Flushes; the caller commits."""
    station_id = _check_station(role, station_id)
    if role != Role.ADMIN:
        _keeps_an_admin(user, lock=True)
    if same_role(user, role, station_id):
        return False
    _keeps_its_guests(user, role, now=now)
    _keeps_its_organisations(user, role)
    detail = {"old_role": user.role, "role": role, "old_station_id": user.station_id, "station_id": station_id}
    user.role = role
    user.station_id = station_id
    db.session.flush()
    record_audit(actor=actor, action="user.role", subject=user, detail=detail, now=now)
    return True


def check_active_change(user: User, active: bool, *, actor, lock: bool = False) -> None:
    """Raise what `set_active` would refuse."""
    if not active:
        if getattr(actor, "id", None) == user.id:
            raise Conflict("cannot_deactivate_self")
        _keeps_an_admin(user, lock=lock)


def set_active(user: User, active: bool, *, actor, now: datetime) -> bool:
    """Deactivate or reactivate an account. Deactivating ends its sessions on every device and its API
    tokens (`end_sessions`, `auth_version`), so neither works again, even after a reactivation.
    Returns whether anything changed; audited as `user.deactivate` / `user.reactivate`."""
    if bool(user.is_active_account) == active:
        return False
    check_active_change(user, active, actor=actor, lock=True)
    if not active:
        user.auth_version = (user.auth_version or 0) + 1
        end_sessions(user)
    user.is_active_account = active
    db.session.flush()
    record_audit(actor=actor, action="user.reactivate" if active else "user.deactivate", subject=user, now=now)
    return True


def user_history(user: User, limit: int = 20) -> list[tuple[AuditEntry, str | None]]:
    """The latest audit entries about this account, newest first, each with who made it: the acting
    account's e-mail, None for `flask users` (no account acts there)."""
    actor = aliased(User)
    return [
        (entry, email)
        for entry, email in db.session.execute(
            sa.select(AuditEntry, actor.email)
            .outerjoin(actor, actor.id == AuditEntry.actor_id)
            .where(AuditEntry.subject_type == User.__tablename__, AuditEntry.subject_id == user.id)
            .order_by(AuditEntry.id.desc())
            .limit(limit)
        )
    ]
