"""The household income ledger: credit a sold line to its households, reverse it on refunds.

Entries are append-only (model guard in `ledger.models`, trigger on PostgreSQL). A balance is always
a SUM over entries. Every entry and sale figure is written here (`insert_entries`, `_write_figure`),
which tells `ledger.summaries` what it wrote (the county's daily summaries follow in the same
transaction). Crediting is idempotent three times over: a look-up before writing, an
`INSERT ... ON CONFLICT DO NOTHING` against the unique (order_line_id, household_id, kind, ref), and
the constraint itself.

Callers:
- stations (shipment delivered / picked up) and tourism (stay or experience completed) call
  `credit_line(line, now=now)`;
- orders calls `reverse_units(line, refunded_units=..., ref=f"refund:{refund.id}", now=now)` when a
  product line's units are refunded (some of them or all), `reverse_line(line, now=now,
  amount_fen=..., ref=f"refund:{refund.id}")` on refunds of a booking line's money;
- tourism calls `credit_kept(line, amount_fen=..., ref=KEPT_LATE_CANCEL | KEPT_NO_SHOW, now=now)` for
  money a booking keeps although the guest did not stay (docs/MONEY.md, "Tourism").
"""

from __future__ import annotations

from datetime import date, datetime

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite

from ledger.models import BenefitKind, IncomeEntry, IncomeKind, SaleFigure
from ledger.payouts import add_payables
from ledger.summaries import ENTRY_COLUMNS, FIGURE_COLUMNS, add_entries, add_figures
from shop.extensions import db
from shop.money import apply_bps, scaled_fen, split_fen
from shop.timeutil import local_date
from stock.models import Lot, LotAllocation

KIND_FOR_LINE = {"product": IncomeKind.SALE, "booking": IncomeKind.TOURISM}
#: `ref` of the credits of money a booking kept: a late-cancellation fee, a no-show charge.
KEPT_LATE_CANCEL = "kept:late_cancel"
KEPT_NO_SHOW = "kept:no_show"
KEPT_REFS = (KEPT_LATE_CANCEL, KEPT_NO_SHOW)


def purchased_units(line) -> int:
    """How many of a product line's units come from lots bought at intake (`Lot.purchase_price_fen`):
    their household was credited `purchase` at intake, so selling them credits no household again."""
    if line.kind != "product" or line.id is None:
        return 0
    units = db.session.scalar(
        sa.select(sa.func.coalesce(sa.func.sum(LotAllocation.allocated + LotAllocation.consumed), 0))
        .join(Lot, Lot.id == LotAllocation.lot_id)
        .where(LotAllocation.order_line_id == line.id, Lot.purchase_price_fen.is_not(None))
    )
    return min(int(units or 0), int(line.quantity or 0))


def sale_parts(line, amount_fen: int | None = None) -> dict[str, int]:
    """Where `amount_fen` of the line's money (default: the line total) goes, to the fen:
    {"sale_fen", "purchased_fen", "commission_fen", "share_fen"} with sale = purchased + commission + share.
    Units bought at intake make up `purchased_fen` (by units, rounded in their favour); the station's
    commission is taken on the consigned rest, and `share_fen` is the producer share of the consigned
    units, which the line's households share (or, with no household linked, the collective)."""
    amount = line.line_total_fen if amount_fen is None else int(amount_fen)
    quantity = int(line.quantity or 0)
    purchased_units_ = purchased_units(line)
    if purchased_units_ <= 0 or quantity <= 0:
        consigned = amount
    else:
        consigned = amount * (quantity - purchased_units_) // quantity
    commission = apply_bps(consigned, line.commission_bps or 0)
    return {
        "sale_fen": amount,
        "purchased_fen": amount - consigned,
        "commission_fen": commission,
        "share_fen": consigned - commission,
    }


def producer_share_fen(line, amount_fen: int | None = None) -> int:
    """What the line's households share of its revenue (or `amount_fen` of it): the consigned units'
    part less the station commission (`sale_parts`)."""
    return sale_parts(line, amount_fen)["share_fen"]


