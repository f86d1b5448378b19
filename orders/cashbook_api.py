"""The request bodies of the cash-book API, one for every till (a station's `/stations/{id}/cashbook/…`,
a host's `/host/cashbook/…`): the same rules as the shared service (`orders.services.cashbook`)."""

from __future__ import annotations

from pydantic import Field, StrictInt

from shop.api import QuerySchema, Schema
from shop.args import ApiDate
from shop.money import MAX_FEN


class CashbookQuery(QuerySchema):
    date: ApiDate | None = None


class CashCloseBody(Schema):
    date: ApiDate
    counted_fen: int = Field(ge=0, le=MAX_FEN)
    note: str | None = Field(default=None, max_length=200)


class RemittanceBody(Schema):
    #: What leaves the till for the platform (positive).
    amount_fen: StrictInt = Field(ge=1, le=MAX_FEN)
    note: str | None = Field(default=None, max_length=200)
    #: The day's book to write into (default: the open day); a closed day is refused.
    date: ApiDate | None = None


class CorrectionBody(Schema):
    #: Signed: cash found (+) or missing (−); never zero.
    amount_fen: StrictInt = Field(ge=-MAX_FEN, le=MAX_FEN)
    reason: str = Field(min_length=1, max_length=200)
    date: ApiDate | None = None
