"""API: register, token, me."""

from __future__ import annotations

from pydantic import EmailStr, Field

from shop.api import Schema, api_user, endpoint, ok
from shop.auth.services import Registration, authenticate, issue_token, register_user
from shop.db import commit
from shop.errors import Unauthorized
from shop.security import AUTH_LIMIT, limiter
from shop.timeutil import now_utc


class Credentials(Schema):
    email: EmailStr = Field(max_length=254)
    password: str = Field(min_length=1, max_length=200)


class RegisterBody(Credentials):
    name: str = Field(default="", max_length=80)


class TokenOut(Schema):
    token: str
    token_type: str = "bearer"


class MeOut(Schema):
    id: int
    email: str
    name: str
    roles: list[str]
    station_id: int | None


def _me(user) -> MeOut:
    return MeOut(id=user.id, email=user.email, name=user.name, roles=user.roles, station_id=user.station_id)


@endpoint("/auth/register", ["POST"], body=RegisterBody, response=MeOut, status=201, tags=("auth",), errors=(409, 429))
@limiter.limit(AUTH_LIMIT)
def auth_register(body: RegisterBody):
    """Create a consumer account."""
    user = register_user(Registration(email=body.email, password=body.password, name=body.name), now=now_utc())
    commit()
    return ok(_me(user), 201)


@endpoint("/auth/token", ["POST"], body=Credentials, response=TokenOut, tags=("auth",), errors=(401, 403, 429))
@limiter.limit(AUTH_LIMIT)
def auth_token(body: Credentials):
    """Exchange e-mail and password for a bearer token. A wrong e-mail or password: 401 `invalid_credentials`;
    the right password of a deactivated account: 403 `account_deactivated`."""
    user = authenticate(body.email, body.password)
    if user is None:
        raise Unauthorized("invalid_credentials")
    token = issue_token(user, now=now_utc())
    commit()
    return ok(TokenOut(token=token))


@endpoint("/me", auth=True, response=MeOut, tags=("auth",))
def me():
    """The caller."""
    return ok(_me(api_user()))
