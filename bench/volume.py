"""Benchmark data: schema, generated volume on top of the demo data, and the manifest the load uses.

    python -m bench.volume schema                 # DROP and rebuild the schema (bench databases only)
    python -m bench.volume generate [--small]     # 10,000 products, 200 listings, 100,000 past orders
    python -m bench.volume manifest --out FILE    # ids, paths and accounts the load generator needs
    python -m bench.volume guests --count N --out FILE   # N new consumer accounts and their API tokens

`DATABASE_URL` names the database (PostgreSQL; its name must contain "bench"). `flask --app wsgi
seed-demo` runs between `schema` and `generate`: the volume hangs off the demo villages, stations,
categories, households and accounts. Rows are written with PostgreSQL COPY through psycopg, with
explicit ids (sequences are moved past them afterwards), so the full volume loads in seconds.
Columns the generator does not name get their model's scalar default; a new NOT NULL column
without a default stops that section with a message saying which column.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import sys
import time
from datetime import datetime, timedelta, timezone
from enum import Enum

import sqlalchemy as sa

from config import Config

BENCH_PASSWORD = "bench-pass-2026"
BENCH_USERS = 500  # consumers owning the past orders; the first 16 drive checkout (booking: `guests`)
#: orders: the county income report is measured over a million (issue #20); households: the county's
#: 12,000 registered poor households of the plan, each with a payment account and a month of benefits
FULL = dict(products=10_000, listings=200, orders=1_000_000, households=12_000)
SMALL = dict(products=1_000, listings=20, orders=5_000, households=1_000)
#: Orders are gathered and COPYed this many at a time.
CHUNK = 50_000
POOL_SIZE = 200  # products with a huge stock that the checkout scenario buys
POOL_STOCK = 1_000_000
BEIJING = timezone(timedelta(hours=8))

ADJECTIVES = ["农家", "有机", "生态", "手工", "新鲜", "土法", "精选", "传统", "原生态", "山区", "湖区", "特级"]
PACKS = [
    ("500克装", 1.0, 1.0),
    ("1斤装", 1.0, 1.0),
    ("2斤装", 1.9, 2.0),
    ("礼盒装", 2.6, 2.2),
    ("家庭装", 3.5, 4.0),
    ("尝鲜装", 0.6, 0.5),
    ("5斤装", 4.5, 5.0),
    ("精品装", 1.5, 1.1),
]
NAMES = ["张伟", "王芳", "李娜", "刘洋", "陈静", "杨磊", "黄敏", "赵强", "周杰", "吴霞"]


def _log(msg: str) -> None:
    print(f"[volume] {msg}", flush=True)


def bench_app():
    url = os.environ.get("DATABASE_URL", "")
    if not url.startswith(("postgresql", "postgres:")) or "bench" not in url.rsplit("/", 1)[-1]:
        sys.exit("bench/volume.py: DATABASE_URL must name a PostgreSQL database whose name contains 'bench'")
    from shop import create_app

    return create_app()


# --- COPY helper ---------------------------------------------------------------------------------


def _defaults_for(table: sa.Table, given: list[str]) -> tuple[list[str], list]:
    """Values for the columns the generator does not give: the model's scalar (or 0-arg) default."""
    names, values = [], []
    for col in table.columns:
        if col.name in given or col.primary_key:
            continue
        default = col.default
        if default is not None and getattr(default, "is_scalar", False):
            names.append(col.name)
            values.append(_adapt(col, default.arg))
        elif default is not None and getattr(default, "is_callable", False):
            try:
                value = default.arg(None)
            except Exception as exc:
                raise RuntimeError(f"{table.name}.{col.name}: cannot compute its default ({exc})") from None
            names.append(col.name)
            values.append(_adapt(col, value))
        elif not col.nullable and col.server_default is None:
            raise RuntimeError(f"{table.name}.{col.name} is NOT NULL without a default: teach bench/volume.py about it")
    return names, values


def _adapt(col: sa.Column, value):
    if value is None:
        return None
    if isinstance(col.type, sa.JSON):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, Enum):
        return value.value
    return value


def copy_rows(conn, table: sa.Table, cols: list[str], rows: list[tuple]) -> int:
    """COPY `rows` (tuples in `cols` order) into `table`; returns the row count."""
    if not rows:
        return 0
    extra_names, extra_values = _defaults_for(table, cols)
    json_idx = [i for i, c in enumerate(cols) if isinstance(table.c[c].type, sa.JSON)]
    # Connection.connection is the DBAPI connection this Connection uses (pool-proxied, inside the
    # same transaction); its cursor() is psycopg's own cursor, whose copy() is psycopg's COPY API
    # (SQLAlchemy: "Working with Driver SQL and Raw DBAPI Connections"; psycopg: "Using COPY TO and COPY FROM")
    with conn.connection.cursor() as cur:
        column_list = ", ".join(f'"{c}"' for c in cols + extra_names)
        with cur.copy(f'COPY "{table.name}" ({column_list}) FROM STDIN') as cp:
            for row in rows:
                if json_idx:
                    row = list(row)
                    for i in json_idx:
                        row[i] = json.dumps(row[i], ensure_ascii=False)
                cp.write_row(list(row) + extra_values)
    return len(rows)


