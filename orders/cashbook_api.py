"""The cash-book API's shapes, one for every till (a station's `/stations/{id}/cashbook/…`, a host's
`/host/cashbook/…`): the request bodies, the fields every book and entry answer with, and `book_out`,
which fills them from the shared service (`orders.services.cashbook`). Each till's API subclasses the
answers with its own owner field and entry references."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from pydantic import BaseModel, Field

from shop.api import QuerySchema, Schema
from shop.args import ApiDate
from shop.money import MAX_FEN

from .services import cashbook as cash


class CashbookQuery(QuerySchema):
    date: ApiDate | None = None


class CashCloseBody(Schema):
    date: ApiDate
    counted_fen: int = Field(ge=0, le=MAX_FEN)
    # the length is the service's rule (`cash_note`: 422 cash_note_too_long), as for every note below
    note: str | None = None


class RemittanceBody(Schema):
    #: What leaves the till for the platform (positive).
    amount_fen: int = Field(ge=1, le=MAX_FEN)
    note: str | None = None
    #: The day's book to write into (default: the open day); a closed day is refused.
    date: ApiDate | None = None


class CorrectionBody(Schema):
    #: Signed: cash found (+) or missing (−); never zero.
    amount_fen: int = Field(ge=-MAX_FEN, le=MAX_FEN)
    reason: str = Field(min_length=1)
    date: ApiDate | None = None


class CashEntryFields(BaseModel):
    """What every till's book entry answers with; a till adds what its entries refer to."""

    id: int
    amount_fen: int
    business_date: dt.date
    created_at: dt.datetime
    actor_id: int | None
    reason: str


class CashbookFields(BaseModel):
    """What every till's day book answers with; a till adds its owner and its entry type."""

    date: dt.date
    opening_fen: int
    expected_fen: int
    counted_fen: int | None
    difference_fen: int | None
    closed: bool


def book_out(owner_id: int, day: dt.date, *, till: cash.Till, entry_refs: Callable[[Any], dict]) -> dict:
    """One day's book of a till as the answer's fields (`CashbookFields` plus `entries`); `entry_refs`
    gives each entry's till-specific references (an order and shipment, a booking and listing)."""
    book = cash.day_book(owner_id, day, till=till)
    return dict(
        date=day,
        opening_fen=book.opening_fen,
        expected_fen=book.expected_fen,
        counted_fen=book.counted_fen,
        difference_fen=book.close.difference_fen if book.close else None,
        closed=book.closed,
        entries=[
            dict(
                id=e.id,
                kind=e.kind,
                amount_fen=e.amount_fen,
                business_date=e.business_date,
                created_at=e.created_at,
                actor_id=e.actor_id,
                reason=e.reason or "",
                **entry_refs(e),
            )
            for e in book.entries
        ],
    )
