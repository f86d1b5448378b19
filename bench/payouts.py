"""The payout batch of a month (issue #20), in process against the bench database:

    DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/bench .venv/bin/python -m bench.payouts [--out FILE]

After `bench.volume generate` (12,000 registered households with payment accounts, a year of orders and
a month of recorded benefits): everything dated before the last 30 days is paid first, as the county
would have paid it month by month (one settled batch written by set-based SQL; not measured, kept for
the next run). Then the county's batch of the last 30 days is created (`county.services.payouts.create_batch`,
committed) and its bank file exported (`export_batch`), each timed with the wall clock; the figures are
printed as JSON (and written to `--out`), with this process's CPU seconds and the PostgreSQL backend's
(from /proc: the bench's database runs on this machine) beside the wall clock, steadier than it on a
shared machine. The measured batch is deleted afterwards, so that the next run (`bench.run
--reuse-data`) measures the same work again. Target: create + export under 10 s.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import datetime, timedelta, timezone

import sqlalchemy as sa

from bench.volume import BEIJING, bench_app

TARGET_S = 10.0
#: The measured batch covers the last 30 days (Beijing dates, today included).
MONTH_DAYS = 30


def _pay_history(db, cutoff, now) -> int:
    """Pay everything dated up to `cutoff`, once (not measured): one settled batch, a paid line per
    household, an item per entry, their `payables` rows deleted — set-based SQL on the freshly loaded
    data, where nothing was paid yet, in one pass instead of a year of monthly batches."""
    if db.session.scalar(sa.text("SELECT count(*) FROM payout_batches WHERE code = 'BENCH-HISTORY'")):
        return 0
    first = db.session.scalar(sa.text("SELECT min(entry_date) FROM income_entries"))
    if first is None or first > cutoff:
        return 0
    batch_id = db.session.scalar(
        sa.text(
            "INSERT INTO payout_batches (code, period_from, period_to, scope, status, skipped_no_account, "
            "created_at, settled_at) VALUES ('BENCH-HISTORY', :f, :t, 'county', 'settled', 0, :now, :now) "
            "RETURNING id"
        ),
        {"f": first, "t": cutoff, "now": now},
    )
    lines = db.session.execute(
        sa.text(
            "INSERT INTO payout_lines (batch_id, household_id, amount_fen, status, account_kind, account_number, "
            "holder_name, bank_name, bank_ref, failure_reason, settled_at) "
            "SELECT :b, s.household_id, s.total, 'paid', a.kind, a.number, a.holder_name, a.bank_name, "
            "'BENCH-HISTORY', '', :now FROM (SELECT household_id, sum(amount_fen) AS total FROM income_entries "
            "WHERE entry_date <= :t GROUP BY household_id HAVING sum(amount_fen) > 0) s "
            "JOIN payment_accounts a ON a.household_id = s.household_id"
        ),
        {"b": batch_id, "t": cutoff, "now": now},
    ).rowcount
    db.session.execute(
        sa.text(
            "INSERT INTO payout_items (line_id, entry_id, amount_fen, released) "
            "SELECT l.id, e.id, e.amount_fen, false FROM income_entries e "
            "JOIN payout_lines l ON l.household_id = e.household_id AND l.batch_id = :b WHERE e.entry_date <= :t"
        ),
        {"b": batch_id, "t": cutoff},
    )
    # what the items hold is no longer payable (as `create_batch` does)
    db.session.execute(
        sa.text(
            "DELETE FROM payables p USING payout_items i, payout_lines l "
            "WHERE i.entry_id = p.entry_id AND l.id = i.line_id AND l.batch_id = :b"
        ),
        {"b": batch_id},
    )
    db.session.commit()
    db.session.execute(sa.text("ANALYZE payout_items"))
    db.session.execute(sa.text("ANALYZE payables"))
    db.session.commit()
    return int(lines or 0)


def _vacuum(db) -> None:
    """VACUUM (ANALYZE) the payout tables before the measured batch, as autovacuum does between two
    monthly batches in production: the history step just deleted some 3.4 M `payables` rows, and a
    previous run's undo (`_delete_batch`) deleted and re-inserted a month of them, so without it the
    batch would wade through millions of dead rows no county's table carries a month later."""
    db.session.commit()
    with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
        conn.execute(sa.text("VACUUM (ANALYZE) payables, payout_items, payout_lines, payout_batches"))


