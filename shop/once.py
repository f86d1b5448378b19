"""Once per form: a form that creates something carries a token drawn when the form was shown; the
service that creates the object claims the token in the same transaction. A second POST of the same
form (a double tap, a resubmitted page, a retry after a slow upload) finds the token claimed and
creates nothing.

The claim is an INSERT .. ON CONFLICT DO NOTHING on a unique key: on PostgreSQL a concurrent second
claim waits for the first transaction and then sees the conflict (or takes the token over when the
first rolled back), so exactly one of two simultaneous requests creates the object.
"""

from __future__ import annotations

import secrets
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Mapped, mapped_column

from shop.columns import fk, pk
from shop.errors import Conflict
from shop.extensions import db

TOKEN_CHARS = 22  # secrets.token_urlsafe(16)


class FormSubmission(db.Model):
    """A claimed form token: (form, token) was used once, by `user_id`, at `created_at`."""

    __tablename__ = "form_submissions"

    id: Mapped[int] = pk()
    key: Mapped[str] = mapped_column(sa.String(120), unique=True)
    user_id: Mapped[int | None] = fk("users.id", nullable=True, ondelete="CASCADE")
    created_at: Mapped[datetime]


class AlreadySubmitted(Conflict):
    """This form was submitted before: nothing new was created."""

    code = "already_submitted"


def new_form_token() -> str:
    return secrets.token_urlsafe(16)


def valid_token(token: str | None) -> bool:
    token = token or ""
    return 16 <= len(token) <= 64 and all(c.isascii() and (c.isalnum() or c in "-_") for c in token)


def _insert():
    return postgresql.insert if db.session.get_bind().dialect.name == "postgresql" else sqlite.insert


def claim(form: str, token: str, *, user_id: int | None, now: datetime) -> bool:
    """True if this request now owns (form, token); False if it was used before. Flushes only:
    the claim commits (or rolls back) with the object the form creates."""
    table = FormSubmission.__table__
    inserted = db.session.execute(
        _insert()(table)
        .values(key=f"{form}:{token}", user_id=user_id, created_at=now)
        .on_conflict_do_nothing(index_elements=["key"])
        .returning(table.c.id)
    ).scalar()
    return inserted is not None


def claimed(form: str, token: str | None) -> bool:
    """Whether (form, token) was claimed already (the same page posted again); reads only. For a view that
    asks a question before it creates (`shop.confirm.ask_first`): the page posted twice is told the first
    POST did it (`shop.forms.create_once`), not asked."""
    if not valid_token(token):
        return False
    key = f"{form}:{token}"
    return db.session.scalar(sa.select(FormSubmission.id).where(FormSubmission.key == key)) is not None


def claim_or_refuse(form: str, token: str | None, *, user_id: int | None, now: datetime) -> None:
    """`claim`, raising AlreadySubmitted when the token was used (or is not a token at all)."""
    if not valid_token(token):
        raise Conflict("form_token_invalid")
    if not claim(form, token, user_id=user_id, now=now):
        raise AlreadySubmitted("already_submitted")
