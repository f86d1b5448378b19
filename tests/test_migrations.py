"""The Alembic migrations build exactly the schema the models describe.

`alembic upgrade head` runs on a fresh database — a temporary SQLite file always, and a throwaway
PostgreSQL database (created and dropped here) when TEST_DATABASE_URL points at PostgreSQL — and
autogenerate's `compare_metadata` against `db.metadata` must then find no difference. On
PostgreSQL the database-level objects of `shop.schema.POSTGRES_DDL` (triggers) must exist too.

Until the lead generates the initial migration this test fails, on purpose: nothing is skipped.
"""

from __future__ import annotations

import logging
import os
import tempfile
import uuid
from contextlib import contextmanager

import pytest
import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from tests.alembic_logging import restore_logging
from tests.conftest import TEST_CONFIG, TEST_DATABASE_URL

PG = TEST_DATABASE_URL.startswith("postgresql")


@contextmanager
def _fresh_sqlite():
    with tempfile.TemporaryDirectory(prefix="migrations-") as tmp:
        yield f"sqlite:///{tmp}/migrations.sqlite3"


@contextmanager
def _fresh_postgres():
    url = sa.engine.make_url(TEST_DATABASE_URL)
    name = f"{url.database}_migr_{os.getpid()}_{uuid.uuid4().hex[:6]}"
    admin = sa.create_engine(url, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    try:
        yield url.set(database=name).render_as_string(hide_password=False)
    finally:
        with admin.connect() as conn:
            conn.execute(
                sa.text(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = :n AND pid <> pg_backend_pid()"
                ),
                {"n": name},
            )
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}"'))
        admin.dispose()


@contextmanager
def _app_on(database_url: str, test_app):
    """An app of its own on `database_url`, its context entered; afterwards its engine is disposed, the
    loggers Alembic disabled are enabled again and the test app's Celery is current again."""
    from shop import create_app
    from shop.extensions import db

    saved = {n: lg.disabled for n, lg in logging.root.manager.loggerDict.items() if isinstance(lg, logging.Logger)}
    app = create_app({**TEST_CONFIG, "SQLALCHEMY_DATABASE_URI": database_url})
    try:
        with app.app_context():
            try:
                yield db
            finally:
                db.session.remove()
                db.engine.dispose()
    finally:
        restore_logging(saved)
        celery = test_app.extensions["celery"]  # create_app() made its own Celery current and default
        celery.set_current()
        celery.set_default()


@contextmanager
def _parentless(db):
    """A connection that writes rows without their parents: foreign key triggers off (PostgreSQL)."""
    with db.engine.connect() as conn:
        conn.execute(sa.text("SET session_replication_role = replica"))
        yield conn
        conn.commit()


def _upgrade_and_compare(database_url: str, test_app) -> tuple[list, list[str]]:
    from flask_migrate import upgrade

    from shop.schema import POSTGRES_DDL

    with _app_on(database_url, test_app) as db:
        upgrade()
        missing_ddl: list[str] = []
        with db.engine.connect() as conn:
            mc = MigrationContext.configure(conn, opts={"compare_type": True, "compare_server_default": False})
            diff = compare_metadata(mc, db.metadata)
            if conn.dialect.name == "postgresql":
                for ddl_name, _create, _drop in POSTGRES_DDL:
                    found = conn.scalar(
                        sa.text("SELECT count(*) FROM pg_trigger WHERE tgname = :n AND NOT tgisinternal"),
                        {"n": ddl_name},
                    ) or conn.scalar(sa.text("SELECT count(*) FROM pg_proc WHERE proname = :n"), {"n": ddl_name})
                    if not found:
                        missing_ddl.append(ddl_name)
                # autogenerate does not compare INCLUDE columns: check covering indexes here
                for table in db.metadata.tables.values():
                    for index in table.indexes:
                        include = index.dialect_options["postgresql"].get("include") or []
                        if not include:
                            continue
                        found = (
                            conn.scalar(
                                sa.text("SELECT indexdef FROM pg_indexes WHERE indexname = :n"), {"n": index.name}
                            )
                            or ""
                        )
                        if not all("INCLUDE (" in found and c in found.split("INCLUDE", 1)[1] for c in include):
                            missing_ddl.append(f"{index.name} INCLUDE {include} (found: {found!r})")
    return diff, missing_ddl