def _write_figure(line, *, ref: str, parts: dict[str, int], household_fen: int, now: datetime) -> None:
    """One `SaleFigure` row (once per line and ref): the rest of the money after households, commission
    and purchased units is the collective's."""
    row = {
        "order_line_id": line.id,
        "ref": ref,
        "sale_fen": parts["sale_fen"],
        "household_fen": household_fen,
        "commission_fen": parts["commission_fen"],
        "purchased_fen": parts["purchased_fen"],
        "collective_fen": parts["sale_fen"] - household_fen - parts["commission_fen"] - parts["purchased_fen"],
        "village_id": line.village_id,
        "station_id": line.station_id,
        "category_id": line.category_id,
        "entry_date": local_date(now),
        "created_at": now,
    }
    db.session.flush()
    statement = _insert(SaleFigure).values(row).on_conflict_do_nothing(index_elements=["order_line_id", "ref"])
    written = db.session.execute(statement.returning(*(SaleFigure.__table__.c[c] for c in FIGURE_COLUMNS)))
    add_figures(written.mappings())


def _figure_totals(line_id: int) -> dict[str, int]:
    """Net sums of a line's sale figures so far."""
    row = db.session.execute(
        sa.select(
            sa.func.coalesce(sa.func.sum(SaleFigure.sale_fen), 0),
            sa.func.coalesce(sa.func.sum(SaleFigure.purchased_fen), 0),
            sa.func.coalesce(sa.func.sum(SaleFigure.commission_fen), 0),
        ).where(SaleFigure.order_line_id == line_id)
    ).one()
    return {"sale_fen": int(row[0]), "purchased_fen": int(row[1]), "commission_fen": int(row[2])}


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
    """{household_id: fen} the line should credit (empty without a benefit split, or when every unit
    was bought at intake)."""
    items = _split_items(line)
    share = producer_share_fen(line) if items else 0
    if share <= 0:
        return {}
    parts = split_fen(share, [w for _h, w in items])
    return {household_id: part for (household_id, _w), part in zip(items, parts)}


def _entries(line_id: int, kind: str | None = None) -> list[IncomeEntry]:
    query = db.select(IncomeEntry).where(IncomeEntry.order_line_id == line_id)
    if kind is not None:
        query = query.where(IncomeEntry.kind == kind)
    return list(db.session.scalars(query.order_by(IncomeEntry.id)))


def _insert(model):
    """The INSERT construct of the session's dialect for `model` (ON CONFLICT and RETURNING are
    spelled alike on PostgreSQL and SQLite, the two databases the shop runs on)."""
    dialect = db.session.get_bind().dialect.name
    return (postgresql.insert if dialect == "postgresql" else sqlite.insert)(model.__table__)


def insert_entries(rows: list[dict]) -> int:
    """Insert ledger entries (dicts of `IncomeEntry` columns) — the one way entries are written, so the
    county's daily summary follows them (`ledger.summaries`) and each is payable (`ledger.payouts.Payable`). A row that collides with the unique
    (order_line_id, household_id, kind, ref) is skipped and adds nothing. Returns how many were written."""
    if not rows:
        return 0
    db.session.flush()
    statement = (
        _insert(IncomeEntry)
        .values(rows)
        .on_conflict_do_nothing(index_elements=["order_line_id", "household_id", "kind", "ref"])
    )
    columns = IncomeEntry.__table__.c
    written = db.session.execute(statement.returning(columns.id, *(columns[c] for c in ENTRY_COLUMNS)))
    inserted = list(written.mappings())
    add_entries(inserted)
    add_payables(inserted)  # what is credited is payable (docs/MONEY.md "Payouts")
    return len(inserted)


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
    money = sale_parts(line)
    items = _split_items(line)
    share = money["share_fen"]
    if not items or share <= 0:  # no household linked, or every unit was bought at intake
        _write_figure(line, ref="", parts=money, household_fen=0, now=now)
        return []
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
                **({"purchased_fen": money["purchased_fen"]} if money["purchased_fen"] else {}),
            },
            now=now,
        )
        for (household_id, weight), part in zip(items, parts)
    ]
    insert_entries(rows)
    credited = [e for e in _entries(line.id, kind) if not e.ref]
    _write_figure(line, ref="", parts=money, household_fen=sum(e.amount_fen for e in credited), now=now)
    return credited


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
    if amount <= 0:
        return []
    money = sale_parts(line, min(amount, line.line_total_fen))
    share = money["share_fen"]
    if not items:
        _write_figure(line, ref=ref, parts=money, household_fen=0, now=now)
        return []
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
    insert_entries(rows)
    credited = [e for e in _entries(line.id, kind) if e.ref == ref]
    _write_figure(line, ref=ref, parts=money, household_fen=sum(e.amount_fen for e in credited), now=now)
    return credited


