"""The household income ledger: credit a sold line to its households, reverse it on refunds.

Entries are append-only (model guard in `ledger.models`, trigger on PostgreSQL). A balance is always
a SUM over entries. Crediting is idempotent three times over: a look-up before writing, an
`INSERT ... ON CONFLICT DO NOTHING` against the unique (order_line_id, household_id, kind, ref), and
the constraint itself.

Callers:
- stations (shipment delivered / picked up) and tourism (stay or experience completed) call
  `credit_line(line, now=now)`;
- orders calls `reverse_line(line, now=now, amount_fen=..., ref=f"refund:{refund.id}")` on refunds;
- tourism calls `credit_kept(line, amount_fen=..., ref=KEPT_LATE_CANCEL | KEPT_NO_SHOW, now=now)` for
  money a booking keeps although the guest did not stay (docs/MONEY.md, "Tourism").
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ledger.models import BenefitKind, IncomeEntry, IncomeKind
from shop.extensions import db
from shop.money import apply_bps, split_fen
from shop.timeutil import local_date

KIND_FOR_LINE = {"product": IncomeKind.SALE, "booking": IncomeKind.TOURISM}
#: `ref` of the credits of money a booking kept: a late-cancellation fee, a no-show charge.
KEPT_LATE_CANCEL = "kept:late_cancel"
KEPT_NO_SHOW = "kept:no_show"
KEPT_REFS = (KEPT_LATE_CANCEL, KEPT_NO_SHOW)


def producer_share_fen(line, amount_fen: int | None = None) -> int:
    """Line revenue (or `amount_fen` of it) less the station commission."""
    amount = line.line_total_fen if amount_fen is None else int(amount_fen)
    return amount - apply_bps(amount, line.commission_bps or 0)


def _split_items(line) -> list[tuple[int, int]]:
    """[(household_id, weight)] from the line's snapshot, merged by household, weights > 0."""
    merged: dict[int, int] = {}
    for item in line.benefit_split or []:
        try:
            household_id = int(item["household_id"])
            weight = int(item.get("weight", 1))
        except (KeyError, TypeError, ValueError):
            continue
        if weight > 0:
            merged[household_id] = merged.get(household_id, 0) + weight
    return sorted(merged.items())


def expected_credit(line) -> dict[int, int]:
    """{household_id: fen} the line should credit (empty without a benefit split)."""
    items = _split_items(line)
    if not items:
        return {}
    parts = split_fen(producer_share_fen(line), [w for _h, w in items])
    return {household_id: part for (household_id, _w), part in zip(items, parts)}


def _entries(line_id: int, kind: str | None = None) -> list[IncomeEntry]:
    query = db.select(IncomeEntry).where(IncomeEntry.order_line_id == line_id)
    if kind is not None:
        query = query.where(IncomeEntry.kind == kind)
    return list(db.session.scalars(query.order_by(IncomeEntry.id)))


def _insert_ignore(rows: list[dict]) -> None:
    """Insert entries; rows that collide with the unique constraint are silently skipped."""
    if not rows:
        return
    db.session.flush()
    dialect = db.session.get_bind().dialect.name
    unique = ["order_line_id", "household_id", "kind", "ref"]
    statement: sa.Executable
    if dialect == "postgresql":
        statement = postgresql.insert(IncomeEntry.__table__).values(rows).on_conflict_do_nothing(index_elements=unique)
    elif dialect == "sqlite":
        statement = sqlite.insert(IncomeEntry.__table__).values(rows).on_conflict_do_nothing(index_elements=unique)
    else:  # pragma: no cover - only PostgreSQL and SQLite are supported
        for row in rows:
            with db.session.begin_nested():
                db.session.add(IncomeEntry(**row))
        return
    db.session.execute(statement)


def _row(line, *, household_id: int, kind: str, amount_fen: int, split: dict, now: datetime, ref: str = "") -> dict:
    return {
        "household_id": household_id,
        "order_line_id": line.id,
        "kind": str(kind),
        # a line's money is the household's share of a sale it supplied (consignment); its reversals
        # stay in that kind, so every kind's sum is net
        "benefit_kind": BenefitKind.SALE.value,
        "ref": ref,
        "amount_fen": int(amount_fen),
        "split": split,
        "village_id": line.village_id,
        "station_id": line.station_id,
        "category_id": line.category_id,
        "entry_date": local_date(now),
        "created_at": now,
    }


def credit_line(line, *, now: datetime) -> list[IncomeEntry]:
    """Credit the producer share of a delivered product line or completed booking line.

    Returns the line's credit entries (existing ones when already credited; [] without a split or when
    the line is no longer open — canceled or refunded before hand-over).
    """
    kind = KIND_FOR_LINE.get(line.kind)
    if kind is None:
        raise ValueError(f"cannot credit a line of kind {line.kind!r}")
    existing = [e for e in _entries(line.id, kind) if not e.ref]
    if existing:
        return existing
    if (line.status or "open") != "open":  # canceled or refunded before hand-over: nothing to credit
        return []
    items = _split_items(line)
    if not items:
        return []
    share = producer_share_fen(line)
    weights = [w for _h, w in items]
    weight_total = sum(weights)
    parts = split_fen(share, weights)
    rows = [
        _row(
            line,
            household_id=household_id,
            kind=kind,
            amount_fen=part,
            split={
                "producer_share_fen": share,
                "weight": weight,
                "weight_total": weight_total,
                "commission_bps": line.commission_bps or 0,
                "line_total_fen": line.line_total_fen,
            },
            now=now,
        )
        for (household_id, weight), part in zip(items, parts)
    ]
    _insert_ignore(rows)
    return [e for e in _entries(line.id, kind) if not e.ref]