def _explain(diff) -> str:
    lines = [repr(d)[:200] for d in diff[:40]]
    more = f"\n... and {len(diff) - 40} more" if len(diff) > 40 else ""
    return "models and migrations disagree (run `flask db migrate` and review):\n" + "\n".join(lines) + more


#: SQLite always; PostgreSQL too when TEST_DATABASE_URL names one (as in CI). Nothing is skipped.
BACKENDS = ["sqlite"] + (["postgresql"] if PG else [])


@pytest.mark.parametrize("backend", BACKENDS)
def test_upgrade_head_on_a_fresh_database_builds_exactly_the_models(app, backend):
    fresh = _fresh_postgres if backend == "postgresql" else _fresh_sqlite
    with fresh() as url:
        diff, missing_ddl = _upgrade_and_compare(url, app)
    assert diff == [], _explain(diff)
    assert missing_ddl == [], f"PostgreSQL objects of shop.schema.POSTGRES_DDL missing after upgrade: {missing_ddl}"


@pytest.mark.skipif(not PG, reason="needs PostgreSQL (CI): rows without parents survive only with FK triggers off")
def test_benefit_kind_migration_makes_every_existing_entry_a_sale(app):
    """Entries written before benefit kinds existed are a household's share of a sale (issue #20).
    On PostgreSQL (CI): SQLite's batch migration re-checks the foreign keys of these parentless rows."""
    from flask_migrate import upgrade

    with _fresh_postgres() as url, _app_on(url, app) as db:
        upgrade(revision="e3f1a9c7b2d4")
        with _parentless(db) as conn:
            for i, kind in enumerate(("sale", "tourism", "reversal"), start=1):
                conn.execute(
                    sa.text(
                        "INSERT INTO income_entries (id, household_id, order_line_id, kind, ref, amount_fen, split,"
                        " entry_date, created_at) VALUES (:i, 1, :i, :k, '', :a, '{}', '2026-11-01',"
                        " '2026-11-01 00:00:00+00')"
                    ),
                    {"i": i, "k": kind, "a": -5 if kind == "reversal" else 10},
                )
        upgrade()
        with db.engine.connect() as conn:
            kinds = conn.execute(sa.text("SELECT kind, benefit_kind FROM income_entries ORDER BY id")).all()
    assert [tuple(k) for k in kinds] == [("sale", "sale"), ("tourism", "sale"), ("reversal", "sale")]