def expected_kept_credit(line, amount_fen: int) -> dict[int, int]:
    """{household_id: fen} that `amount_fen` kept on a booking line should credit."""
    items = _split_items(line)
    if not items or amount_fen <= 0:
        return {}
    parts = split_fen(producer_share_fen(line, min(int(amount_fen), line.line_total_fen)), [w for _h, w in items])
    return {household_id: part for (household_id, _w), part in zip(items, parts) if part > 0}


def _lock_line(line) -> None:
    """Lock the order line's row, so that two reversals of one line take turns; through the line's own
    mapped class (the ledger does not import orders)."""
    line_class = type(line)
    db.session.execute(sa.select(line_class.id).where(line_class.id == line.id).with_for_update())


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
    _lock_line(line)  # two partial refunds at once must not both see the full credit
    if db.session.scalar(
        db.select(sa.func.count())
        .select_from(IncomeEntry)
        .where(IncomeEntry.order_line_id == line.id, IncomeEntry.kind == IncomeKind.REVERSAL, IncomeEntry.ref == ref)
    ):
        return [e for e in _entries(line.id, IncomeKind.REVERSAL) if e.ref == ref]
    if amount_fen is not None and int(amount_fen) <= 0:
        return []
    # the money given back, out of the sale figures written so far (nothing was credited: nothing to take)
    sold = _figure_totals(line.id)
    if sold["sale_fen"] > 0 and not db.session.scalar(
        sa.select(sa.func.count())
        .select_from(SaleFigure)
        .where(SaleFigure.order_line_id == line.id, SaleFigure.ref == ref)
    ):
        if amount_fen is None or int(amount_fen) >= sold["sale_fen"]:
            # everything that is left: the figures of the line come back to zero exactly
            money = {
                "sale_fen": -sold["sale_fen"],
                "purchased_fen": -sold["purchased_fen"],
                "commission_fen": -sold["commission_fen"],
            }
        else:
            part = sale_parts(line, int(amount_fen))
            money = {k: -part[k] for k in ("sale_fen", "purchased_fen", "commission_fen")}
    else:
        money = None
    held: dict[int, int] = {}
    for entry in _entries(line.id):
        held[entry.household_id] = held.get(entry.household_id, 0) + entry.amount_fen
    remaining = sum(v for v in held.values() if v > 0)
    if amount_fen is None:
        to_reverse = remaining
    else:
        to_reverse = max(0, min(producer_share_fen(line, amount_fen), remaining))
    if to_reverse <= 0:
        if money is not None:
            _write_figure(line, ref=ref, parts=money, household_fen=0, now=now)
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
    insert_entries(rows)
    reversed_ = [e for e in _entries(line.id, IncomeKind.REVERSAL) if e.ref == ref]
    if money is not None:
        _write_figure(line, ref=ref, parts=money, household_fen=sum(e.amount_fen for e in reversed_), now=now)
    return reversed_


def _credited_by_household(entries: list[IncomeEntry]) -> dict[int, int]:
    """{household id: fen} the line's sale credit (ref "") gave each household, of its `entries`."""
    found: dict[int, int] = {}
    for entry in entries:
        if entry.kind != IncomeKind.REVERSAL and not entry.ref:
            found[entry.household_id] = found.get(entry.household_id, 0) + entry.amount_fen
    return found


