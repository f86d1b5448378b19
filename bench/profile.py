"""Where a page spends its time: cProfile + SQL statement count and time, in process, on the bench data.

    python -m bench.profile                       # the benchmark's pages
    python -m bench.profile "/search?q=腌菜" --repeat 50 --top 25
    python -m bench.profile --as bench-user-001@bench.cn:bench-pass-2026 --post '{"items": [...], ...}' /api/v1/orders
    python -m bench.profile --as county@demo.cn:demo12345 "/api/v1/county/income?group_by=village&from=2026-10-01&to=2026-10-31"
    python -m bench.profile --session bench-user-001@bench.cn:bench-pass-2026 --cache / "/products?page=3" /cart
    python -m bench.profile --longtail 100          # the long-tail search: 100 distinct queries, each once

Runs against the database of the last `python -m bench.run` (BENCH_DATABASE_URL / DATABASE_URL,
default the `bench` database) and its search index (BENCH_WORKDIR/index). Each path is requested once
to warm up, `--repeat` times unprofiled (mean wall and CPU time: the figures to compare before/after),
then `--repeat` times under the profiler; the output is the mean time, the SQL statements
per request with their share of the time, and the functions with the most cumulative time.

`--session EMAIL:PASSWORD` logs in through the login form (a browser session: cookie, CSRF token)
as the benchmark's logged-in scenarios do (`pages_user`, `cart`); with `--cache` the page cache
stays on, as in the benchmark (logged-in pages are then answered from the page's entry with their
personal parts rendered per request, shop.pagecache).
`--sql` prints the statements of one request after its profile. `--broker URL` publishes tasks to a
broker (through the outbox, as the benchmark's web processes do) instead of running them in process.

`--longtail N` profiles the `search_longtail` scenario's requests instead of repeating one path:
`/search?q=` with distinct pairs and triples of the manifest's search words (BENCH_WORKDIR/manifest.json,
the same generator as `bench.run`), each sent ONCE (warm-up, timed and profiled requests all
different), so neither the index's result cache nor any page cache answers one.

Writes that cannot be sent twice (a booking takes a room; a guest may hold only two unpaid bookings)
are profiled as the benchmark sends them: `--bodies FILE` (a JSON list of bodies) POSTs the next body
on each request, `--tokens FILE` (a JSON list of bearer tokens, as `python -m bench.volume guests
--out FILE` writes them) sends each request with the next token, both cycling:

    python -m bench.volume guests --count 200 --out /tmp/guests.json
    python -m bench.profile --tokens /tmp/guests.json --bodies /tmp/stays.json --repeat 40 /api/v1/bookings

`--cpu` makes the profiler count the requests' thread's CPU time instead of wall time (waits for the
database drop out of the listing, and so does the app's background threads' work, the outbox relay's
publishing, which would otherwise land on whatever function the requests' thread is in); the header
splits the process CPU into the requests' thread and the rest, gives the garbage collector's share
(the loaded app is `gc.freeze()`d after the warm-up, as the benchmark's gunicorn master does before
it forks; `--no-gc-freeze` to compare), and also gives the statuses of the timed requests and the Python function
calls per request, which a busy machine does not blur. `--dump FILE` keeps the profile for pstats.
"""

from __future__ import annotations

import argparse
import cProfile
import gc
import io
import json
import os
import pstats
import sys
import time
import urllib.parse
from collections import Counter
from pathlib import Path

