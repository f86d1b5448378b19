"""The station cash book: every cash event at a station's till is a row (`orders.models.CashEntry`).

Rules (docs/MONEY.md):
- Cash orders (pay at station `station_cash`, cash on delivery `cod`) are paid shipment by shipment:
  the cash for a shipment is taken once (`take_cash`), either at the counter before the hand-over
  or in the hand-over step itself (`stations.services.fulfilment`), and is a `station_cash` / `cod`
  entry of exactly the amount due.
- A cash refund is a `Refund` row, owed to the buyer (待退还) while its cash is still in the till, and
  a negative `refund` entry (`pay_out_refund`) of the till that took the money once an operator hands
  it back (`orders.services.payments.hand_back_cash`), by that operator.
- Remittances to the platform and corrections (with a reason) are entries too.
- Nothing is recomputed from order lines: the cash page, the summary and the daily close read the book.
- The daily close (日结) writes a `CashClose`: the till's balance from the book (expected), what the
  operator counted, and the difference as a `close_difference` entry with the reason. A closed day
  never changes: an event after the close goes into the next open day's book; an entry dated into a
  closed day is refused (here, and by a trigger on PostgreSQL).

One service for every till: the rules below are written over a `Till` (entry model, close model, the
owner column and the owner's row to lock); the station's book is `STATION_TILL`, the host's book
(`tourism.services.host_cash.HOST_TILL`) passes its own, so both books close, take remittances and
corrections by the same code.

Concurrency: every write locks the station row (`FOR NO KEY UPDATE`, which does not block rows
that merely reference the station), so entries and the close of one station are serialised and
two operators closing the same day at once produce one close. Lock order: the order row (callers in
the orders and fulfilment services take it first), then the station row.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask_babel import gettext as _
from sqlalchemy.orm import selectinload

from orders.models import (
    MAX_CASH_NOTE,
    REFUND_OWED,
    CashClose,
    CashEntry,
    CashKind,
    Order,
    PaymentMethod,
    Refund,
    Shipment,
    ShipmentStatus,
)
from orders.services.amounts import is_cash_order, shipment_due_fen
from orders.services.pickup import handover_station_id
from shop.auth.models import User
from shop.db import unique_or
from shop.errors import Conflict, ValidationError
from shop.extensions import db
from shop.history import record_note
from shop.money import MAX_FEN, format_yuan
from shop.timeutil import local_date
from stock.models import Station

CASH_METHODS = (PaymentMethod.STATION_CASH, PaymentMethod.COD)
TAKEN_KINDS = (CashKind.STATION_CASH, CashKind.COD)

#: Kind -> its Chinese label (a msgid; listed in stations/translations/dynamic.pot).
KIND_LABELS = {
    "station_cash": "到站付现",
    "cod": "货到付款",
    "refund": "现金退款",
    "remittance": "上缴平台",
    "correction": "更正",
    "close_difference": "日结差额",
    "arrival": "到店收现",
}


def kind_label(kind: str) -> str:
    return _(KIND_LABELS[kind]) if kind in KIND_LABELS else str(kind)


class CashNotReceived(Conflict):
    code = "cash_not_received"


class CashDayClosed(Conflict):
    code = "cash_day_closed"


# --- reading the book ----------------------------------------------------------------------------


def shipment_cash_fen(shipment_id: int) -> int:
    """The cash a shipment holds for its order, net: taken minus its cash refunds, paid out (in the
    book) or owed to the buyer and not handed back yet (`owed_refunds_fen`, still in the till)."""
    in_book = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(CashEntry.amount_fen), 0)).where(
            CashEntry.shipment_id == shipment_id, CashEntry.kind.in_((*TAKEN_KINDS, CashKind.REFUND))
        )
    )
    return int(in_book or 0) - owed_refunds_fen(shipment_id)


def owed_refunds_fen(shipment_id: int) -> int:
    """The cash refunds of a shipment owed to its buyer, not handed back yet (待退还: in the till, not
    in the book)."""
    return int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Refund.amount_fen), 0)).where(
                Refund.shipment_id == shipment_id, Refund.state == REFUND_OWED
            )
        )
        or 0
    )


def taken_entry(shipment_id: int) -> CashEntry | None:
    return db.session.scalar(
        sa.select(CashEntry).where(CashEntry.shipment_id == shipment_id, CashEntry.kind.in_(TAKEN_KINDS))
    )


def shipments_cash_fen(shipment_ids) -> dict[int, int]:
    """{shipment id: `shipment_cash_fen`} for several shipments in two statements, whatever their number
    (a shipment without cash: 0)."""
    ids = sorted(set(shipment_ids))
    if not ids:
        return {}
    cash = dict.fromkeys(ids, 0)
    for shipment_id, fen in db.session.execute(
        sa.select(CashEntry.shipment_id, sa.func.sum(CashEntry.amount_fen))
        .where(CashEntry.shipment_id.in_(ids), CashEntry.kind.in_((*TAKEN_KINDS, CashKind.REFUND)))
        .group_by(CashEntry.shipment_id)
    ):
        cash[shipment_id] += int(fen or 0)
    for shipment_id, fen in db.session.execute(
        sa.select(Refund.shipment_id, sa.func.sum(Refund.amount_fen))
        .where(Refund.shipment_id.in_(ids), Refund.state == REFUND_OWED)
        .group_by(Refund.shipment_id)
    ):
        cash[shipment_id] -= int(fen or 0)
    return cash


def taken_stations(shipment_ids) -> dict[int, int]:
    """{shipment id: the station whose till took its cash} for those of the shipments whose cash is in a book
    (`taken_entry`'s station, for several shipments in one statement)."""
    ids = sorted(set(shipment_ids))
    if not ids:
        return {}
    rows = db.session.execute(
        sa.select(CashEntry.shipment_id, CashEntry.station_id).where(
            CashEntry.shipment_id.in_(ids), CashEntry.kind.in_(TAKEN_KINDS)
        )
    )
    return {shipment_id: station_id for shipment_id, station_id in rows if shipment_id is not None}


@dataclass(frozen=True)
class Till:
    """One kind of till and its book: the station's (`STATION_TILL`) or the host's
    (`tourism.services.host_cash.HOST_TILL`). Every rule below — the open day, the day's book, a
    closed day refusing every change, remittances, corrections, the daily close, the lock that
    serialises them — is written once over a till; `owner` names the column of the entry and close
    models that says whose till it is (`station_id`, `host_id`)."""

    entry: Any  # the entry model (a mapped class)
    close: Any  # the close model
    owner: str
    #: The row locked (`FOR NO KEY UPDATE`) before every write: serialises one owner's book.
    owner_model: Any
    #: kind values of the entry model
    remittance: str = "remittance"
    correction: str = "correction"
    close_difference: str = "close_difference"
    #: The relationships of an entry its book's page shows (the station's: its shipment; the host's: its
    #: booking), read with the day's entries (`day_book`) in one statement more, not one per entry.
    entry_refs: tuple[str, ...] = ()
    #: The cash in an owner's till that is owed to others, in fen (`owner id -> fen`): in hand, counted by the
    #: daily close, but not the owner's to hand over (the station's: cash refunds 待退还 to buyers,
    #: `owed_in_till`). None: the till owes nobody.
    owes: Any = None

    def entry_owner(self):
        return getattr(self.entry, self.owner)

    def close_owner(self):
        return getattr(self.close, self.owner)


def owed_in_till(station_id: int) -> int:
    """The cash refunds a station's till owes buyers (待退还), in fen: refunds owed of the shipments whose cash
    this till took. The cash is in the till until an operator hands it back (`pay_out_refund`), so a
    remittance cannot take it (`remittance_exceeds_free_cash`): the hand-back would then leave the till
    holding less than nothing."""
    return int(
        db.session.scalar(
            sa.select(sa.func.coalesce(sa.func.sum(Refund.amount_fen), 0))
            .join(CashEntry, CashEntry.shipment_id == Refund.shipment_id)
            .where(
                Refund.state == REFUND_OWED,
                CashEntry.kind.in_(TAKEN_KINDS),
                CashEntry.station_id == station_id,
            )
        )
        or 0
    )


STATION_TILL = Till(
    entry=CashEntry,
    close=CashClose,
    owner="station_id",
    owner_model=Station,
    entry_refs=("shipment",),
    owes=owed_in_till,
)


def is_closed(station_id: int, day: date, *, till: Till = STATION_TILL) -> bool:
    return (
        db.session.scalar(
            sa.select(till.close.id).where(till.close_owner() == station_id, till.close.business_date == day)
        )
        is not None
    )


def closed_after(owner_id: int, day: date, *, till: Till = STATION_TILL) -> date | None:
    """The first day after `day` whose book is closed, if any. Its close counted the whole till, so the
    books before it are settled by it: a close or an entry there would change the opening balance of a
    closed book after its count (the closed day's 期初 + 收支 no longer its 账面应有)."""
    return db.session.scalar(
        sa.select(sa.func.min(till.close.business_date)).where(
            till.close_owner() == owner_id, till.close.business_date > day
        )
    )


def _check_not_settled(till: Till, owner_id: int, day: date) -> None:
    later = closed_after(owner_id, day, till=till)
    if later is not None:
        raise Conflict(
            "cash_later_day_closed", later=later.isoformat(), day=day.isoformat(), fields={"date": "closed after"}
        )


def open_day(station_id: int, now: datetime, *, till: Till = STATION_TILL) -> date:
    """Today's Beijing date, or the first day after it whose book is not closed yet."""
    day = local_date(now)
    closed = set(
        db.session.scalars(
            sa.select(till.close.business_date).where(till.close_owner() == station_id, till.close.business_date >= day)
        )
    )
    while day in closed:
        day += timedelta(days=1)
    return day


@dataclass
class DayBook:
    owner_id: int
    day: date
    opening_fen: int
    entries: list[Any]
    close: Any | None
    #: The till's balance expected from the book at the end of the day (before the close difference).
    expected_fen: int = 0
    counted_fen: int | None = None
    in_fen: int = 0
    out_fen: int = 0
    by_kind: dict = field(default_factory=dict)

    @property
    def closed(self) -> bool:
        return self.close is not None

    @property
    def station_id(self) -> int:
        return self.owner_id


def cash_in_hand(till: Till, owner_id: int, *, before: date | None = None) -> int:
    """What the book says is in the owner's till (the sum of its entries), or was before `before`."""
    query = sa.select(sa.func.coalesce(sa.func.sum(till.entry.amount_fen), 0)).where(till.entry_owner() == owner_id)
    if before is not None:
        query = query.where(till.entry.business_date < before)
    return int(db.session.scalar(query) or 0)


def day_book(station_id: int, day: date, *, till: Till = STATION_TILL) -> DayBook:
    """A till's book for one Beijing day: opening balance, the day's entries, expected, the close."""
    entry = till.entry
    opening = cash_in_hand(till, station_id, before=day)
    entries = list(
        db.session.scalars(
            sa.select(entry)
            .where(till.entry_owner() == station_id, entry.business_date == day)
            .order_by(entry.id)
            .options(*(selectinload(getattr(entry, name)) for name in till.entry_refs))
        )
    )
    close = db.session.scalar(
        sa.select(till.close).where(till.close_owner() == station_id, till.close.business_date == day)
    )
    book = DayBook(station_id, day, opening, entries, close)
    movements = [e for e in entries if e.kind != till.close_difference]
    book.expected_fen = close.expected_fen if close is not None else opening + sum(e.amount_fen for e in movements)
    book.counted_fen = close.counted_fen if close is not None else None
    book.in_fen = sum(e.amount_fen for e in movements if e.amount_fen > 0)
    book.out_fen = sum(e.amount_fen for e in movements if e.amount_fen < 0)
    for e in entries:
        book.by_kind[e.kind] = book.by_kind.get(e.kind, 0) + e.amount_fen
    return book


@dataclass
class OperatorCash:
    operator_id: int | None
    operator_name: str
    count: int
    amount_fen: int
    entries: list[CashEntry]


def cash_summary(station_id: int, day: date) -> list[OperatorCash]:
    """The day's book per operator (every entry, signed), read from the book."""
    entries = day_book(station_id, day).entries
    users: dict[int | None, User] = {
        u.id: u
        for u in db.session.scalars(sa.select(User).where(User.id.in_({e.actor_id for e in entries if e.actor_id})))
    }
    groups: dict[int | None, OperatorCash] = {}
    for e in entries:
        user = users.get(e.actor_id)
        group = groups.setdefault(
            e.actor_id, OperatorCash(e.actor_id, (user.name or user.email) if user else "—", 0, 0, [])
        )
        group.count += 1
        group.amount_fen += e.amount_fen
        group.entries.append(e)
    return sorted(groups.values(), key=lambda g: (g.operator_name, g.operator_id or 0))


# --- writing -------------------------------------------------------------------------------------


def lock_till(till: Till, owner_id: int) -> None:
    """Serialise one owner's book (`FOR NO KEY UPDATE` on the owner's row: rows that merely
    reference it are not blocked)."""
    db.session.execute(
        sa.select(till.owner_model.id).where(till.owner_model.id == owner_id).with_for_update(key_share=True)
    )


def write_entry(
    till: Till,
    owner_id: int,
    kind: str,
    amount_fen: int,
    *,
    actor,
    now: datetime,
    day: date | None = None,
    reason: str = "",
    from_cash_in_hand: bool = False,
    **refs,
) -> Any:
    """Write one entry into `day`'s book if given (refused when still to come, or closed: 409
    `cash_day_closed`), else into the owner's open day. `refs` are the entry model's own columns
    (order, shipment, refund; listing, booking). `from_cash_in_hand`: the (negative) amount is cash
    taken out of the till, so it cannot be more than the book says is in it (409
    `remittance_exceeds_cash`, or `remittance_exceeds_free_cash` when it would take cash the till owes,
    read under the till's lock)."""
    if day is not None and day > local_date(now):
        raise ValidationError("entry_in_future", fields={"date": "future"})
    lock_till(till, owner_id)
    if from_cash_in_hand:
        _check_in_hand(till, owner_id, -amount_fen)
    if day is None:
        day = open_day(owner_id, now, till=till)
    elif is_closed(owner_id, day, till=till):
        raise CashDayClosed("cash_day_closed", day=day.isoformat())  # the documented code (docs/MONEY.md)
    else:
        _check_not_settled(till, owner_id, day)
    entry = till.entry(
        business_date=day,
        kind=str(kind),
        amount_fen=int(amount_fen),
        reason=cash_note(reason),
        actor_id=getattr(actor, "id", None),
        created_at=now,
        **{till.owner: owner_id},
        **refs,
    )
    db.session.add(entry)
    db.session.flush()
    return entry


def _write(
    station_id: int,
    kind: str,
    amount_fen: int,
    *,
    actor,
    now: datetime,
    day: date | None = None,
    order_id: int | None = None,
    shipment_id: int | None = None,
    refund_id: int | None = None,
    reason: str = "",
) -> CashEntry:
    return write_entry(
        STATION_TILL,
        station_id,
        kind,
        amount_fen,
        actor=actor,
        now=now,
        day=day,
        reason=reason,
        order_id=order_id,
        shipment_id=shipment_id,
        refund_id=refund_id,
    )


def till_station_id(shipment: Shipment) -> int:
    """Whose till takes a shipment's cash: the station that hands it over (the buyer's chosen
    pick-up station for a pick-up order, else the packing station)."""
    return handover_station_id(shipment)


def outstanding_cash_fen(shipments: list[Shipment]) -> int:
    """The cash still to take for these shipments (those whose cash is not in the book yet)."""
    return sum(
        shipment_due_fen(s) for s in shipments if s.status != ShipmentStatus.CANCELED and taken_entry(s.id) is None
    )


def _check_exact(cash_received_fen: int | None, due: int) -> None:
    """The cash handed over is exactly what is due, else 409 `cash_not_received` (its fields say whether
    the amount was missing or different, and what is due)."""
    if cash_received_fen != due:
        raise CashNotReceived(
            "cash_not_received",
            due=format_yuan(due),
            fields={
                "cash_received_fen": "required" if cash_received_fen is None else "mismatch",
                "amount_due_fen": str(due),
            },
        )


def check_cash_for_order(shipments: list[Shipment], cash_received_fen: int | None) -> int:
    """What `take_cash_for_order` refuses, without writing anything: `cash_received_fen` is not the sum
    still due over the shipments (409 `cash_not_received`), or cash is handed over for an order whose
    cash is all in the book already (409 `order_cash_already_received`). Returns the sum due."""
    due = outstanding_cash_fen(shipments)
    if due == 0:
        if cash_received_fen:
            raise Conflict("order_cash_already_received")
        return 0
    _check_exact(cash_received_fen, due)
    return due


def take_cash_for_order(shipments: list[Shipment], cash_received_fen: int | None, *, actor, now: datetime) -> None:
    """A whole pick-up order handed over at once: `cash_received_fen` must be the sum still due over
    its shipments (`check_cash_for_order`); each shipment's part is written as its own entry."""
    if check_cash_for_order(shipments, cash_received_fen) == 0:
        return
    for shipment in shipments:
        if shipment.status != ShipmentStatus.CANCELED and taken_entry(shipment.id) is None:
            take_cash(shipment, shipment_due_fen(shipment), actor=actor, now=now)


def check_cash(shipment: Shipment, cash_received_fen: int | None) -> int:
    """What `take_cash` refuses, without writing anything: not a cash order, a canceled shipment, an amount
    that is no amount, cash handed over when it is in the book already, cash other than what is due (409
    `cash_not_received`). Returns what is to be written now (0: nothing, the cash is in or nothing is due).
    The cash-on-delivery hand-over asks it before its confirmation step, `take_cash` again under the lock."""
    if not is_cash_order(shipment.order):
        raise Conflict("not_cash_order")
    if shipment.status == ShipmentStatus.CANCELED:
        raise Conflict("shipment_canceled")
    if cash_received_fen is not None and (
        isinstance(cash_received_fen, bool)
        or not isinstance(cash_received_fen, int)
        or not 0 <= cash_received_fen <= MAX_FEN
    ):
        raise ValidationError("invalid_cash_received", fields={"cash_received_fen": "invalid"})
    if taken_entry(shipment.id) is not None:
        if cash_received_fen:
            raise Conflict("cash_already_received")
        return 0
    due = shipment_due_fen(shipment)
    if due <= 0:
        return 0
    _check_exact(cash_received_fen, due)
    return due


def take_cash(shipment: Shipment, cash_received_fen: int | None, *, actor, now: datetime) -> CashEntry | None:
    """Write the cash taken for a shipment of a cash order: exactly what is still due for it.

    Call with the order row locked (`fulfilment._lock` or `orders.services.common.lock_order`).
    Returns None when the shipment's cash is already in the book and nothing more was handed over;
    raises `CashNotReceived` (409) when the amount is missing or differs from what is due.
    """
    order = shipment.order
    due = check_cash(shipment, cash_received_fen)
    if due == 0:
        return None
    kind = CashKind.STATION_CASH if order.payment_method == PaymentMethod.STATION_CASH else CashKind.COD
    # taken meanwhile: the order lock makes this the database's last word
    with unique_or(Conflict("cash_already_received")):
        entry = _write(
            till_station_id(shipment), kind, due, actor=actor, now=now, order_id=order.id, shipment_id=shipment.id
        )
    if shipment.cash_received_at is None:
        shipment.cash_received_at = now
        shipment.cash_received_by_id = getattr(actor, "id", None)
    record_note(shipment, f"cash received {format_yuan(due)}", actor=actor, now=now)
    db.session.flush()
    return entry


def pay_out_refund(refund: Refund, *, shipment: Shipment, actor, now: datetime) -> CashEntry:
    """A cash refund leaves the till that took the shipment's cash: a negative `refund` entry."""
    taken = taken_entry(shipment.id)
    station_id = taken.station_id if taken is not None else shipment.station_id
    return _write(
        station_id,
        CashKind.REFUND,
        -int(refund.amount_fen),
        actor=actor,
        now=now,
        order_id=shipment.order_id,
        shipment_id=shipment.id,
        refund_id=refund.id,
        reason=refund.reason,
    )


def _amount(amount_fen, name: str = "amount_fen") -> int:
    if isinstance(amount_fen, bool) or not isinstance(amount_fen, int) or abs(amount_fen) > MAX_FEN:
        raise ValidationError("invalid_money", fields={name: "invalid"})
    return amount_fen


def cash_note(text: str | None, *, field: str = "reason") -> str:
    """A reason or note typed for a till's book (a correction's reason, a remittance's note, a close's
    difference reason) as it is kept: stripped; longer than `MAX_CASH_NOTE` is refused (422
    `cash_note_too_long`, naming the limit), never cut, so the book says the whole of what was written."""
    note = (text or "").strip()
    if len(note) > MAX_CASH_NOTE:
        raise ValidationError("cash_note_too_long", fields={field: "too_long"}, max=MAX_CASH_NOTE)
    return note


def _check_in_hand(till: Till, owner_id: int, taken_fen: int, *, correction: bool = False) -> None:
    """Cash taken out of the till cannot be more than the book says is in it (the till never holds less
    than nothing): a remittance's `remittance_exceeds_cash`, a correction's `correction_exceeds_cash`. A
    remittance cannot take the cash the till owes (`Till.owes`: refunds 待退还 to buyers) either
    (`remittance_exceeds_free_cash`, naming what may be handed over): handed back later, it would leave the
    till below nothing. A correction records cash found missing or over, so it is bounded by the book only."""
    in_hand = cash_in_hand(till, owner_id)
    owed = till.owes(owner_id) if till.owes is not None and not correction else 0
    if in_hand - owed - taken_fen >= 0:
        return
    fields = {"amount_fen": "above cash in hand"}
    if correction:
        raise Conflict("correction_exceeds_cash", in_hand=format_yuan(in_hand), fields=fields)
    if owed and in_hand - taken_fen >= 0:
        raise Conflict(
            "remittance_exceeds_free_cash",
            free=format_yuan(max(in_hand - owed, 0)),
            in_hand=format_yuan(in_hand),
            owed=format_yuan(owed),
            fields=fields,
        )
    raise Conflict("remittance_exceeds_cash", in_hand=format_yuan(in_hand), fields=fields)


def _check_remittance(amount: int) -> None:
    if amount <= 0:
        raise ValidationError("handover_not_positive", fields={"amount_fen": "invalid"})


def _check_correction(amount: int, reason: str) -> None:
    if not reason:
        raise ValidationError("correction_reason_required", fields={"reason": "required"})
    if amount == 0:
        raise ValidationError("correction_zero", fields={"amount_fen": "invalid"})


def check_move(
    owner_id: int,
    kind: str,
    amount_fen: int,
    *,
    reason: str = "",
    till: Till = STATION_TILL,
    seen_in_hand: int | None = None,
) -> None:
    """Raise what `remit` (kind 'remittance') or `correct` (any other kind) would refuse with this amount
    and reason — a remittance not above zero or above the cash in hand, a correction of zero or without
    its reason, a correction lowering the book by more than the cash in hand, a page's move decided on a
    cash in hand the book no longer has (`seen_in_hand`) — so that a page asks no confirmation of an entry
    that cannot be written; they check again (the cash in hand under the till's lock)."""
    _check_seen_in_hand(till, owner_id, seen_in_hand)
    amount = _amount(amount_fen)
    if kind == "remittance":
        cash_note(reason)
        _check_remittance(amount)
        _check_in_hand(till, owner_id, amount)
    else:
        _check_correction(amount, cash_note(reason))
        if amount < 0:
            _check_in_hand(till, owner_id, -amount, correction=True)


def _check_seen_in_hand(till: Till, owner_id: int, seen_in_hand: int | None) -> None:
    """A remittance or correction decided on a page that showed `seen_in_hand` as the cash in hand: refused
    when the book has changed since (409 `cash_changed_since_shown`, naming the cash in hand now) — two
    keepers who counted the same till, each with the page open, would otherwise both write it. Read under
    the till's lock."""
    if seen_in_hand is None:
        return
    lock_till(till, owner_id)
    in_hand = cash_in_hand(till, owner_id)
    if in_hand != seen_in_hand:
        raise Conflict("cash_changed_since_shown", in_hand=format_yuan(in_hand), fields={"amount": "changed"})


def remit(
    station_id: int,
    amount_fen: int,
    *,
    actor,
    now: datetime,
    note: str = "",
    day: date | None = None,
    till: Till = STATION_TILL,
    seen_in_hand: int | None = None,
):
    """Cash handed over to the platform (a positive amount leaves the till), into `day`'s book if
    given and still open (a closed day: 409 `cash_day_closed`), else the open day's. `seen_in_hand`: what
    the page it was decided on showed as the cash in hand (`_check_seen_in_hand`)."""
    amount = _amount(amount_fen)
    note = cash_note(note, field="note")
    _check_remittance(amount)
    _check_seen_in_hand(till, station_id, seen_in_hand)
    return write_entry(
        till,
        station_id,
        till.remittance,
        -amount,
        actor=actor,
        now=now,
        day=day,
        reason=note,
        from_cash_in_hand=True,
    )


def correct(
    station_id: int,
    amount_fen: int,
    *,
    reason: str,
    actor,
    now: datetime,
    day: date | None = None,
    till: Till = STATION_TILL,
    seen_in_hand: int | None = None,
):
    """A signed correction with its reason (into `day`'s book if given and still open); one that lowers
    the book cannot take more than is in hand (409 `correction_exceeds_cash`: the till never holds less
    than nothing). `seen_in_hand`: what the page it was decided on showed as the cash in hand
    (`_check_seen_in_hand`)."""
    amount = _amount(amount_fen)
    reason = cash_note(reason)
    _check_correction(amount, reason)
    _check_seen_in_hand(till, station_id, seen_in_hand)
    if amount < 0:
        lock_till(till, station_id)  # the cash in hand read under the till's lock, as write_entry reads it
        _check_in_hand(till, station_id, -amount, correction=True)
    return write_entry(till, station_id, till.correction, amount, actor=actor, now=now, day=day, reason=reason)


def check_close(
    station_id: int, day: date, *, counted_fen: int, note: str = "", now: datetime, till: Till = STATION_TILL
) -> DayBook:
    """Raise what `close_day` would refuse with this count and note (a negative count, a day still to
    come, a day already closed or settled by a later day's close, a difference without a reason), so that a page asks no confirmation of
    a close that cannot be made; `close_day` checks again under the till's lock. Returns the day's book."""
    counted = _amount(counted_fen, "counted_fen")
    note = cash_note(note, field="note")
    if counted < 0:
        raise ValidationError("counted_negative", fields={"counted_fen": "invalid"})
    if day > local_date(now):
        raise ValidationError("close_future_day", fields={"date": "future"})
    if is_closed(station_id, day, till=till):
        raise CashDayClosed("cash_day_closed", day=day.isoformat())
    _check_not_settled(till, station_id, day)
    book = day_book(station_id, day, till=till)
    if counted != book.expected_fen and not note:
        raise ValidationError(
            "close_note_required", fields={"note": "required", "expected_fen": str(book.expected_fen)}
        )
    return book


def close_day(
    station_id: int, day: date, *, counted_fen: int, note: str = "", actor, now: datetime, till: Till = STATION_TILL
):
    """日结: expected from the book, counted by the till's keeper, the difference recorded with a reason.

    Refused for a day still to come, for a day already closed (`cash_day_closed`), and for a
    difference without a reason.
    """
    counted = _amount(counted_fen, "counted_fen")
    note = cash_note(note, field="note")
    lock_till(till, station_id)
    book = check_close(station_id, day, counted_fen=counted, note=note, now=now, till=till)
    difference = counted - book.expected_fen
    if difference:
        write_entry(till, station_id, till.close_difference, difference, actor=actor, now=now, day=day, reason=note)
    close = till.close(
        business_date=day,
        expected_fen=book.expected_fen,
        counted_fen=counted,
        difference_fen=difference,
        note=note,
        actor_id=getattr(actor, "id", None),
        created_at=now,
        **{till.owner: station_id},
    )
    # the other keeper's close won (the owner lock makes this rare)
    with unique_or(CashDayClosed("cash_day_closed", day=day.isoformat())):
        db.session.add(close)
    return close


def order_of(entry: CashEntry) -> Order | None:
    return db.session.get(Order, entry.order_id) if entry.order_id else None