@pytest.mark.skipif(not PG, reason="needs PostgreSQL (CI): rows without parents survive only with FK triggers off")
def test_the_weight_migration_stops_on_a_product_of_0_g_and_then_refuses_0_g(app, capsys):
    """A stored 0 g is not guessed (nothing derives a product's weight): the upgrade stops naming the
    product and changes nothing; once its weight is set the upgrade tightens the check to > 0."""
    from flask_migrate import upgrade

    insert = sa.text(
        "INSERT INTO products (id, slug, name, description, category_id, village_id, station_id, unit, price_fen,"
        " weight_g, season, trace_code, approval_status, approval_note, is_published, variant_label,"
        " variant_position, sold_count, delivered_count, created_at, updated_at) VALUES (:i, 'p', :n, '', 1, 1, 1,"
        " '袋', 100, :w, '', :t, 'approved', '', true, '', 0, 0, 0, '2026-11-01 00:00:00+00',"
        " '2026-11-01 00:00:00+00')"
    )
    with _fresh_postgres() as url, _app_on(url, app) as db:
        upgrade(revision="c2ac613a9a5a")
        with _parentless(db) as conn:
            conn.execute(insert, {"i": 1, "n": "三江腌菜", "w": 500, "t": "T1"})
            conn.execute(insert, {"i": 2, "n": "无花果干", "w": 0, "t": "T2"})
        with pytest.raises(SystemExit):  # Flask-Migrate says the error and exits 1
            upgrade()
        said = capsys.readouterr().err
        with _parentless(db) as conn:
            before = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
            conn.execute(insert, {"i": 3, "n": "still 0 g allowed", "w": 0, "t": "T3"})
            conn.execute(sa.text("UPDATE products SET weight_g = 250 WHERE weight_g = 0"))
        upgrade()
        with _parentless(db) as conn:
            weights = conn.execute(sa.text("SELECT id, weight_g FROM products ORDER BY id")).all()
            with pytest.raises(sa.exc.IntegrityError, match="ck_products_weight_positive"):
                conn.execute(insert, {"i": 4, "n": "零克", "w": 0, "t": "T4"})
            conn.rollback()
    assert "Error: 1 product(s) weigh 0 g: 2 (无花果干)" in said and "Nothing was changed" in said
    assert before == "c2ac613a9a5a"
    assert [tuple(w) for w in weights] == [(1, 500), (2, 250), (3, 250)]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_own_password_migration_marks_only_invited_accounts_that_never_set_one(app, backend):
    """users.has_own_password (9d4e7b1c2a58): an account the admin invited whose auth_version is still 1
    never set a password (a password change or a deactivation bumps it); every other account has its own."""
    from flask_migrate import upgrade

    fresh = _fresh_postgres if backend == "postgresql" else _fresh_sqlite
    with fresh() as url, _app_on(url, app) as db:
        upgrade(revision="f4b8d2a6c913")
        with db.engine.begin() as conn:
            for i, version in ((1, 1), (2, 2), (3, 1), (4, 1)):
                conn.execute(
                    sa.text(
                        "INSERT INTO users (id, email, password_hash, name, phone, role, is_active_account,"
                        " auth_version, session_generation, created_at) VALUES (:i, :e, 'x', '', '', 'consumer',"
                        " true, :v, 1, '2026-11-01 00:00:00+00')"
                    ),
                    {"i": i, "e": f"u{i}@test.cn", "v": version},
                )
            # 1 and 2 invited (2 then set a password), 3 made by `flask users create`, 4 registered itself
            for subject, detail in ((1, '{"invited": true}'), (2, '{"invited": true}'), (3, '{"role": "consumer"}')):
                conn.execute(
                    sa.text(
                        "INSERT INTO audit_log (action, subject_type, subject_id, detail, created_at)"
                        " VALUES ('user.create', 'users', :s, :d, '2026-11-01 00:00:00+00')"
                    ),
                    {"s": subject, "d": detail},
                )
        upgrade()
        with db.engine.connect() as conn:
            rows = conn.execute(sa.text("SELECT id, has_own_password FROM users ORDER BY id")).all()
    assert [(i, bool(own)) for i, own in rows] == [(1, False), (2, True), (3, True), (4, True)]