def _next_id(conn, table: sa.Table) -> int:
    return (conn.execute(sa.select(sa.func.max(table.c.id))).scalar() or 0) + 1


def _fix_sequence(conn, table: sa.Table) -> None:
    conn.execute(
        sa.text(
            f"SELECT setval(pg_get_serial_sequence('{table.name}', 'id'), "
            f'GREATEST((SELECT COALESCE(MAX(id), 0) FROM "{table.name}"), 1))'
        )
    )


# --- generation ----------------------------------------------------------------------------------


def _reference(conn):
    from catalog.models import Category, Household, Producer, Village
    from stock.models import Station, station_villages

    villages = conn.execute(sa.select(Village.id, Village.name, Village.signature_product).order_by(Village.id)).all()
    station_of = dict(
        conn.execute(
            sa.select(station_villages.c.village_id, sa.func.min(station_villages.c.station_id)).group_by(
                station_villages.c.village_id
            )
        ).all()
    )
    commission = dict(conn.execute(sa.select(Station.id, Station.commission_bps)).all())
    categories = dict(conn.execute(sa.select(Category.slug, Category.id)).all())
    households: dict[int, list[int]] = {}
    for hid, vid in conn.execute(sa.select(Household.id, Household.village_id).order_by(Household.id)):
        households.setdefault(vid, []).append(hid)
    producers = dict(
        conn.execute(sa.select(Producer.village_id, sa.func.min(Producer.id)).group_by(Producer.village_id)).all()
    )
    if not villages or not station_of or not categories:
        raise SystemExit("bench/volume.py: no demo data; run `flask --app wsgi seed-demo` first")
    return villages, station_of, commission, categories, households, producers