def _delete_batch(db, batch_id: int) -> None:
    """Undo a batch: its entries are payable again (their `payables` rows back), its items, lines and
    the batch deleted."""
    db.session.execute(
        sa.text(
            "INSERT INTO payables (entry_id, household_id, entry_date, amount_fen) "
            "SELECT e.id, e.household_id, e.entry_date, e.amount_fen FROM payout_items i "
            "JOIN payout_lines l ON l.id = i.line_id JOIN income_entries e ON e.id = i.entry_id "
            "WHERE l.batch_id = :b AND NOT i.released"
        ),
        {"b": batch_id},
    )
    db.session.execute(
        sa.text("DELETE FROM payout_items WHERE line_id IN (SELECT id FROM payout_lines WHERE batch_id = :b)"),
        {"b": batch_id},
    )
    db.session.execute(sa.text("DELETE FROM payout_lines WHERE batch_id = :b"), {"b": batch_id})
    db.session.execute(sa.text("DELETE FROM payout_batches WHERE id = :b"), {"b": batch_id})
    db.session.commit()


def _backend_cpu(pid: int | None) -> float | None:
    """CPU seconds (user + system) the PostgreSQL backend `pid` has used so far, from /proc (the bench's
    PostgreSQL runs on this machine); None where that cannot be read."""
    if pid is None:
        return None
    try:
        with open(f"/proc/{pid}/stat") as fh:
            fields = fh.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _cpu_spent(pid: int | None, since: float | None) -> float | None:
    now = _backend_cpu(pid)
    return None if now is None or since is None else round(now - since, 3)


def measure() -> dict:
    from county.services import payouts
    from shop.extensions import db

    app = bench_app()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    today = now.astimezone(BEIJING).date()
    period_from = today - timedelta(days=MONTH_DAYS - 1)
    with app.app_context():
        started = time.monotonic()
        history = _pay_history(db, period_from - timedelta(days=1), now)
        history_s = time.monotonic() - started
        stale = db.session.scalar(
            sa.text("SELECT id FROM payout_batches WHERE period_from = :f AND period_to = :t AND scope = 'county'"),
            {"f": period_from, "t": today},
        )
        if stale is not None:  # a run that stopped before cleaning up
            _delete_batch(db, stale)
        _vacuum(db)
        households = db.session.scalar(sa.text("SELECT count(*) FROM households"))
        accounts = db.session.scalar(sa.text("SELECT count(*) FROM payment_accounts"))
        # the backend serving each step's transaction (the session holds one connection until the commit)
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        t0, c0, p0 = time.monotonic(), time.process_time(), _backend_cpu(pid)
        batch = payouts.create_batch(period_from=period_from, period_to=today, actor=None, now=now).batch
        db.session.commit()
        t1, c1, create_pg = time.monotonic(), time.process_time(), _cpu_spent(pid, p0)
        pid = db.session.scalar(sa.text("SELECT pg_backend_pid()"))
        p1 = _backend_cpu(pid)
        body = payouts.export_batch(batch, actor=None, now=now)
        db.session.commit()
        t2, c2, export_pg = time.monotonic(), time.process_time(), _cpu_spent(pid, p1)
        items = db.session.scalar(
            sa.text(
                "SELECT count(*) FROM payout_items i JOIN payout_lines l ON l.id = i.line_id WHERE l.batch_id = :b"
            ),
            {"b": batch.id},
        )
        out = {
            "households": int(households or 0),
            "payment_accounts": int(accounts or 0),
            "period": f"{period_from}..{today}",
            "lines": len(batch.lines),
            "entries": int(items or 0),
            "total_fen": sum(line.amount_fen for line in batch.lines),
            "create_s": round(t1 - t0, 3),
            "export_s": round(t2 - t1, 3),
            "total_s": round(t2 - t0, 3),
            # this process's CPU (the shop's Python; PostgreSQL's work is not in it): steadier than the
            # wall clock on a shared machine
            "create_cpu_s": round(c1 - c0, 3),
            "export_cpu_s": round(c2 - c1, 3),
            # the PostgreSQL backend's CPU for the same steps (None if /proc cannot tell)
            "create_pg_cpu_s": create_pg,
            "export_pg_cpu_s": export_pg,
            "file_bytes": len(body),
            "history_lines": history,
            "history_s": round(history_s, 1),
            "target_s": TARGET_S,
        }
        _delete_batch(db, batch.id)
        db.session.remove()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.payouts", description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", help="write the figures (JSON) here")
    args = parser.parse_args(argv)
    figures = measure()
    text = json.dumps(figures, ensure_ascii=False)
    print(text)
    if args.out:
        with open(args.out, "w") as fh:
            fh.write(text)
    return 0 if figures["total_s"] < TARGET_S else 1


if __name__ == "__main__":
    sys.exit(main())