def test_a_sqlite_database_with_data_upgrades_through_the_table_copies_and_keeps_every_reference(app):
    """SQLite changes a table by copying it and dropping the old one (the products and users migrations).
    With foreign keys enforced during the upgrade, that DROP deleted a user's addresses (ON DELETE CASCADE),
    nulled the audit log's actors (SET NULL) and refused the whole upgrade where a row RESTRICTs (a host's
    listings: every demo database of `make run`). The upgrade runs with them off, checks every reference
    before it commits, and leaves them on."""
    from flask_migrate import upgrade

    with _fresh_sqlite() as url, _app_on(url, app) as db:
        upgrade(revision="c2ac613a9a5a")  # before both table copies
        with db.engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO users (id, email, password_hash, name, phone, role, is_active_account,"
                    " auth_version, session_generation, created_at) VALUES (1, 'u@test.cn', 'x', '', '', 'consumer',"
                    " true, 1, 1, '2026-11-01 00:00:00')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO addresses (id, user_id, name, phone, province, city, district, line, is_default,"
                    " created_at) VALUES (1, 1, '李四', '13800000000', '江西省', '南昌市', '南昌县', '莲塘镇 1 号',"
                    " true, '2026-11-01 00:00:00')"
                )
            )
            conn.execute(
                sa.text(
                    "INSERT INTO audit_log (actor_id, action, subject_type, subject_id, detail, created_at)"
                    " VALUES (1, 'user.role', 'users', 1, '{}', '2026-11-01 00:00:00')"
                )
            )
        upgrade()
        with db.engine.connect() as conn:
            addresses = conn.scalar(sa.text("SELECT count(*) FROM addresses WHERE user_id = 1"))
            actor = conn.scalar(sa.text("SELECT actor_id FROM audit_log"))
            version = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
            enforced = conn.exec_driver_sql("PRAGMA foreign_keys").scalar()
    assert (addresses, actor, enforced) == (1, 1, 1)
    assert version != "c2ac613a9a5a"


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_unique_names_migration_stops_on_two_rows_of_one_name_and_then_refuses_a_second(app, backend, capsys):
    """categories.name and villages (township_id, name) unique (8c1d5e7a2b94): a database already holding
    two of one name stops the upgrade, naming them, unchanged; once one is renamed, the upgrade adds the
    indexes and a second row of a name is refused."""
    from flask_migrate import upgrade

    fresh = _fresh_postgres if backend == "postgresql" else _fresh_sqlite
    category = sa.text(
        "INSERT INTO categories (id, slug, name, name_en, position, food_class) VALUES (:i, :s, :n, '', 0, 'farm')"
    )
    village = sa.text(
        "INSERT INTO villages (id, township_id, name, slug, is_poverty_village, signature_product, story, is_demo)"
        " VALUES (:i, 1, :n, :s, false, '', '', false)"
    )
    with fresh() as url, _app_on(url, app) as db:
        upgrade(revision="3f7a2c9e5b18")
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO townships (id, name, slug) VALUES (1, '三江镇', 'sanjiang')"))
            conn.execute(category, {"i": 1, "s": "cha", "n": "茶"})
            conn.execute(category, {"i": 2, "s": "cha-2", "n": "茶"})
            conn.execute(village, {"i": 1, "s": "liuxi", "n": "柳溪村"})
            conn.execute(village, {"i": 2, "s": "liuxi-2", "n": "柳溪村"})
        with pytest.raises(SystemExit):  # Flask-Migrate says the error and exits 1
            upgrade()
        said = capsys.readouterr().err
        with db.engine.begin() as conn:
            before = conn.scalar(sa.text("SELECT version_num FROM alembic_version"))
            conn.execute(sa.text("UPDATE categories SET name = '红茶' WHERE id = 2"))
            conn.execute(sa.text("UPDATE villages SET name = '柳溪二村' WHERE id = 2"))
        upgrade()
        refused = []
        for statement, values in (
            (category, {"i": 3, "s": "cha-3", "n": "茶"}),
            (village, {"i": 3, "s": "liuxi-3", "n": "柳溪村"}),
        ):
            with db.engine.connect() as conn:
                with pytest.raises(sa.exc.IntegrityError) as caught:
                    conn.execute(statement, values)
                refused.append(str(caught.value.orig))
    assert "2 name(s) are held by more than one row: category 茶, village 柳溪村 (township 1)" in said
    assert "Nothing was changed" in said
    assert before == "3f7a2c9e5b18"
    assert "uq_categories_name" in refused[0] or "categories.name" in refused[0]
    assert "uq_villages_township_name" in refused[1] or "villages.township_id, villages.name" in refused[1]


#: The orders of the settlement migration's test: (id, status, shipments' statuses, bookings' statuses,
#: whether the order's history says it was confirmed, the status the rule gives).
SETTLED_ORDERS = [
    (1, "confirmed", (), ("completed",), True, "completed"),  # a booking-only order after its stay
    (2, "confirmed", (), ("no_show",), True, "canceled"),  # nothing took place
    (3, "completed", ("delivered",), ("confirmed",), True, "confirmed"),  # goods handed over, stay ahead
    (4, "canceled", ("canceled",), ("confirmed",), True, "confirmed"),  # no goods supplied, the stay stands
    (5, "canceled", ("delivered",), ("canceled",), True, "completed"),  # booking canceled after the hand-over
    (6, "confirmed", ("delivered", "shipped"), ("completed",), True, "confirmed"),  # right already: untouched
    (7, "completed", ("delivered", "canceled"), ("expired",), True, "completed"),
    (8, "canceled", ("canceled",), ("canceled",), True, "canceled"),
    (9, "canceled", ("new",), ("held",), False, "canceled"),  # never confirmed: the rule does not settle it
    (10, "pending", ("new",), (), False, "pending"),
    (11, "confirmed", (), (), True, "confirmed"),  # no parts: nothing to settle
]