def generate_products(conn, n: int, now: datetime, rnd: random.Random) -> None:
    from catalog.models import BenefitLink, Product
    from catalog.services import slugify
    from demo.data import PRODUCTS
    from stock.models import Lot, StockMovement, StockRecord
    from stock.services import new_lot_code

    villages, station_of, _commission, categories, households, producers = _reference(conn)
    all_specs = [s for specs in PRODUCTS.values() for s in specs]
    pid, sid, mid, bid, lid = (
        _next_id(conn, t.__table__) for t in (Product, StockRecord, StockMovement, BenefitLink, Lot)
    )
    products, stocks, moves, links, lots = [], [], [], [], []
    slugs: dict[str, str] = {}
    for i in range(n):
        vid, vname, signature = villages[i % len(villages)]
        specs = PRODUCTS.get(signature) or all_specs
        # (a demo spec may end with its variant label, #21: the generated products are single items)
        base, cat, unit, price, weight, season, desc = specs[(i // len(villages)) % len(specs)][:7]
        adjective = ADJECTIVES[rnd.randrange(len(ADJECTIVES))]
        pack, price_k, weight_k = PACKS[rnd.randrange(len(PACKS))]
        stem = base.rstrip("0123456789克斤枚个只份kg")
        name = f"{vname}{adjective}{stem}{pack}"[:80]
        slug = slugs.get(name) or slugs.setdefault(name, slugify(name))
        station = station_of[vid]
        created = now - timedelta(days=rnd.randrange(720), seconds=rnd.randrange(86400))
        products.append(
            (
                pid,
                slug,
                name,
                f"{desc}（{vname}{adjective}，{pack}）",
                categories[cat],
                vid,
                station,
                producers.get(vid),
                unit,
                max(100, int(price * price_k)),
                int(weight * weight_k),
                season,
                f"BV{pid:012d}",
                "approved",
                now,
                True,
                int(rnd.paretovariate(1.2) * 3),
                created,
                created,
            )
        )
        on_hand = POOL_STOCK if i % max(1, n // POOL_SIZE) == 0 else rnd.randrange(0, 400)
        stocks.append((sid, pid, station, on_hand, 0))
        if on_hand:  # one lot (#23), undated, from the village's producer
            lots.append(
                (
                    lid,
                    new_lot_code(),
                    sid,
                    pid,
                    station,
                    on_hand,
                    on_hand,
                    0,
                    0,
                    producers.get(vid),
                    "压测批次",
                    "active",
                    "",
                    created,
                )
            )
            moves.append((mid, sid, lid, "receive", on_hand, "压测批次", created))
            mid += 1
            lid += 1
        for k, hid in enumerate(households.get(vid, [])):
            links.append((bid, pid, hid, 1 + k, created))
            bid += 1
        pid += 1
        sid += 1
    copy_rows(
        conn,
        Product.__table__,
        [
            "id",
            "slug",
            "name",
            "description",
            "category_id",
            "village_id",
            "station_id",
            "producer_id",
            "unit",
            "price_fen",
            "weight_g",
            "season",
            "trace_code",
            "approval_status",
            "approved_at",
            "is_published",
            "sold_count",
            "created_at",
            "updated_at",
        ],
        products,
    )
    copy_rows(conn, StockRecord.__table__, ["id", "product_id", "station_id", "on_hand", "allocated"], stocks)
    copy_rows(
        conn,
        Lot.__table__,
        [
            "id",
            "code",
            "stock_record_id",
            "product_id",
            "station_id",
            "received_quantity",
            "on_hand",
            "allocated",
            "blocked",
            "producer_id",
            "note",
            "status",
            "recall_reason",
            "received_at",
        ],
        lots,
    )
    copy_rows(
        conn,
        StockMovement.__table__,
        ["id", "stock_record_id", "lot_id", "kind", "quantity", "lot_note", "created_at"],
        moves,
    )
    copy_rows(conn, BenefitLink.__table__, ["id", "product_id", "household_id", "weight", "created_at"], links)
    for t in (Product, StockRecord, Lot, StockMovement, BenefitLink):
        _fix_sequence(conn, t.__table__)
    _log(f"products: {len(products)} (+{len(links)} benefit links)")


def generate_papers(conn, now: datetime) -> None:
    """The food-safety documents each product's category needs (catalog.papers.REQUIRED_DOCUMENTS),
    approved and valid for a year, for every product without them: a product without its papers is
    not sold (409 `papers_missing`). One INSERT ... SELECT; no file behind them (never served here)."""
    from catalog.papers import REQUIRED_DOCUMENTS

    pairs = [(str(food_class), str(kind)) for food_class, kinds in REQUIRED_DOCUMENTS.items() for kind in kinds]
    if not pairs:
        return
    values = ", ".join(f"(:c{i}, :k{i})" for i in range(len(pairs)))
    params: dict = {f"c{i}": c for i, (c, _k) in enumerate(pairs)} | {f"k{i}": k for i, (_c, k) in enumerate(pairs)}
    today = now.astimezone(BEIJING).date()
    params |= {"valid_from": today - timedelta(days=30), "valid_until": today + timedelta(days=365), "now": now}
    inserted = conn.execute(
        sa.text(
            f"""INSERT INTO product_documents (product_id, kind, number, issuer, valid_from, valid_until,
                   file_path, file_type, file_size, status, decision_note, decided_at, uploaded_at)
                SELECT p.id, r.kind,
                       CASE WHEN r.kind = 'production_licence' THEN 'SC' || lpad(p.id::text, 14, '0')
                            ELSE 'BENCH-' || p.id END,
                       '南昌县市场监督管理局', :valid_from, :valid_until, 'bench/none.pdf', 'pdf', 0,
                       'approved', '', :now, :now
                FROM products p
                JOIN categories c ON c.id = p.category_id
                JOIN (VALUES {values}) AS r (food_class, kind) ON r.food_class = c.food_class
                WHERE NOT EXISTS (SELECT 1 FROM product_documents d WHERE d.product_id = p.id AND d.kind = r.kind)"""
        ),
        params,
    ).rowcount
    _log(f"papers: {inserted} documents")


def generate_users(conn, now: datetime) -> None:
    from werkzeug.security import generate_password_hash

    from shop.auth.models import User

    t = User.__table__
    existing = set(conn.execute(sa.select(t.c.email).where(t.c.email.like("bench-user-%"))).scalars())
    password_hash = generate_password_hash(BENCH_PASSWORD, method=Config.PASSWORD_HASH_METHOD)
    uid = _next_id(conn, t)
    rows = []
    for i in range(1, BENCH_USERS + 1):
        email = f"bench-user-{i:03d}@bench.cn"
        if email in existing:
            continue
        rows.append((uid, email, password_hash, f"压测用户{i}", "consumer", True, 1, now))
        uid += 1
    copy_rows(
        conn,
        t,
        ["id", "email", "password_hash", "name", "role", "is_active_account", "auth_version", "created_at"],
        rows,
    )
    _fix_sequence(conn, t)
    _log(f"bench users: {len(rows)} new")


def create_guests(n: int) -> list[str]:
    """`n` new consumer accounts (`bench-guest-<stamp>-NNNNN@bench.cn`), each with one API token;
    returns the tokens. The booking scenario sends at most PAY_ON_ARRIVAL_MAX_OPEN (2) bookings per
    account, so the per-account cap of open pay-on-arrival bookings never answers for the shop: the
    scenario measures bookings, not 409s. New accounts on every run (also with `--reuse-data`): the
    open bookings of an earlier run do not count against them."""
    import hashlib
    import secrets

    from werkzeug.security import generate_password_hash

    from shop.auth.models import ApiToken, User
    from shop.extensions import db

    app = bench_app()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    stamp = now.strftime("%Y%m%d%H%M%S")
    password_hash = generate_password_hash(BENCH_PASSWORD, method=Config.PASSWORD_HASH_METHOD)
    tokens = [secrets.token_urlsafe(32) for _ in range(n)]
    with app.app_context(), db.engine.begin() as conn:
        users, tokens_t = User.__table__, ApiToken.__table__
        uid, tid = _next_id(conn, users), _next_id(conn, tokens_t)
        user_rows, token_rows = [], []
        for i, token in enumerate(tokens):
            user_rows.append(
                (
                    uid + i,
                    f"bench-guest-{stamp}-{i:05d}@bench.cn",
                    password_hash,
                    f"压测住客{i}",
                    "consumer",
                    True,
                    1,
                    now,
                )
            )
            token_rows.append(
                (tid + i, uid + i, hashlib.sha256(token.encode()).hexdigest(), 1, now, now + timedelta(days=30))
            )
        copy_rows(
            conn,
            users,
            ["id", "email", "password_hash", "name", "role", "is_active_account", "auth_version", "created_at"],
            user_rows,
        )
        copy_rows(
            conn, tokens_t, ["id", "user_id", "token_hash", "auth_version", "created_at", "expires_at"], token_rows
        )
        _fix_sequence(conn, users)
        _fix_sequence(conn, tokens_t)
    _log(f"guests: {n} new accounts with API tokens")
    return tokens


def generate_listings(conn, n: int, now: datetime, rnd: random.Random) -> None:
    from shop.auth.models import User
    from tourism.models import Listing, UnitType

    villages, *_ = _reference(conn)
    host = conn.execute(sa.select(User.id).where(User.role == "host").order_by(User.id)).scalar()
    if host is None:
        host = conn.execute(sa.select(User.id).where(User.role == "admin").order_by(User.id)).scalar()
    from catalog.services import slugify

    lid, uid = _next_id(conn, Listing.__table__), _next_id(conn, UnitType.__table__)
    listings, units = [], []
    kinds = [
        ("stay", "农家乐民宿"),
        ("stay", "田园小院"),
        ("stay", "湖畔民宿"),
        ("experience", "观光采摘"),
        ("experience", "垂钓体验"),
        ("ticket", "花海门票"),
    ]
    for i in range(n):
        vid, vname, _sig = villages[i % len(villages)]
        kind, label = kinds[i % len(kinds)]
        name = f"{vname}{label}{i + 1}号"
        listings.append(
            (
                lid,
                kind,
                slugify(name),
                name,
                f"{vname}的{label}，压测数据。",
                vid,
                host,
                3,
                50,
                kind == "stay",
                rnd.randrange(0, 4),
                True,
                now - timedelta(days=rnd.randrange(365)),
            )
        )
        if kind == "stay":
            units.append((uid, lid, "标准间", 4, 2, 16800 + 100 * rnd.randrange(50), None, None))
            units.append((uid + 1, lid, "家庭房", 2, 4, 26800 + 100 * rnd.randrange(50), None, None))
            uid += 2
        elif kind == "experience":
            units.append((uid, lid, "每人", 20, 1, 5800, None, None))
            uid += 1
        else:
            units.append((uid, lid, "成人票", 500, 1, 3000, None, None))
            uid += 1
        lid += 1
    copy_rows(
        conn,
        Listing.__table__,
        [
            "id",
            "kind",
            "slug",
            "name",
            "description",
            "village_id",
            "host_id",
            "free_cancel_days",
            "cancel_fee_pct",
            "pay_on_arrival",
            "employed_poor_members",
            "is_published",
            "created_at",
        ],
        listings,
    )
    copy_rows(
        conn,
        UnitType.__table__,
        ["id", "listing_id", "name", "units", "max_guests", "price_fen", "weekend_price_fen", "holiday_price_fen"],
        units,
    )
    _fix_sequence(conn, Listing.__table__)
    _fix_sequence(conn, UnitType.__table__)
    _log(f"listings: {len(listings)} ({len(units)} unit types)")


def generate_orders(conn, n: int, now: datetime, rnd: random.Random) -> None:
    from catalog.models import Product
    from catalog.services import benefit_split
    from ledger.models import IncomeEntry, SaleFigure
    from orders.models import Order, OrderLine, OrderPayment, Shipment
    from shop.auth.models import User
    from shop.money import apply_bps, split_fen

    villages, station_of, commission, _c, households, _p = _reference(conn)
    users = list(conn.execute(sa.select(User.id).where(User.email.like("bench-user-%"))).scalars())
    by_village: dict[int, list[tuple]] = {}
    for row in conn.execute(
        sa.select(
            Product.id,
            Product.name,
            Product.unit,
            Product.price_fen,
            Product.weight_g,
            Product.village_id,
            Product.station_id,
            Product.category_id,
        ).where(Product.approval_status == "approved")
    ):
        by_village.setdefault(row.village_id, []).append(tuple(row))
    village_ids = [v for v, _n, _s in villages if by_village.get(v)]
    oid, shid, lnid, payid, eid = (
        _next_id(conn, t.__table__) for t in (Order, Shipment, OrderLine, OrderPayment, IncomeEntry)
    )
    figures: list[tuple] = []  # where each line's money went (ledger.models.SaleFigure), as the ledger writes it
    orders, shipments, lines, payments, entries = [], [], [], [], []
    methods = ["cod", "card"]  # every order here is shipped home: 到站点付款 is for pick-ups
    copied = {"orders": 0, "lines": 0, "entries": 0}

    def flush() -> None:
        """COPY what is gathered (every CHUNK orders: a million orders never sit in memory at once)."""
        _copy_orders(conn, orders, shipments, lines, payments, entries, figures)
        copied["orders"] += len(orders)
        copied["lines"] += len(lines)
        copied["entries"] += len(entries)
        for rows in (orders, shipments, lines, payments, entries, figures):
            rows.clear()

    for i in range(n):
        vid = village_ids[rnd.randrange(len(village_ids))]
        pool = by_village[vid]
        created = now - timedelta(seconds=rnd.randrange(3, 365 * 86400))
        delivered = created + timedelta(days=2, hours=rnd.randrange(48))
        if delivered > now:
            delivered = now
        entry_date = delivered.astimezone(BEIJING).date()
        code = f"BV{i:08d}"
        subtotal = weight = 0
        hh = households.get(vid, [])
        weights = [1 + k for k in range(len(hh))]
        for product in rnd.sample(pool, min(len(pool), rnd.choice((1, 1, 1, 2, 2, 3)))):
            prid, name, unit, price, wgt, _v, station, cat = product
            qty = rnd.choice((1, 1, 1, 2, 3))
            total = price * qty
            subtotal += total
            weight += wgt * qty
            bps = commission.get(station, 0)
            lines.append(
                (
                    lnid,
                    oid,
                    shid,
                    "product",
                    prid,
                    "open",
                    name,
                    unit,
                    station,
                    vid,
                    cat,
                    price,
                    qty,
                    total,
                    bps,
                    benefit_split(zip(hh, weights)),
                )
            )
            producer_share = total - apply_bps(total, bps)  # as the ledger credits a line
            figures.append(
                (
                    lnid,
                    total,
                    producer_share if hh else 0,
                    total - producer_share,
                    0 if hh else producer_share,  # no household linked: the collective's
                    0,
                    vid,
                    station,
                    cat,
                    entry_date,
                    delivered,
                )
            )
            if hh:
                for h, w, amount in zip(hh, weights, split_fen(producer_share, weights)):
                    entries.append(
                        (
                            eid,
                            h,
                            lnid,
                            "sale",
                            amount,
                            {"producer_share_fen": producer_share, "weight": w, "weight_total": sum(weights)},
                            vid,
                            station,
                            cat,
                            entry_date,
                            delivered,
                        )
                    )
                    eid += 1
            lnid += 1
        shipping = 0 if subtotal >= 9900 else 800
        method = methods[i % len(methods)]
        station = station_of[vid]
        name = NAMES[i % len(NAMES)]
        orders.append(
            (
                oid,
                code,
                f"{rnd.getrandbits(128):032x}",
                users[i % len(users)],
                "completed",
                "ship",
                method,
                name,
                f"138{i:08d}"[:11],
                "江西省",
                "南昌市",
                "南昌县",
                f"莲塘镇澄湖路{i % 900 + 1}号",
                subtotal,
                shipping,
                subtotal + shipping,
                "CNY",
                created,
                created,
            )
        )
        shipments.append(
            (shid, f"{code}-1", oid, station, "delivered", shipping, weight, f"YZ{i:010d}", delivered, created)
        )
        payments.append(
            (
                payid,
                oid,
                1,
                "stripe" if method == "card" else method,
                "confirmed",
                subtotal + shipping,
                "CNY",
                f"pi_bench_{i:08d}" if method == "card" else None,
                created,
                created,
            )
        )
        oid += 1
        shid += 1
        payid += 1
        if len(orders) >= CHUNK:
            flush()
            _log(f"orders: {copied['orders']:,} of {n:,}")
    flush()
    for t in (Order, Shipment, OrderLine, OrderPayment, IncomeEntry, SaleFigure):
        _fix_sequence(conn, t.__table__)
    _log(f"orders: {copied['orders']} ({copied['lines']} lines, {copied['entries']} income entries)")


def _copy_orders(conn, orders, shipments, lines, payments, entries, figures) -> None:
    from ledger.models import IncomeEntry, SaleFigure
    from orders.models import Order, OrderLine, OrderPayment, Shipment

    copy_rows(
        conn,
        Order.__table__,
        [
            "id",
            "code",
            "secret",
            "user_id",
            "status",
            "delivery",
            "payment_method",
            "ship_name",
            "ship_phone",
            "ship_province",
            "ship_city",
            "ship_district",
            "ship_line",
            "subtotal_fen",
            "shipping_fen",
            "total_fen",
            "currency",
            "created_at",
            "paid_at",
        ],
        orders,
    )
    copy_rows(
        conn,
        Shipment.__table__,
        [
            "id",
            "code",
            "order_id",
            "station_id",
            "status",
            "shipping_fen",
            "weight_g",
            "tracking_number",
            "delivered_at",
            "created_at",
        ],
        shipments,
    )
    copy_rows(
        conn,
        OrderLine.__table__,
        [
            "id",
            "order_id",
            "shipment_id",
            "kind",
            "product_id",
            "status",
            "title",
            "unit",
            "station_id",
            "village_id",
            "category_id",
            "unit_price_fen",
            "quantity",
            "line_total_fen",
            "commission_bps",
            "benefit_split",
        ],
        lines,
    )
    copy_rows(
        conn,
        OrderPayment.__table__,
        [
            "id",
            "order_id",
            "number",
            "provider",
            "state",
            "amount_fen",
            "currency",
            "provider_ref",
            "created_at",
            "confirmed_at",
        ],
        payments,
    )
    copy_rows(
        conn,
        IncomeEntry.__table__,
        [
            "id",
            "household_id",
            "order_line_id",
            "kind",
            "amount_fen",
            "split",
            "village_id",
            "station_id",
            "category_id",
            "entry_date",
            "created_at",
        ],
        entries,
    )
    copy_rows(
        conn,
        SaleFigure.__table__,
        [
            "order_line_id",
            "sale_fen",
            "household_fen",
            "commission_fen",
            "collective_fen",
            "purchased_fen",
            "village_id",
            "station_id",
            "category_id",
            "entry_date",
            "created_at",
        ],
        figures,
    )


def generate_households(conn, n: int, now: datetime, rnd: random.Random) -> None:
    """Registered households up to `n` over the villages, a payment account for every household, and a
    month of recorded benefits for each (a wage and a dividend: the payout batch's month of entries).

    Personal fields are encrypted and hashed as the registry does (`EncryptedString`, `lookup_hash`):
    COPY bypasses the ORM, so the column type's own bind processing is applied here."""
    from catalog.models import Household
    from ledger.models import IncomeEntry
    from ledger.payouts import PaymentAccount
    from ledger.records import BenefitRecord
    from shop.personal_data import EncryptedString, lookup_hash

    encrypt = EncryptedString().process_bind_param
    villages, _station_of, _commission, _categories, households, _producers = _reference(conn)
    village_ids = [v for v, _n, _s in villages]
    existing = sum(len(v) for v in households.values())
    hid = _next_id(conn, Household.__table__)
    rows = []
    for i in range(max(0, n - existing)):
        vid = village_ids[i % len(village_ids)]
        registry_no = f"BENCH{hid:09d}"
        rows.append(
            (
                hid,
                vid,
                encrypt(NAMES[i % len(NAMES)], None),
                lookup_hash(NAMES[i % len(NAMES)]),
                encrypt(registry_no, None),
                lookup_hash(registry_no),
                encrypt(f"137{i:08d}", None),
                1 + i % 5,
                "poor",
                False,
                now,
            )
        )
        households.setdefault(vid, []).append(hid)
        hid += 1
    copy_rows(
        conn,
        Household.__table__,
        [
            "id",
            "village_id",
            "head_name",
            "head_name_hash",
            "registry_no",
            "registry_no_hash",
            "phone",
            "members",
            "status",
            "is_demo",
            "created_at",
        ],
        rows,
    )
    _fix_sequence(conn, Household.__table__)
    with_account = set(conn.execute(sa.select(PaymentAccount.household_id)).scalars())
    accounts = []
    for vid, ids in households.items():
        for h in ids:
            if h in with_account:
                continue
            accounts.append(
                (
                    h,
                    "huinong_card" if h % 3 else "bank_card",
                    encrypt(f"6217{h:015d}", None),
                    encrypt(NAMES[h % len(NAMES)], None),
                    "南昌农商银行",
                    now,
                )
            )
    copy_rows(
        conn,
        PaymentAccount.__table__,
        ["household_id", "kind", "number", "holder_name", "bank_name", "updated_at"],
        accounts,
    )
    # a month of benefits: per village, a pay sheet (wages) and a distribution (dividends) with a line
    # for each of its households, dated over the last 30 days
    today = now.astimezone(BEIJING).date()
    rid = _next_id(conn, BenefitRecord.__table__)
    eid = _next_id(conn, IncomeEntry.__table__)
    records, entries = [], []
    for vid, ids in households.items():
        for kind, low, high in (("wage", 6000, 36000), ("dividend", 500, 3000)):
            day = today - timedelta(days=rnd.randrange(1, 30))
            amounts = [rnd.randrange(low, high) for _ in ids]
            records.append((rid, kind, day, day, f"压测{kind} {day:%Y-%m}", {"lines": len(ids)}, sum(amounts), now))
            for index, (h, amount) in enumerate(zip(ids, amounts)):
                split = {"record_id": rid, "line": index, **({"member_no": 1} if kind == "wage" else {})}
                entries.append((eid, h, rid, "recorded", kind, f"record:{rid}:{index}", amount, split, vid, day, now))
                eid += 1
            rid += 1
    copy_rows(
        conn,
        BenefitRecord.__table__,
        ["id", "kind", "period_from", "period_to", "description", "detail", "total_fen", "created_at"],
        records,
    )
    copy_rows(
        conn,
        IncomeEntry.__table__,
        [
            "id",
            "household_id",
            "record_id",
            "kind",
            "benefit_kind",
            "ref",
            "amount_fen",
            "split",
            "village_id",
            "entry_date",
            "created_at",
        ],
        entries,
    )
    for t in (BenefitRecord, IncomeEntry):
        _fix_sequence(conn, t.__table__)
    _log(f"households: {len(rows)} new, {len(accounts)} payment accounts, {len(entries)} recorded benefits")


def generate(sizes: dict, seed: int = 2017) -> list[str]:
    """Load the volume; returns warnings for the sections that could not be loaded."""
    from shop.extensions import db

    app = bench_app()
    now = datetime.now(timezone.utc).replace(microsecond=0)
    warnings = []
    with app.app_context():
        with db.engine.connect() as conn:
            superuser = bool(
                conn.exec_driver_sql("SELECT rolsuper FROM pg_roles WHERE rolname = current_user").scalar()
            )
        for label, fn in (
            ("users", lambda c, r: generate_users(c, now)),
            ("products", lambda c, r: generate_products(c, sizes["products"], now, r)),
            ("papers", lambda c, r: generate_papers(c, now)),
            ("listings", lambda c, r: generate_listings(c, sizes["listings"], now, r)),
            ("orders", lambda c, r: generate_orders(c, sizes["orders"], now, r)),
            # after the orders: their lines credit the demo households only (a village's 700 households
            # on every line would make a billion entries); the payout batch pays all of them
            ("households", lambda c, r: generate_households(c, sizes["households"], now, r)),
        ):
            started = time.monotonic()
            try:
                with db.engine.begin() as conn:
                    if superuser:  # rows are consistent by construction: skip FK triggers while loading
                        conn.exec_driver_sql("SET LOCAL session_replication_role = replica")
                    fn(conn, random.Random(f"{seed}-{label}"))
            except Exception as exc:  # one broken section must not hide the others' figures
                warnings.append(f"{label}: {type(exc).__name__}: {exc}".splitlines()[0][:300])
                _log(f"WARNING {warnings[-1]}")
                continue
            _log(f"{label} loaded in {time.monotonic() - started:.1f} s")
        # the daily summaries (county reports) are kept by the ledger's services, which COPY
        # bypasses: sum them again from the entries and figures
        from ledger.summaries import REBUILD

        started = time.monotonic()
        with db.engine.begin() as conn:
            for statement in REBUILD:
                conn.execute(sa.text(statement))
        _log(f"income_daily and sale_daily rebuilt in {time.monotonic() - started:.1f} s")
        # and every entry's `payables` row (what the payout batch reads), which the ledger writes with it
        from ledger.payouts import PAYABLES_REBUILD

        started = time.monotonic()
        with db.engine.begin() as conn:
            for statement in PAYABLES_REBUILD:
                conn.execute(sa.text(statement))
        _log(f"payables rebuilt in {time.monotonic() - started:.1f} s")
        # as after any bulk load: statistics for the planner, and the visibility map that lets the
        # reports' covering index answer without visiting the table (an index-only scan)
        with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            conn.execute(sa.text("VACUUM ANALYZE"))
    return warnings


# --- manifest ------------------------------------------------------------------------------------


def manifest() -> dict:
    """What the load generator needs: paths, ids, accounts, the report month."""
    from catalog.models import Category, Product, Village
    from shop.extensions import db
    from stock.models import StockRecord
    from tourism.models import Listing, UnitType

    app = bench_app()
    with app.app_context(), db.engine.connect() as conn:
        visible = (Product.approval_status == "approved") & Product.is_published.is_(True)
        total = conn.execute(sa.select(sa.func.count()).select_from(Product).where(visible)).scalar() or 0
        popular = conn.execute(
            sa.select(Product.id, Product.slug)
            .where(visible)
            .order_by(Product.sold_count.desc(), Product.id)
            .limit(2000)
        ).all()
        pool = conn.execute(
            sa.select(StockRecord.product_id, Product.station_id)
            .join(Product, Product.id == StockRecord.product_id)
            .where(visible, StockRecord.on_hand - StockRecord.allocated >= POOL_STOCK // 2)
            .order_by(StockRecord.product_id)
        ).all()
        stays = conn.execute(
            sa.select(UnitType.id, UnitType.listing_id, UnitType.max_guests)
            .join(Listing, Listing.id == UnitType.listing_id)
            .where(Listing.kind == "stay", Listing.is_published.is_(True))
            .order_by(UnitType.id)
        ).all()
        categories = conn.execute(sa.select(Category.slug).order_by(Category.position)).scalars().all()
        villages = conn.execute(sa.select(Village.slug).order_by(Village.id)).scalars().all()
        # words visitors type, for the long-tail search (bench.run.longtail_queries pairs them up)
        words = set(conn.execute(sa.select(Village.name)).scalars()) | set(
            conn.execute(sa.select(Category.name)).scalars()
        )
        words |= {s for s in conn.execute(sa.select(Village.signature_product)).scalars() if s}
        words |= set(ADJECTIVES) | {pack for pack, _price, _weight in PACKS}
    today = datetime.now(BEIJING).date()
    last_month_end = today.replace(day=1) - timedelta(days=1)
    return {
        "visible_products": total,
        "catalog_pages": max(1, -(-total // 24)),
        "product_paths": [f"/products/{pid}-{slug}" for pid, slug in popular],
        "pool": [[pid, sid] for pid, sid in pool],
        "stay_unit_types": [{"unit_type_id": u, "listing_id": lid, "max_guests": g} for u, lid, g in stays],
        "categories": list(categories),
        "villages": list(villages),
        "search_words": sorted(words),
        "consumers": [f"bench-user-{i:03d}@bench.cn" for i in range(1, 17)],
        "consumer_password": BENCH_PASSWORD,
        "county": {"email": "county@demo.cn", "password": "demo12345"},
        "report_month": {"from": last_month_end.replace(day=1).isoformat(), "to": last_month_end.isoformat()},
    }


def counts() -> dict:
    from shop.extensions import db

    app = bench_app()
    tables = [
        "products",
        "listings",
        "orders",
        "order_lines",
        "income_entries",
        "sale_figures",
        "households",
        "bookings",
    ]
    out = {}
    with app.app_context(), db.engine.connect() as conn:
        for t in tables:
            try:
                out[t] = conn.execute(sa.text(f'SELECT count(*) FROM "{t}"')).scalar()
            except Exception:
                conn.rollback()
    return out


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.volume", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    sub.add_parser("schema", help="drop and rebuild the schema of the bench database")
    g = sub.add_parser("generate", help="load the generated volume (after seed-demo)")
    g.add_argument("--small", action="store_true", help="1,000 products, 20 listings, 5,000 orders")
    g.add_argument("--warnings-out", help="write the warnings (JSON list) here")
    m = sub.add_parser("manifest", help="write the load generator's manifest")
    m.add_argument("--out", required=True)
    gu = sub.add_parser("guests", help="new consumer accounts with API tokens (the booking scenario's guests)")
    gu.add_argument("--count", type=int, required=True)
    gu.add_argument("--out", required=True, help="write the tokens (JSON list) here")
    sub.add_parser("counts", help="print row counts")
    sub.add_parser("analyze", help="refresh the planner's statistics (ANALYZE), as autovacuum would")
    args = parser.parse_args(argv)

    if args.cmd == "schema":
        from flask_migrate import stamp

        from shop.extensions import db
        from shop.schema import create_schema, drop_schema

        app = bench_app()
        with app.app_context():
            drop_schema()
            create_schema()
            db.session.remove()
            # the schema is the models' at the newest migration: stamped so, a later `--reuse-data` run
            # brings the data to a newer checkout's schema with `flask db upgrade` (bench.run)
            stamp()
        _log("schema rebuilt")
    elif args.cmd == "analyze":
        from shop.extensions import db

        started = time.monotonic()
        with bench_app().app_context():
            with db.engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(sa.text("ANALYZE"))
        _log(f"statistics refreshed in {time.monotonic() - started:.1f} s")
    elif args.cmd == "generate":
        started = time.monotonic()
        warnings = generate(SMALL if args.small else FULL)
        if args.warnings_out:
            with open(args.warnings_out, "w") as fh:
                json.dump(warnings, fh, ensure_ascii=False)
        _log(f"volume loaded in {time.monotonic() - started:.1f} s")
    elif args.cmd == "manifest":
        data = manifest()
        with open(args.out, "w") as fh:
            json.dump(data, fh, ensure_ascii=False)
        _log(
            f"manifest: {data['visible_products']} visible products, {len(data['pool'])} in the "
            f"checkout pool, {len(data['stay_unit_types'])} stay unit types"
        )
    elif args.cmd == "guests":
        with open(args.out, "w") as fh:
            json.dump(create_guests(args.count), fh)
    elif args.cmd == "counts":
        print(json.dumps(counts()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
