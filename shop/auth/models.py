"""User accounts and API tokens."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

import sqlalchemy as sa
from flask_login import UserMixin
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shop.columns import fk, pk
from shop.extensions import db


class Role(StrEnum):
    CONSUMER = "consumer"
    OPERATOR = "operator"
    HOST = "host"
    COUNTY = "county"
    ADMIN = "admin"


#: Roles whose pages an admin is not let into: what one does there is one's own (a host's listings, its
#: till, the wages it pays). An admin who opened /host/listings/new would have become the new listing's
#: host. Admins administer; hosts host (docs/auth.md, "Who passes a role gate").
OWN_WORK_ROLES = frozenset({Role.HOST})


class User(UserMixin, db.Model):
    __tablename__ = "users"
    __table_args__ = (
        sa.CheckConstraint("role IN ('consumer','operator','host','county','admin')", name="role_valid"),
        sa.CheckConstraint("role <> 'operator' OR station_id IS NOT NULL", name="operator_has_station"),
    )

    id: Mapped[int] = pk()
    #: Lower-cased e-mail, the login name.
    email: Mapped[str] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str] = mapped_column(sa.String(255))
    name: Mapped[str] = mapped_column(sa.String(80), default="")
    phone: Mapped[str] = mapped_column(sa.String(20), default="")
    role: Mapped[str] = mapped_column(sa.String(16), default=Role.CONSUMER)
    #: The one station an operator works for.
    station_id: Mapped[int | None] = fk("stations.id", nullable=True, ondelete="SET NULL")
    is_active_account: Mapped[bool] = mapped_column(sa.Boolean, default=True)
    #: Bumped on password change: every API token issued before is invalid.
    auth_version: Mapped[int] = mapped_column(sa.Integer, default=1)
    #: Named in the session (and remember-me) cookie; bumped at logout and on password change, which
    #: ends every session issued before, copied cookies included (shop.auth.services.end_sessions).
    session_generation: Mapped[int] = mapped_column(sa.Integer, default=1, server_default="1")
    #: The language of the account's e-mails (and pages once signed in); None: the page's, Chinese in mails.
    locale: Mapped[str | None] = mapped_column(sa.String(8), nullable=True)
    #: False while an account the admin created (admin.services.users.invite_user) still has the random
    #: password no one knows: its owner has not yet set one from the mailed link. Any password change sets it.
    has_own_password: Mapped[bool] = mapped_column(sa.Boolean, default=True, server_default=sa.true())
    created_at: Mapped[datetime]

    station = relationship("Station", foreign_keys=[station_id])

    @property
    def is_active(self) -> bool:  # flask-login
        return bool(self.is_active_account)

    def get_id(self) -> str:  # flask-login: the session names the user *and* the session generation
        return f"{self.id}:{self.session_generation}"

    @property
    def roles(self) -> list[str]:
        return [self.role]

    def has_role(self, *roles: str) -> bool:
        """The one rule of every role gate (`shop.auth.permissions.role_required` for pages, `roles=` of
        `shop.api.endpoint` for the API): the account's role is one of `roles`; an admin passes too, to
        administer and oversee, unless every role named is one of `OWN_WORK_ROLES` (a host's page: there
        the admin would act as a host, and what it created would be its own)."""
        if self.role in roles:
            return True
        return self.role == Role.ADMIN and not set(roles) <= OWN_WORK_ROLES

    def __repr__(self) -> str:
        return f"<User {self.id} {self.email} {self.role}>"


class ApiToken(db.Model):
    """A bearer token for the JSON API. Only the SHA-256 of the token is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = pk()
    user_id: Mapped[int] = fk("users.id", ondelete="CASCADE")
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    auth_version: Mapped[int] = mapped_column(sa.Integer)
    created_at: Mapped[datetime]
    expires_at: Mapped[datetime]

    user = relationship(User)