def unit_reversal_due(line, refunded_units: int, *, credited: dict[int, int] | None = None) -> dict[int, int]:
    """{household id: fen (positive)} that `refunded_units` of the line's units, refunded in any
    number of steps, must have reversed in all: each household's own credit scaled to the units
    (`scaled_fen`: round(credit × refunded ÷ quantity), halves up). Rounded household by household, so
    a household's figure only grows with the units (no refund step ever gives a household money
    back), it is within half a fen of its exact share, and every unit refunded is exactly its credit.
    The households' total may differ from their summed credit scaled by a fen or two; the sale figure's
    collective part takes that rest (`_write_figure`). What the reconciliation checks a partly refunded
    line against. `credited`: the line's sale credit by household when the caller has read it already
    (the reconciliation reads every line's at once); else read here."""
    if credited is None:
        credited = _credited_by_household(_entries(line.id))
    quantity = int(line.quantity)
    return {h: scaled_fen(credited[h], refunded_units, quantity) for h in sorted(credited) if credited[h] > 0}


def reverse_units(line, *, refunded_units: int, ref: str, now: datetime) -> list[IncomeEntry]:
    """Reverse the credit of a product line's refunded units by rows, to the fen: `refunded_units` is
    how many units are refunded so far, this refund's included. Each part of the credited sale (sale,
    purchased, commission, each household: `unit_reversal_due`) is reversed cumulatively —
    round(credited × refunded ÷ quantity) less what earlier refunds of the line reversed — so every
    step is the credited split scaled to the units refunded so far, and once every unit is refunded
    (in any number of steps) the line's net credit and its sale figures are exactly zero. The
    collective's part is the rest (`_write_figure`). Idempotent per `ref`; the line's row is locked
    (two refunds of one line take turns). Nothing credited: nothing reversed."""
    ref = str(ref)[:40]
    _lock_line(line)
    if db.session.scalar(
        sa.select(sa.func.count())
        .select_from(SaleFigure)
        .where(SaleFigure.order_line_id == line.id, SaleFigure.ref == ref)
    ):
        return [e for e in _entries(line.id, IncomeKind.REVERSAL) if e.ref == ref]
    quantity = int(line.quantity)
    units = max(0, min(int(refunded_units), quantity))
    figures = list(db.session.scalars(sa.select(SaleFigure).where(SaleFigure.order_line_id == line.id)))
    credit = [f for f in figures if f.ref == ""]
    if not credit or units <= 0:
        return []
    money: dict[str, int] = {}
    for key in ("sale_fen", "purchased_fen", "commission_fen"):
        credited = sum(getattr(f, key) for f in credit)
        reversed_ = -sum(getattr(f, key) for f in figures if f.ref != "")
        money[key] = -(scaled_fen(credited, units, quantity) - reversed_)
    entries = _entries(line.id)  # read once: the sale credit by household, and what was reversed so far
    due = unit_reversal_due(line, units, credited=_credited_by_household(entries))
    held: dict[int, int] = {}
    for entry in entries:
        if entry.kind == IncomeKind.REVERSAL:
            held[entry.household_id] = held.get(entry.household_id, 0) - entry.amount_fen
    rows = []
    for household_id, target in due.items():
        step = target - held.get(household_id, 0)
        if step:
            rows.append(
                _row(
                    line,
                    household_id=household_id,
                    kind=IncomeKind.REVERSAL,
                    amount_fen=-step,
                    split={"refunded_units": units, "quantity": quantity, "reversed_to_date_fen": target, "ref": ref},
                    now=now,
                    ref=ref,
                )
            )
    insert_entries(rows)
    reversed_rows = [e for e in _entries(line.id, IncomeKind.REVERSAL) if e.ref == ref]
    _write_figure(line, ref=ref, parts=money, household_fen=sum(e.amount_fen for e in reversed_rows), now=now)
    return reversed_rows


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