def _insert_settlement_world(conn) -> None:
    """The rows of `SETTLED_ORDERS` with their parents (SQLite checks every reference after an upgrade)."""
    at = "'2026-11-01 00:00:00+00'"
    conn.execute(sa.text("INSERT INTO townships (id, name, slug) VALUES (1, '三江镇', 'sanjiang')"))
    conn.execute(
        sa.text(
            "INSERT INTO villages (id, township_id, name, slug, is_poverty_village, signature_product, story,"
            " is_demo) VALUES (1, 1, '柳溪村', 'liuxi', false, '', '', false)"
        )
    )
    conn.execute(
        sa.text(
            "INSERT INTO stations (id, code, name, township_id, address, hours, phone, commission_bps, is_new)"
            " VALUES (1, 'S1', '三江站', 1, '', '', '', 0, false)"
        )
    )
    conn.execute(
        sa.text(
            "INSERT INTO users (id, email, password_hash, name, phone, role, is_active_account, auth_version,"
            f" session_generation, created_at) VALUES (1, 'u@test.cn', 'x', '', '', 'consumer', true, 1, 1, {at})"
        )
    )
    conn.execute(
        sa.text(
            "INSERT INTO listings (id, kind, slug, name, description, included, village_id, host_id,"
            " free_cancel_days, cancel_fee_pct, pay_on_arrival, employed_poor_members, is_published, created_at)"
            f" VALUES (1, 'stay', 'yard', '柳溪小院', '', '', 1, 1, 0, 0, false, 0, true, {at})"
        )
    )
    conn.execute(
        sa.text(
            "INSERT INTO unit_types (id, listing_id, name, units, max_guests, price_fen) VALUES (1, 1, '大床房', 2, 2, 100)"
        )
    )
    part = 0
    for order_id, status, shipments, bookings, confirmed, _settled in SETTLED_ORDERS:
        conn.execute(
            sa.text(
                "INSERT INTO orders (id, code, secret, user_id, status, delivery, payment_method, ship_name,"
                " ship_phone, ship_province, ship_city, ship_district, ship_line, subtotal_fen, shipping_fen,"
                f" total_fen, currency, created_at) VALUES (:i, :c, 's', 1, :s, 'ship', 'card', '', '', '', '', '',"
                f" '', 100, 0, 100, 'CNY', {at})"
            ),
            {"i": order_id, "c": f"O{order_id}", "s": status},
        )
        for to in ("pending", "confirmed") if confirmed else ("pending",):
            conn.execute(
                sa.text(
                    "INSERT INTO status_events (subject_type, subject_id, from_status, to_status, note, created_at)"
                    f" VALUES ('orders', :i, NULL, :t, '', {at})"
                ),
                {"i": order_id, "t": to},
            )
        for shipment_status in shipments:
            part += 1
            conn.execute(
                sa.text(
                    "INSERT INTO shipments (id, code, order_id, station_id, status, shipping_fen, weight_g,"
                    f" tracking_number, pickup_code, pickup_failures, created_at) VALUES (:p, :c, :i, 1, :s, 0, 0,"
                    f" '', '', 0, {at})"
                ),
                {"p": part, "c": f"S{part}", "i": order_id, "s": shipment_status},
            )
        for booking_status in bookings:
            part += 1
            conn.execute(
                sa.text(
                    "INSERT INTO bookings (id, code, order_id, user_id, listing_id, unit_type_id, check_in_date,"
                    " check_out_date, guests, units, status, total_fen, confirmation_code, pay_on_arrival,"
                    f" refunded_fen, created_at) VALUES (:p, :c, :i, 1, 1, 1, '2026-12-20', '2026-12-21', 1, 1, :s,"
                    f" 100, :c, false, 0, {at})"
                ),
                {"p": part, "c": f"B{part}", "i": order_id, "s": booking_status},
            )


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_settlement_migration_gives_existing_orders_the_status_their_parts_give(app, backend):
    """c1ee512ceb53: an order that ended under the old rules takes the status settle_order gives it now
    (confirmed while a part is open, else completed when one took place, else canceled), with a status
    event saying so; an order already right, never confirmed, pending or without parts is untouched."""
    from flask_migrate import upgrade

    fresh = _fresh_postgres if backend == "postgresql" else _fresh_sqlite
    with fresh() as url, _app_on(url, app) as db:
        upgrade(revision="b4e7d2a9c361")
        with db.engine.begin() as conn:
            _insert_settlement_world(conn)
        upgrade()
        with db.engine.connect() as conn:
            statuses = dict(conn.execute(sa.text("SELECT id, status FROM orders")).all())
            events = conn.execute(
                sa.text(
                    "SELECT subject_id, from_status, to_status, actor_id, note FROM status_events"
                    " WHERE subject_type = 'orders' AND note <> '' ORDER BY subject_id"
                )
            ).all()
    assert statuses == {order_id: settled for order_id, *_rest, settled in SETTLED_ORDERS}
    corrected = "status corrected by its parts"
    assert [tuple(e) for e in events] == [
        (1, "confirmed", "completed", None, corrected),
        (2, "confirmed", "canceled", None, corrected),
        (3, "completed", "confirmed", None, corrected),
        (4, "canceled", "confirmed", None, corrected),
        (5, "canceled", "completed", None, corrected),
    ]


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_head_name_hash_migration_hashes_every_existing_households_name_with_the_apps_key(app, backend):
    """households.head_name_hash (d22f341d0ddd): each existing name is decrypted with the household data key
    and hashed as the registry's search by name hashes what the county office types
    (`county.services.registry.head_name_hash`); a name that cannot be decrypted gets the hash of an empty name,
    which no search matches; the column is then NOT NULL."""
    from flask_migrate import upgrade

    from county.services.registry import head_name_hash
    from shop.personal_data import EncryptedString

    names = {1: "欧阳秀英", 2: "王 小明", 3: "欧阳秀英"}
    fresh = _fresh_postgres if backend == "postgresql" else _fresh_sqlite
    with fresh() as url, _app_on(url, app) as db:
        upgrade(revision="e4b8a1f3c602")
        encrypted = EncryptedString()
        with db.engine.begin() as conn:
            conn.execute(sa.text("INSERT INTO townships (id, name, slug) VALUES (1, '三江镇', 'sanjiang')"))
            conn.execute(
                sa.text(
                    "INSERT INTO villages (id, township_id, name, slug, is_poverty_village, signature_product, story,"
                    " is_demo) VALUES (1, 1, '柳溪村', 'liuxi', false, '', '', false)"
                )
            )
            rows = {**{i: encrypted.process_bind_param(n, None) for i, n in names.items()}, 4: "not-a-fernet-token"}
            for i, head_name in rows.items():
                conn.execute(
                    sa.text(
                        "INSERT INTO households (id, village_id, head_name, registry_no, registry_no_hash, members,"
                        " status, is_demo, created_at) VALUES (:i, 1, :n, :r, :h, 1, 'poor', false,"
                        " '2026-11-01 00:00:00+00')"
                    ),
                    {"i": i, "n": head_name, "r": encrypted.process_bind_param(f"R{i}", None), "h": f"hash-{i}"},
                )
        upgrade()
        with db.engine.connect() as conn:
            hashes = dict(conn.execute(sa.text("SELECT id, head_name_hash FROM households ORDER BY id")).all())
            nullable = {c["name"]: c["nullable"] for c in sa.inspect(conn).get_columns("households")}
        expected = {**{i: head_name_hash(n) for i, n in names.items()}, 4: head_name_hash("")}
        assert hashes[2] == head_name_hash("王小明")
    assert hashes == expected and hashes[1] == hashes[3]
    assert nullable["head_name_hash"] is False
