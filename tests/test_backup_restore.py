"""Backups: scripts/backup.sh dumps, scripts/restore.sh restores into a fresh database, and the ledger
and the audit log come back intact (issue #10, README "Backups").

Real commits (`committed_db`): pg_dump runs in its own session and only sees committed rows. The
restored database is dropped at the end whatever happens.
"""

from __future__ import annotations

import os
import subprocess
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from ledger.services import credit_line, reverse_line
from shop.audit import record_audit
from shop.db import commit
from stations.services import assisted
from tests.conftest import TEST_DATABASE_URL, requires_postgres
from tests.factories import NOW, make_household, make_product, make_station, make_user
from tests.orders.factories import make_order

ROOT = Path(__file__).resolve().parent.parent


def _libpq(url) -> str:
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _balances(conn) -> dict[int, tuple[int, int]]:
    """{household_id: (balance_fen, entries)} recomputed from income_entries alone."""
    rows = conn.execute(
        sa.text("SELECT household_id, SUM(amount_fen), COUNT(*) FROM income_entries GROUP BY household_id")
    )
    return {h: (int(total), int(n)) for h, total, n in rows}


def _audit(conn) -> list[tuple]:
    rows = conn.execute(
        sa.text("SELECT id, actor_id, action, subject_type, subject_id, detail, created_at FROM audit_log ORDER BY id")
    )
    return [tuple(r) for r in rows]


def _world(now):
    """Three households, a real order placed, its lines credited through the ledger, one refund."""
    station = make_station()
    village = station.villages[0]
    operator = make_user(role="operator", station=station)
    buyer = make_user()
    a, b, c = (make_household(village=village, head_name=name) for name in ("张三", "李四", "王五"))
    eggs = make_product(name="土鸡蛋", station=station, households=[a, b], weights=[2, 1], price_fen=4501, stock=20)
    rice = make_product(name="大米", station=station, households=[b, c], price_fen=12999, stock=20)
    order = make_order(buyer, [(eggs, 3), (rice, 1)], now=now)
    for line in order.lines:
        credit_line(line, now=now)
    reverse_line(order.lines[0], now=now, amount_fen=1000, ref="refund:backup-test")
    assisted.update_product(eggs, actor=operator, now=now, price_fen=4800)  # audited
    record_audit(actor=operator, action="backup.test", subject=order, detail={"note": "备份测试", "n": 1}, now=now)
    commit()
    return order


def _run(*args, env=None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], cwd=ROOT, env={**os.environ, **(env or {})}, capture_output=True, text=True, timeout=120
    )


@requires_postgres
def test_backup_restores_ledger_audit_log_and_trigger_into_a_fresh_database(committed_db, tmp_path):
    order = _world(NOW)
    source_url = make_url(TEST_DATABASE_URL)
    with committed_db.engine.connect() as conn:
        balances = _balances(conn)
        audit = _audit(conn)
        order_row = conn.execute(
            sa.text("SELECT code, status, total_fen FROM orders WHERE id = :id"), {"id": order.id}
        ).one()
    assert len(balances) == 3 and sum(n for _t, n in balances.values()) >= 5
    assert len(audit) >= 2

    backup = _run("scripts/backup.sh", env={"DATABASE_URL": TEST_DATABASE_URL, "BACKUP_DIR": tmp_path})
    assert backup.returncode == 0, backup.stderr
    dump = Path(backup.stdout.strip().splitlines()[-1])
    assert dump.exists() and dump.stat().st_size > 0 and Path(f"{dump}.sha256").exists()
    assert not list(tmp_path.glob("*.partial"))

    target = source_url.set(database=f"{source_url.database}_restore_{uuid.uuid4().hex[:8]}")
    engine = sa.create_engine(target)
    try:
        restore = _run("scripts/restore.sh", dump, _libpq(target))
        assert restore.returncode == 0, restore.stderr
        assert "income_entries" in restore.stdout

        with engine.connect() as conn:
            assert _balances(conn) == balances  # every household's balance, recomputed from the entries
            assert _audit(conn) == audit
            assert tuple(
                conn.execute(
                    sa.text("SELECT code, status, total_fen FROM orders WHERE code = :c"), {"c": order_row.code}
                ).one()
            ) == tuple(order_row)
            assert conn.execute(sa.text("SELECT version_num FROM alembic_version")).scalar()

        # the append-only trigger came back with the table
        for statement in ("UPDATE income_entries SET amount_fen = amount_fen + 1", "DELETE FROM income_entries"):
            with engine.connect() as conn, pytest.raises(sa.exc.DBAPIError, match="append-only"):
                conn.execute(sa.text(statement))
        with engine.connect() as conn:
            assert _balances(conn) == balances

        # never over an existing database
        again = _run("scripts/restore.sh", dump, _libpq(target))
        assert again.returncode == 3 and "already exists" in again.stderr
    finally:
        engine.dispose()
        with committed_db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))


def test_backup_refuses_a_non_postgresql_url(tmp_path):
    result = _run("scripts/backup.sh", "sqlite:///instance/shop.sqlite3", env={"BACKUP_DIR": tmp_path})
    assert result.returncode == 2 and "PostgreSQL" in result.stderr
    assert not list(tmp_path.iterdir())