def credit_kept(line, *, amount_fen: int, ref: str, now: datetime) -> list[IncomeEntry]:
    """Credit money a booking line kept although nobody stayed (a late-cancellation fee, a no-show
    charge): the producer share of `amount_fen`, split by the line's snapshot like a stay.

    Whatever the line's status (a canceled line keeps its fee). Once per line and `ref` (the unique
    (order_line_id, household_id, kind, ref)); a second call returns the existing entries. Refunding
    the kept money later reverses it like a sale (`reverse_line`, which reverses every credit of the line).
    """
    if ref not in KEPT_REFS:
        raise ValueError(f"unknown kept-money ref {ref!r}")
    kind = KIND_FOR_LINE.get(line.kind)
    if kind != IncomeKind.TOURISM:
        raise ValueError(f"only booking lines keep fees, not {line.kind!r}")
    existing = [e for e in _entries(line.id, kind) if e.ref == ref]
    if existing:
        return existing
    amount = int(amount_fen)
    items = _split_items(line)
    if amount <= 0 or not items:
        return []
    share = producer_share_fen(line, min(amount, line.line_total_fen))
    weights = [w for _h, w in items]
    parts = split_fen(share, weights)
    rows = [
        _row(
            line,
            household_id=household_id,
            kind=kind,
            amount_fen=part,
            split={
                "producer_share_fen": share,
                "weight": weight,
                "weight_total": sum(weights),
                "commission_bps": line.commission_bps or 0,
                "kept_fen": amount,
                "ref": ref,
            },
            now=now,
            ref=ref,
        )
        for (household_id, weight), part in zip(items, parts)
        if part > 0
    ]
    _insert_ignore(rows)
    return [e for e in _entries(line.id, kind) if e.ref == ref]


def expected_kept_credit(line, amount_fen: int) -> dict[int, int]:
    """{household_id: fen} that `amount_fen` kept on a booking line should credit."""
    items = _split_items(line)
    if not items or amount_fen <= 0:
        return {}
    parts = split_fen(producer_share_fen(line, min(int(amount_fen), line.line_total_fen)), [w for _h, w in items])
    return {household_id: part for (household_id, _w), part in zip(items, parts) if part > 0}


def reverse_line(line, *, now: datetime, amount_fen: int | None = None, ref: str | None = None) -> list[IncomeEntry]:
    """Write `reversal` entries negating the line's credit.

    `amount_fen=None` reverses whatever is still credited (full refund / cancellation). A partial
    refund passes the refunded part of the line revenue: its producer share (less commission) is
    reversed, split over the households in proportion to what each still holds from this line, so
    the reversals can never exceed the credit. Idempotent per `ref` (default: "full" for a full
    reversal, "part:<amount>" for a partial one; pass e.g. ref=f"refund:{refund.id}" when one line
    may see several partial refunds of the same amount). Nothing credited → nothing to reverse.
    """
    if ref is None:
        ref = "full" if amount_fen is None else f"part:{int(amount_fen)}"
    ref = str(ref)[:40]
    # serialise reversals of one line (two partial refunds at once must not both see the full credit):
    # lock the line's row through its own mapped class (the ledger does not import orders)
    line_class = type(line)
    db.session.execute(sa.select(line_class.id).where(line_class.id == line.id).with_for_update())
    if db.session.scalar(
        db.select(sa.func.count())
        .select_from(IncomeEntry)
        .where(IncomeEntry.order_line_id == line.id, IncomeEntry.kind == IncomeKind.REVERSAL, IncomeEntry.ref == ref)
    ):
        return [e for e in _entries(line.id, IncomeKind.REVERSAL) if e.ref == ref]
    held: dict[int, int] = {}
    for entry in _entries(line.id):
        held[entry.household_id] = held.get(entry.household_id, 0) + entry.amount_fen
    remaining = sum(v for v in held.values() if v > 0)
    if remaining <= 0:
        return []
    if amount_fen is None:
        to_reverse = remaining
    else:
        if int(amount_fen) <= 0:
            return []
        to_reverse = min(producer_share_fen(line, amount_fen), remaining)
        if to_reverse <= 0:
            return []
    households = sorted(h for h, v in held.items() if v > 0)
    weights = [held[h] for h in households]
    parts = split_fen(to_reverse, weights)
    rows = [
        _row(
            line,
            household_id=household_id,
            kind=IncomeKind.REVERSAL,
            amount_fen=-part,
            split={"reversed_fen": to_reverse, "held_fen": held[household_id], "refund_fen": amount_fen, "ref": ref},
            now=now,
            ref=ref,
        )
        for household_id, part in zip(households, parts)
        if part > 0
    ]
    _insert_ignore(rows)
    return [e for e in _entries(line.id, IncomeKind.REVERSAL) if e.ref == ref]


def has_credit(line) -> bool:
    return bool(
        db.session.scalar(
            db.select(sa.func.count())
            .select_from(IncomeEntry)
            .where(
                IncomeEntry.order_line_id == line.id,
                IncomeEntry.kind.in_([IncomeKind.SALE, IncomeKind.TOURISM]),
            )
        )
    )


def household_balance_fen(household_id: int, *, until: date | None = None) -> int:
    """SUM of a household's entries (up to and including the Beijing date `until`)."""
    query = db.select(sa.func.coalesce(sa.func.sum(IncomeEntry.amount_fen), 0)).where(
        IncomeEntry.household_id == household_id
    )
    if until is not None:
        query = query.where(IncomeEntry.entry_date <= until)
    return int(db.session.scalar(query) or 0)
