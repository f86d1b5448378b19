"""The county's daily summaries of the ledger, kept by the ledger itself (docs/MONEY.md "County figures
at volume").

`income_daily` (`ledger.models.IncomeDaily`) is the income entries summed by Beijing day, household,
village, station, category, entry kind and benefit kind; `sale_daily` (`SaleDaily`) is the sale figures
summed by day, village, station and category (ids 0 for none). The county reports read them instead of
millions of rows, so they must always equal a GROUP BY of the rows, to the fen.

How they are kept:

1. Every INSERT of entries or figures goes through `ledger.services` (`insert_entries`, and the sale
   figures it writes), which passes the rows the INSERT returned here (`add_entries`, `add_figures`):
   a row skipped as a duplicate (`ON CONFLICT DO NOTHING`) adds nothing.
2. The amounts wait in the session (`Session.info`), with the transaction or savepoint they were written
   in; a rolled-back transaction or savepoint forgets its own (`after_soft_rollback`).
3. Just before the transaction commits (`before_commit`), `apply_pending` sums them by summary row and
   writes them with one `INSERT ... ON CONFLICT DO UPDATE` per summary table (`income_daily`, then
   `sale_daily`), its rows in sorted key order. A reader in the same transaction (the county reports)
   calls `apply_pending()` first, as the session's autoflush does for rows.

Why at the end and sorted: a summary row is shared by every hand-over, refund and stay of its day and
key. A transaction that locks its summary rows as its last write, in one global order, can only wait
for another, never deadlock with it; the row-by-row triggers this replaces locked them in whatever
order the entries came and held them for the rest of the transaction (two hand-overs of lines of two
categories in opposite orders deadlocked).

The hooks are installed by `ledger.init_app` (installing twice is harmless). Rows written around the
ledger (a bulk COPY) are summed again from scratch by the statements of `REBUILD`.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session, SessionTransaction

from ledger.models import IncomeDaily, SaleDaily
from shop.extensions import db

#: The key of an `income_daily` row, in sort order.
INCOME_KEYS = ("entry_date", "household_id", "village_id", "station_id", "category_id", "kind", "benefit_kind")
#: The key of a `sale_daily` row, in sort order.
SALE_KEYS = ("entry_date", "village_id", "station_id", "category_id")
#: The amounts of a sale figure (`ledger.models.SaleFigure`) its summary sums.
SALE_PARTS = ("sale_fen", "household_fen", "commission_fen", "collective_fen", "purchased_fen")
#: Columns of the entries and figures that `add_entries` and `add_figures` read (the INSERTs return them).
ENTRY_COLUMNS = (*INCOME_KEYS, "amount_fen")
FIGURE_COLUMNS = (*SALE_KEYS, *SALE_PARTS)
#: Ids that may be NULL on the rows are 0 in the summaries (a primary key has no NULL).
_NULLABLE_IDS = ("village_id", "station_id", "category_id")
#: Rows per upsert statement (the rows of all statements stay in one sorted order).
_CHUNK = 500

_PENDING = "ledger_summaries_pending"


@dataclass(frozen=True)
class _Pending:
    """Amounts for one summary row, written in `transaction` (a savepoint, or the session's own)."""

    transaction: SessionTransaction
    table: str  # "income_daily" or "sale_daily"
    key: tuple
    amounts: tuple[int, ...]  # the summed columns' increments, the count (1) last


def _summary_key(row: Mapping[Any, Any], keys: tuple[str, ...]) -> tuple:
    return tuple((row[k] or 0) if k in _NULLABLE_IDS else row[k] for k in keys)


def _remember(session: Session, items: list[_Pending]) -> None:
    if items:
        session.info.setdefault(_PENDING, []).extend(items)


def _current_transaction(session: Session) -> SessionTransaction:
    transaction = session.get_nested_transaction() or session.get_transaction()
    if transaction is None:  # never: the rows were just inserted in one
        raise RuntimeError("ledger summaries: no transaction to keep the amounts in")
    return transaction


def add_entries(rows: Iterable[Mapping[Any, Any]], *, session: Session | None = None) -> None:
    """Income entries just inserted (mappings with `ENTRY_COLUMNS`): their amounts go into `income_daily`
    when the transaction commits."""
    session = session if session is not None else db.session()
    transaction = _current_transaction(session)
    _remember(
        session,
        [
            _Pending(transaction, "income_daily", _summary_key(row, INCOME_KEYS), (int(row["amount_fen"]), 1))
            for row in rows
        ],
    )


def add_figures(rows: Iterable[Mapping[Any, Any]], *, session: Session | None = None) -> None:
    """Sale figures just inserted (mappings with `FIGURE_COLUMNS`): their parts go into `sale_daily`
    when the transaction commits."""
    session = session if session is not None else db.session()
    transaction = _current_transaction(session)
    _remember(
        session,
        [
            _Pending(transaction, "sale_daily", _summary_key(row, SALE_KEYS), (*(int(row[p]) for p in SALE_PARTS), 1))
            for row in rows
        ],
    )


def _summed(pending: list[_Pending], table: str) -> list[tuple[tuple, list[int]]]:
    """The pending amounts of `table` summed by key, in key order (the lock order)."""
    sums: dict[tuple, list[int]] = {}
    for item in pending:
        if item.table != table:
            continue
        total = sums.get(item.key)
        if total is None:
            sums[item.key] = list(item.amounts)
        else:
            for index, amount in enumerate(item.amounts):
                total[index] += amount
    return sorted(sums.items(), key=lambda pair: pair[0])


def _upsert(session: Session, model, keys: tuple[str, ...], columns: tuple[str, ...], rows) -> None:
    """Add `rows` [(key, amounts)] to the summary table of `model`, in their order, one statement per chunk."""
    if not rows:
        return
    table = model.__table__
    insert = postgresql.insert if session.get_bind().dialect.name == "postgresql" else sqlite.insert
    for start in range(0, len(rows), _CHUNK):
        values = [
            {**dict(zip(keys, key)), **dict(zip(columns, amounts))} for key, amounts in rows[start : start + _CHUNK]
        ]
        statement = insert(table).values(values)
        statement = statement.on_conflict_do_update(
            index_elements=list(keys),
            set_={column: table.c[column] + statement.excluded[column] for column in columns},
        )
        session.execute(statement)


def apply_pending(session: Session | None = None) -> None:
    """Write what this transaction added to the summaries: `income_daily` then `sale_daily`, each in
    sorted key order (see the module docstring). Called before every commit, and by readers of the
    summaries in a transaction that may have written rows."""
    session = session if session is not None else db.session()
    pending = session.info.pop(_PENDING, None)
    if not pending:
        return
    _upsert(session, IncomeDaily, INCOME_KEYS, ("amount_fen", "entries"), _summed(pending, "income_daily"))
    _upsert(session, SaleDaily, SALE_KEYS, (*SALE_PARTS, "lines"), _summed(pending, "sale_daily"))


def _within(transaction: SessionTransaction | None, ancestor: SessionTransaction) -> bool:
    while transaction is not None:
        if transaction is ancestor:
            return True
        transaction = transaction.parent
    return False


def _before_commit(session: Session) -> None:
    apply_pending(session)


def _after_soft_rollback(session: Session, previous_transaction: SessionTransaction) -> None:
    """Forget the amounts written in the rolled-back transaction or savepoint (and savepoints inside it)."""
    pending = session.info.get(_PENDING)
    if pending:
        session.info[_PENDING] = [p for p in pending if not _within(p.transaction, previous_transaction)]


def install_session_hooks() -> None:
    """Apply the pending amounts before every commit; forget them on rollback. Installed by the app
    factory through `ledger.init_app` (installing twice is harmless)."""
    if not event.contains(Session, "before_commit", _before_commit):
        event.listen(Session, "before_commit", _before_commit)
    if not event.contains(Session, "after_soft_rollback", _after_soft_rollback):
        event.listen(Session, "after_soft_rollback", _after_soft_rollback)


#: Sum both summaries again from the rows (after a bulk load that bypassed the ledger, a migration).
REBUILD = (
    "DELETE FROM income_daily",
    f"INSERT INTO income_daily ({', '.join(INCOME_KEYS)}, amount_fen, entries) "
    "SELECT entry_date, household_id, COALESCE(village_id, 0), COALESCE(station_id, 0), COALESCE(category_id, 0), "
    "kind, benefit_kind, SUM(amount_fen), COUNT(*) FROM income_entries "
    "GROUP BY entry_date, household_id, COALESCE(village_id, 0), COALESCE(station_id, 0), "
    "COALESCE(category_id, 0), kind, benefit_kind",
    "DELETE FROM sale_daily",
    f"INSERT INTO sale_daily ({', '.join(SALE_KEYS)}, {', '.join(SALE_PARTS)}, lines) SELECT entry_date, "
    "COALESCE(village_id, 0), COALESCE(station_id, 0), COALESCE(category_id, 0), "
    + ", ".join(f"SUM({p})" for p in SALE_PARTS)
    + ", COUNT(*) FROM sale_figures GROUP BY entry_date, COALESCE(village_id, 0), COALESCE(station_id, 0), "
    "COALESCE(category_id, 0)",
)