DEFAULT_PATHS = [
    "/",
    "/products",
    "/products?page=7",
    "PRODUCT",
    "/search?q=腌菜",
    "/search?q=yancai",
    "/api/v1/products?per_page=24",
]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.profile", description=__doc__.split("\n\n")[0])
    parser.add_argument("paths", nargs="*", help="paths to profile (default: the benchmark's pages)")
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--top", type=int, default=15, help="functions to list per path")
    parser.add_argument("--as", dest="login", default="", help="EMAIL:PASSWORD: send a bearer token")
    parser.add_argument(
        "--session", default="", help="EMAIL:PASSWORD: log in through the login form (browser session cookie)"
    )
    parser.add_argument("--sql", action="store_true", help="print the SQL statements of one request per path")
    parser.add_argument("--post", default="", help="a JSON body: POST it instead of GET (e.g. an order)")
    parser.add_argument(
        "--longtail", type=int, default=0, metavar="N", help="N distinct long-tail searches, each sent once"
    )
    parser.add_argument(
        "--broker",
        default="",
        help="a Celery broker URL (e.g. redis://127.0.0.1:6379/4): tasks go through the outbox to it, as in the "
        "benchmark's web processes, instead of running in this process (an order's e-mail, say)",
    )
    parser.add_argument("--sort", default="cumulative", help="the profile's order: cumulative or tottime")
    parser.add_argument("--bodies", default="", help="a file with a JSON list of bodies: POST the next on each request")
    parser.add_argument(
        "--tokens", default="", help="a file with a JSON list of bearer tokens: the next on each request"
    )
    parser.add_argument(
        "--cpu",
        action="store_true",
        help="the profiler counts the requests' thread CPU time (time.thread_time), not wall time: waits for the "
        "database and the app's background threads drop out",
    )
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="do not gc.freeze() the loaded app after the warm-up (the benchmark's gunicorn master freezes it)",
    )
    parser.add_argument("--dump", default="", help="write each profile to this file (pstats; -N after the first)")
    parser.add_argument(
        "--cache",
        action="store_true",
        help="keep the page cache on (the default profiles the rendering: every request a miss)",
    )
    args = parser.parse_args(argv)

    workdir = Path(os.environ.get("BENCH_WORKDIR", "/tmp/village-eline-bench"))
    os.environ["DATABASE_URL"] = os.environ.get("BENCH_DATABASE_URL") or os.environ.get(
        "DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
    )
    os.environ.setdefault("SEARCH_INDEX_DIR", str(workdir / "index"))
    os.environ.setdefault("UPLOAD_DIR", str(workdir / "uploads"))
    os.environ["CELERY_BROKER_URL"] = args.broker
    import logging

    import sqlalchemy as sa
    from sqlalchemy import event

    from shop import create_app

    logging.disable(logging.INFO)  # the app's INFO chatter would drown the profile
    app = create_app({"PAGE_CACHE": bool(args.cache), "CACHE_REDIS_URL": ""})
    logging.getLogger().setLevel(logging.WARNING)
    client = app.test_client()
    headers = {}
    if args.login:
        email, _, password = args.login.partition(":")
        response = client.post("/api/v1/auth/token", json={"email": email, "password": password})
        if response.status_code != 200:
            sys.exit(f"login failed: {response.status_code} {response.get_data(as_text=True)[:200]}")
        headers["Authorization"] = f"Bearer {response.get_json()['token']}"
    if args.session:
        login_form(client, *args.session.split(":", 1))

    paths = args.paths or ([] if args.longtail else DEFAULT_PATHS)
    if "PRODUCT" in paths:
        from catalog.models import Product
        from shop.extensions import db

        with app.app_context():
            p = db.session.scalar(
                sa.select(Product)
                .where(Product.approval_status == "approved")
                .order_by(Product.sold_count.desc())
                .limit(1)
            )
        paths = [f"/products/{p.id}-{p.slug}" if x == "PRODUCT" else x for x in paths]

    sql = {"n": 0, "t": 0.0, "start": 0.0, "log": None}

    def before(*_a):
        sql["start"] = time.perf_counter()

    def after(_conn, _cursor, statement, *_a):
        sql["n"] += 1
        sql["t"] += time.perf_counter() - sql["start"]
        if sql["log"] is not None:
            sql["log"].append(" ".join(statement.split()))

    collector = {"t": 0.0, "n": 0, "start": 0.0}

    def collecting(phase, _info):
        if phase == "start":
            collector["start"] = time.process_time()
        else:
            collector["t"] += time.process_time() - collector["start"]
            collector["n"] += 1

    gc.callbacks.append(collecting)
    event.listen(sa.engine.Engine, "before_cursor_execute", before)
    event.listen(sa.engine.Engine, "after_cursor_execute", after)
    per = max(1, args.repeat)
    jobs = [(path, [path], [path] * per, [path] * per, path) for path in paths]
    if args.longtail:
        queries = [f"/search?{urllib.parse.urlencode({'q': q})}" for q in longtail(workdir, 3 + 2 * args.longtail + 1)]
        n = args.longtail
        if len(queries) < 3 + 2 * n + 1:
            sys.exit(f"--longtail {n}: the manifest's words give only {len(queries)} distinct queries")
        label = f"long-tail search: {n} distinct queries, each once (e.g. {queries[3]})"
        jobs.append((label, queries[:3], queries[3 : 3 + n], queries[3 + n : 3 + 2 * n], queries[-1]))
    bodies = (
        [json.dumps(b, ensure_ascii=False) for b in json.loads(Path(args.bodies).read_text())] if args.bodies else []
    )
    tokens = json.loads(Path(args.tokens).read_text()) if args.tokens else []
    sent = {"n": 0}
    for number, (label, warm, timed, profiled, last) in enumerate(jobs):

        def send(path):
            n, sent["n"] = sent["n"], sent["n"] + 1
            these = {**headers, "Authorization": f"Bearer {tokens[n % len(tokens)]}"} if tokens else headers
            body = bodies[n % len(bodies)] if bodies else args.post
            if body:
                return client.post(path, headers=these, data=body, content_type="application/json")
            return client.get(path, headers=these)

        status = [send(path).status_code for path in warm][-1]  # warm-up
        if not args.no_gc_freeze:  # as bench/gunicorn.conf.py's when_ready does before the workers fork
            gc.collect()
            gc.freeze()
        collector.update(t=0.0, n=0)
        statuses: Counter[int] = Counter()
        started = time.perf_counter()
        cpu = time.process_time()
        thread_cpu = time.thread_time()
        for path in timed:
            statuses[send(path).status_code] += 1
        per = len(timed)
        plain = (time.perf_counter() - started) / per
        plain_cpu = (time.process_time() - cpu) / per
        plain_thread = (time.thread_time() - thread_cpu) / per
        plain_gc = (collector["t"] / per, collector["n"] / per)
        sql.update(n=0, t=0.0)
        profiler = cProfile.Profile(time.thread_time) if args.cpu else cProfile.Profile()
        started = time.perf_counter()
        profiler.enable()
        for path in profiled:
            send(path)
        profiler.disable()
        elapsed = (time.perf_counter() - started) / per
        print(
            f"\n=== {label}  HTTP {status}  {plain * 1000:.2f} ms/request ({plain_cpu * 1000:.2f} ms CPU in this "
            f"process, {plain_thread * 1000:.2f} ms of it in the requests' thread, {plain_gc[0] * 1000:.2f} ms in "
            f"{plain_gc[1]:.2f} garbage collections; unprofiled), {elapsed * 1000:.1f} ms/request (profiled), "
            f"{sql['n'] / per:.1f} SQL statements taking {sql['t'] / per * 1000:.1f} ms; "
            f"timed requests' statuses {dict(statuses)}"
        )
        if args.dump:
            profiler.dump_stats(args.dump if number == 0 else f"{args.dump}-{number}")
        out = io.StringIO()
        stats = pstats.Stats(profiler, stream=out)
        # the calls are counted exactly: a measure of the work that a busy machine does not blur
        print(f"    {stats.total_calls / per:,.0f} Python function calls per request (profiled)")
        stats.sort_stats(args.sort).print_stats(args.top)
        lines = out.getvalue().splitlines()
        start = next((i for i, line in enumerate(lines) if line.strip().startswith("ncalls")), 0)
        print("\n".join(lines[start:]))
        if args.sql:
            sql["log"] = []
            send(last)
            print(f"--- SQL of one request ({len(sql['log'])}):")
            for statement in sql["log"]:
                print("   ", statement[:300])
            sql["log"] = None
    return 0


def longtail(workdir: Path, n: int) -> list[str]:
    """`n` distinct long-tail queries from the bench manifest, as `bench.run`'s search_longtail builds them."""
    import random

    from bench.run import longtail_queries

    manifest = workdir / "manifest.json"
    try:
        words = json.loads(manifest.read_text(encoding="utf-8")).get("search_words") or []
    except OSError:
        sys.exit(f"--longtail: no {manifest} (run python -m bench.run first)")
    return longtail_queries(words, random.Random(2026), n)


def login_form(client, email: str, password: str) -> None:
    """Log the test client in through GET/POST /login (as bench.run's `fetch_sessions` does), then
    show one page so that the welcome flash message is consumed (the cookie is then stable)."""
    import re

    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page)
    if token is None:
        sys.exit("login form: no CSRF token on /login")
    response = client.post("/login", data={"csrf_token": token.group(1), "email": email, "password": password})
    if response.status_code not in (302, 303):
        sys.exit(f"login form failed: HTTP {response.status_code}")
    client.get("/cart")


if __name__ == "__main__":
    sys.exit(main())
