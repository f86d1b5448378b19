"""`make bench` = `python -m bench.run`: the shop in its production shape against a hello-world ceiling.

Starts on loopback: gunicorn (the shop, then the bare Flask reference with the same settings),
nginx in front of the shop's gunicorn with the repository's deploy/nginx.conf (Debian's package;
the anonymous page scenarios go through it, as visitors' requests do in production), PostgreSQL
(must be running; the `bench` database is created and rebuilt), Redis (db 14; a private
redis-server is started when none answers) and a Celery worker; loads the demo data plus the
generated volume (bench/volume.py); drives each scenario with wrk (16 connections, fixed duration);
prints one table and writes it to bench/results.md. Options: `python -m bench.run --help`.
Every loop is bounded in count and time; all traffic goes to 127.0.0.1.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import platform
import random
import resource
import shutil
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from pathlib import Path

from bench.openloop import run_open_loop

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
DEFAULT_DB = "postgresql+psycopg://postgres@127.0.0.1:5432/bench"
DEFAULT_REDIS = "redis://127.0.0.1:6379/14"
#: BENCH_PORT moves both servers (e.g. two benchmarks on one machine).
APP_PORT = int(os.environ.get("BENCH_PORT", "8801"))
HELLO_PORT = APP_PORT + 1
NGINX_PORT = APP_PORT + 2
#: localstripe (the mixed checkout is paid by card: its PaymentIntents go there, in memory, on loopback)
STRIPE_PORT = APP_PORT + 3
#: The Celery worker runs niced, as in production (README, "Production"): e-mails and index updates
#: take the CPU the web requests leave; under a burst they lag by seconds, never the buyer. BENCH_WORKER_NICE=0: not.
NICE = (
    ["nice", "-n", os.environ.get("BENCH_WORKER_NICE", "10")]
    if os.environ.get("BENCH_WORKER_NICE", "10") != "0"
    else []
)
WORKER_NICE_NOTE = f", {' '.join(NICE)}" if NICE else ""

# Popular queries repeat (a Zipf-like mix): Chinese words, full pinyin, initials, village names.
SEARCH_QUERIES = [
    ("腌菜", 30),
    ("土鸡蛋", 22),
    ("yancai", 15),
    ("大米", 14),
    ("无花果", 12),
    ("板鸭", 10),
    ("藜蒿", 8),
    ("banya", 7),
    ("by", 6),
    ("草莓", 6),
    ("龙虾", 5),
    ("tjd", 4),
    ("wuhuaguo", 4),
    ("味蛋", 3),
    ("芦蒿", 3),
    ("柴鸡蛋", 3),
    ("三江腌菜", 3),
    ("桃花村", 2),
    ("富硒大米", 2),
    ("黄鳝", 2),
    ("xigua", 2),
    ("民宿", 2),
    ("礼盒", 2),
    ("有机 大米", 1),
    ("鸡蛋 礼盒", 1),
    ("lihao", 1),
    ("yc", 1),
    ("柳溪村", 1),
    ("西瓜", 1),
    ("hx", 1),
]

# name -> (kind of target, value[, p99 ms]) from the issues; None = no target. The anonymous pages are
# measured through nginx (the production shape): the proxy should answer them at a web server's speed.
TARGETS = {
    "home": ("ratio", 1.0),
    "catalog": ("ratio", 1.0),
    "product": ("ratio", 1.0),
    "search": ("ratio", 0.10),
    "search_longtail": ("ratio", 0.05),
    "api_products": None,
    "checkout": ("rps_p99", 150, 150),
    "booking": ("rps", 150),
    "mixed_checkout": ("rps_p99", 100, 200),
    "county_income": ("p99_ms", 1000),
    "pages_user": ("ratio", 0.20),
    "cart": ("ratio", 0.20),
    # in process, not through wrk (bench/payouts.py): create + export a month's batch for every household
    "payout_batch": ("seconds", 10),
}
#: Anonymous page scenarios: sent to nginx (deploy/nginx.conf) in front of gunicorn, unless --no-nginx.
PROXIED = ("home", "catalog", "product", "search", "search_longtail")
#: Distinct queries of the long-tail search scenario (each sent once: no page or result cache can help).
LONGTAIL_QUERIES = 30_000


def log(msg: str) -> None:
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", flush=True)


# --- processes -----------------------------------------------------------------------------------


class Procs:
    """The processes this run started (each in its own process group); stopped by id at the end."""

    def __init__(self, workdir: Path):
        self.workdir = workdir
        self.items: dict[str, subprocess.Popen] = {}

    def start(self, name: str, argv: list[str], env: dict) -> subprocess.Popen:
        logfile = open(self.workdir / f"{name}.log", "ab")
        proc = subprocess.Popen(
            argv,
            cwd=ROOT,
            env=env,
            stdout=logfile,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,
        )
        self.items[name] = proc
        return proc

    def stop(self, name: str) -> None:
        proc = self.items.pop(name, None)
        if proc is None or proc.poll() is not None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
        except ProcessLookupError:
            return
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            try:
                os.killpg(proc.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            proc.wait(timeout=10)

    def stop_all(self) -> None:
        for name in list(self.items)[::-1]:
            self.stop(name)


def wait_until(check, timeout: float, what: str, proc: subprocess.Popen | None = None) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc is not None and proc.poll() is not None:
            raise RuntimeError(f"{what}: the process exited with {proc.returncode} (see its log)")
        try:
            if check():
                return
        except Exception:
            pass
        time.sleep(0.2)
    raise RuntimeError(f"{what}: not ready after {timeout:.0f} s")


def http(
    method: str, url: str, *, headers: dict | None = None, body: bytes | None = None, timeout: float = 30
) -> tuple[int, bytes]:
    req = urllib.request.Request(url, data=body, method=method, headers=headers or {})
    opener = urllib.request.build_opener(NoRedirect)
    try:
        with opener.open(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


# --- prerequisites -------------------------------------------------------------------------------


def ensure_wrk(install: bool) -> str:
    path = shutil.which("wrk")
    if path:
        return path
    if install and os.geteuid() == 0 and shutil.which("apt-get"):
        log("installing wrk from Debian (apt-get install -y wrk)")
        subprocess.run(["apt-get", "install", "-y", "-q", "wrk"], check=False, timeout=300, stdout=subprocess.DEVNULL)
        path = shutil.which("wrk")
        if not path:
            subprocess.run(["apt-get", "update", "-q"], check=False, timeout=300, stdout=subprocess.DEVNULL)
            subprocess.run(
                ["apt-get", "install", "-y", "-q", "wrk"], check=False, timeout=300, stdout=subprocess.DEVNULL
            )
            path = shutil.which("wrk")
    if not path:
        sys.exit(
            "bench: the load generator wrk is missing. Install it with `sudo apt-get install -y wrk` "
            "(Debian/Ubuntu) and run `make bench` again."
        )
    return path


#: Debian's libnginx-mod-http-cache-purge (deploy/nginx.conf loads it by this path).
NGINX_PURGE_MODULE = "/usr/lib/nginx/modules/ngx_http_cache_purge_module.so"


def ensure_nginx(install: bool) -> str:
    """Debian's nginx binary; installed with apt-get when missing and this run is root (as wrk is)."""

    def found() -> str | None:
        path = shutil.which("nginx") or "/usr/sbin/nginx"
        return path if os.access(path, os.X_OK) and os.path.exists(NGINX_PURGE_MODULE) else None

    packages = ["nginx", "libnginx-mod-http-cache-purge"]
    if not found() and install and os.geteuid() == 0 and shutil.which("apt-get"):
        log(f"installing nginx from Debian (apt-get install -y {' '.join(packages)})")
        for argv in (
            ["apt-get", "install", "-y", "-q", *packages],
            ["apt-get", "update", "-q"],
            ["apt-get", "install", "-y", "-q", *packages],
        ):
            subprocess.run(
                argv,
                check=False,
                timeout=300,
                stdout=subprocess.DEVNULL,
                env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"},
            )
            if found():
                break
    path = found()
    if not path:
        sys.exit(
            "bench: nginx (the production shape's reverse proxy) or its cache-purge module is missing. Install "
            "them with `sudo apt-get install -y nginx libnginx-mod-http-cache-purge` (Debian/Ubuntu) and run "
            "`make bench` again, "
            "or pass --no-nginx to measure the pages against gunicorn directly."
        )
    return path


def nginx_config(workdir: Path) -> Path:
    """deploy/nginx.conf as the repository ships it, with only the installation's places filled in:
    the checkout as `root`, the bench ports, and pid and temp files in the work folder. A change to
    those lines in deploy/ that this does not recognise stops the run (the bench measures that file)."""
    prefix = workdir / "nginx"
    prefix.mkdir(parents=True, exist_ok=True)
    text = (ROOT / "deploy" / "nginx.conf").read_text()
    for old, new in (
        ("/tmp/village-eline-nginx.pid", str(prefix / "nginx.pid")),
        ("/tmp/village-eline-nginx-", str(prefix) + "/"),
        ("root /srv/village-eline;", f"root {ROOT};"),
        ("server 127.0.0.1:8000;", f"server 127.0.0.1:{APP_PORT};"),
        ("listen 8080;", f"listen 127.0.0.1:{NGINX_PORT};"),
    ):
        if old not in text:
            raise RuntimeError(f"deploy/nginx.conf: expected {old!r} (bench/run.py fills it in)")
        text = text.replace(old, new)
    path = prefix / "nginx.conf"
    path.write_text(text)
    return path


def start_nginx(procs: Procs, nginx: str, workdir: Path) -> subprocess.Popen:
    conf = nginx_config(workdir)
    # pages an earlier run left on disk were registered in a Redis db this run flushed: no one could purge them
    shutil.rmtree(conf.parent / "cache", ignore_errors=True)
    argv = [nginx, "-e", "stderr", "-p", str(conf.parent), "-c", str(conf), "-g", "daemon off;"]
    check = subprocess.run(argv[:-2] + ["-t"], capture_output=True, text=True, timeout=30)
    if check.returncode != 0:
        raise RuntimeError(f"nginx -t refused the configuration: {check.stderr.strip()[-800:]}")
    proc = procs.start("nginx", argv, dict(os.environ))
    wait_until(lambda: http("GET", f"http://127.0.0.1:{NGINX_PORT}/healthz", timeout=5)[0] == 200, 30, "nginx", proc)
    return proc


def libpq_url(url: str) -> str:
    return url.replace("postgresql+psycopg://", "postgresql://", 1)


def ensure_database(url: str) -> str:
    import psycopg

    parsed = urllib.parse.urlsplit(libpq_url(url))
    name = parsed.path.lstrip("/")
    if "bench" not in name:
        sys.exit(f"bench: refusing to rebuild database {name!r}: its name must contain 'bench'")
    admin = parsed._replace(path="/postgres").geturl()
    try:
        with psycopg.connect(admin, autocommit=True, connect_timeout=5) as conn:
            if not conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone():
                conn.execute(f'CREATE DATABASE "{name}"')
                log(f"created database {name}")
            return conn.execute("SHOW server_version").fetchone()[0]
    except psycopg.OperationalError as exc:
        sys.exit(
            f"bench: PostgreSQL does not answer at {parsed.hostname}:{parsed.port or 5432} ({exc}). "
            "Start it (e.g. `pg_ctlcluster 15 main start`) or pass --database-url."
        )


def ensure_redis(url: str, procs: Procs) -> str:
    import redis

    client = redis.Redis.from_url(url, socket_connect_timeout=2)
    try:
        client.ping()
    except redis.exceptions.ConnectionError:
        parsed = urllib.parse.urlsplit(url)
        if parsed.hostname not in ("127.0.0.1", "localhost") or not shutil.which("redis-server"):
            sys.exit(f"bench: Redis does not answer at {url}; start it or pass --redis-url")
        log(f"starting a private redis-server on 127.0.0.1:{parsed.port or 6379}")
        proc = procs.start(
            "redis",
            [
                "redis-server",
                "--port",
                str(parsed.port or 6379),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
            ],
            dict(os.environ),
        )
        wait_until(client.ping, 15, "redis-server", proc)
    client.flushdb()  # our own db number only
    return client.info("server").get("redis_version", "?")


# --- data ----------------------------------------------------------------------------------------


def run_step(argv: list[str], env: dict, what: str, timeout: float) -> None:
    started = time.monotonic()
    result = subprocess.run(argv, cwd=ROOT, env=env, timeout=timeout, capture_output=True, text=True)
    if result.returncode != 0:
        sys.stderr.write(result.stdout[-3000:] + result.stderr[-5000:])
        raise RuntimeError(f"{what} failed (exit {result.returncode})")
    for line in result.stdout.splitlines():
        if line.startswith("[volume]") or "Indexed" in line:
            log(line)
    log(f"{what}: {time.monotonic() - started:.1f} s")


#: Bookings per second the booking scenario's guest list is sized for (each guest books twice at most,
#: and each wrk thread sends its own share of the list once: the run reports it if a request came twice).
GUEST_BOOKINGS_PER_SECOND = 1000


def guest_count(seconds: int) -> int:
    return max(500, GUEST_BOOKINGS_PER_SECOND * seconds // 2)


def load_data(args, env: dict) -> list[str]:
    py = str(BIN / "python")
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    plain = {**env, "CELERY_BROKER_URL": ""}  # data steps run their tasks eagerly, no worker needed
    warnings_file = args.workdir / "volume-warnings.json"
    warnings_file.unlink(missing_ok=True)
    extra_warnings: list[str] = []
    if not args.reuse_data:
        run_step([py, "-m", "bench.volume", "schema"], plain, "schema", 120)
        run_step(flask + ["seed-demo"], plain, "seed-demo", 300)
        run_step(
            [py, "-m", "bench.volume", "generate", "--warnings-out", str(warnings_file)]
            + (["--small"] if args.small else []),
            plain,
            "volume",
            1800,  # about 7 minutes on a quiet 2-core machine; much more beside other work
        )
    else:
        # data loaded by an older checkout: its schema brought to this one's before any step reads it with
        # this checkout's models (the load stamps the newest migration of its day: bench.volume schema).
        # A database loaded before loads were stamped stops here ("relation ... already exists"): stamp
        # it once with its load's revision (bench/README.md)
        run_step(flask + ["db", "upgrade"], plain, "schema upgrade", 900)
    # new data needs a new index; reused data needs one only in a work folder that has none yet, or
    # one written before the index writer saved the pinyin table web workers read (search/pinyin.py:
    # without it a worker loads pypinyin's 50 MB on the first pinyin query)
    index_missing = (
        not any((args.workdir / "index").glob("*.toc")) or not (args.workdir / "index" / "pinyin.marshal").exists()
    )
    if not args.no_reindex:
        # reused data with an index: rebuilt only when an older version wrote it (its first search
        # would otherwise rebuild it inside a web worker, in the measured scenario)
        fresh = not args.reuse_data or index_missing
        probe = subprocess.run(flask + ["search", "--help"], cwd=ROOT, env=plain, capture_output=True, timeout=60)
        if probe.returncode == 0:
            if fresh:
                shutil.rmtree(args.workdir / "index", ignore_errors=True)
            try:
                run_step(
                    flask + ["search", "reindex"] + ([] if fresh else ["--if-outdated"]), plain, "search reindex", 900
                )
            except (RuntimeError, subprocess.TimeoutExpired) as exc:
                log(f"WARNING {exc}; the search scenario will show what that means")
                extra_warnings.append(f"search reindex: {exc}")
    run_step(
        [py, "-m", "bench.volume", "manifest", "--out", str(args.workdir / "manifest.json")], plain, "manifest", 120
    )
    # the booking scenario's guests: new accounts on every run, two bookings each at most (the cap of
    # open pay-on-arrival bookings per account is 2), enough for the fastest run of --seconds
    run_step(
        [
            py,
            "-m",
            "bench.volume",
            "guests",
            "--count",
            str(guest_count(args.seconds)),
            "--out",
            str(args.workdir / "guests.json"),
        ],
        plain,
        "guests",
        120,
    )
    if args.reuse_data:
        # the statistics of reused data date from its load, before the runs since added their orders
        # and bookings (e.g. every pay-at-station order is `confirmed`, a status the loaded orders never
        # have): without a refresh the planner reads the checkout's count of a buyer's open pay-later
        # orders through the index of every confirmed order, slower with each run. Production's
        # autovacuum analyzes a table once a tenth of it changed; here a run's orders are a fraction.
        run_step([py, "-m", "bench.volume", "analyze"], plain, "analyze", 300)
    try:
        volume_warnings = json.loads(warnings_file.read_text()) if warnings_file.exists() else []
    except ValueError:
        volume_warnings = []
    return volume_warnings + extra_warnings


# --- scenarios and the wrk script ----------------------------------------------------------------


@dataclass
class Req:
    method: str
    path: str
    headers: dict = field(default_factory=dict)
    body: str | None = None


@dataclass
class Scenario:
    name: str
    label: str
    requests: list[Req]
    api_path: str | None = None  # for "not available" detection through /api/v1/openapi.json
    result: dict | None = None
    note: str = ""
    #: each request meant to be sent once (distinct queries): never warmed nor measured twice
    single_use: bool = False


def zipf_pick(rnd: random.Random, items: list, n: int, s: float = 1.1) -> list:
    weights = [1 / (i + 1) ** s for i in range(len(items))]
    return rnd.choices(items, weights=weights, k=n)


def longtail_queries(words: list[str], rnd: random.Random, n: int = LONGTAIL_QUERIES) -> list[str]:
    """`n` distinct queries (at most what `words` allow): every ordered pair of words, then triples,
    shuffled. A long tail where no query comes twice, so neither the page cache nor the search
    result cache can answer one: what the index and the database cost per search."""
    words = sorted(set(w for w in words if w))
    out: list[str] = []
    seen: set[str] = set()
    for size in (2, 3):
        combos = (
            [(a, b) for a in words for b in words if a != b]
            if size == 2
            else [(a, b, c) for a in words for b in words for c in words if len({a, b, c}) == 3]
        )
        rnd.shuffle(combos)
        for combo in combos:
            q = " ".join(combo)
            if q not in seen:
                seen.add(q)
                out.append(q)
                if len(out) >= n:
                    return out
    return out


def build_scenarios(m: dict, tokens: dict, rnd: random.Random) -> list[Scenario]:
    """The scenarios in run order. `tokens` holds bearer tokens ("consumers", "county") and the
    cookies of logged-in browser sessions ("sessions", each with one line in its cart)."""
    consumer_tokens = tokens.get("consumers") or []
    county = tokens.get("county")
    json_h = {"Content-Type": "application/json"}
    pages = min(m["catalog_pages"], 40)
    catalog = [Req("GET", f"/products?page={p}") for p in zipf_pick(rnd, list(range(1, pages + 1)), 600)]
    catalog += [Req("GET", f"/categories/{c}") for c in zipf_pick(rnd, m["categories"], 200)]
    rnd.shuffle(catalog)
    search = []
    for q, w in SEARCH_QUERIES:
        search += [Req("GET", "/search?" + urllib.parse.urlencode({"q": q}))] * w
    rnd.shuffle(search)
    scenarios = [
        Scenario("home", "home page", [Req("GET", "/")]),
        Scenario("catalog", "catalog page (24 products)", catalog),
        Scenario("product", "product page", [Req("GET", p) for p in zipf_pick(rnd, m["product_paths"], 2000)]),
        Scenario("search", "search page (Chinese, pinyin)", search),
        Scenario(
            "search_longtail",
            "search page, long tail (every query distinct)",
            [
                Req("GET", "/search?" + urllib.parse.urlencode({"q": q}))
                for q in longtail_queries(m.get("search_words") or [], rnd)
            ],
            note="" if m.get("search_words") else "no search words in the manifest",
            single_use=True,
        ),
        Scenario(
            "api_products",
            "API product list",
            [
                Req("GET", f"/api/v1/products?page={p}&per_page=24")
                for p in zipf_pick(rnd, list(range(1, pages + 1)), 400)
            ],
            api_path="/products",
        ),
    ]
    sessions = tokens.get("sessions") or []
    user_pages = []
    if sessions:
        paths = (
            ["/"] * 10
            + [f"/products?page={p}" for p in zipf_pick(rnd, list(range(1, pages + 1)), 40)]
            + zipf_pick(rnd, m["product_paths"], 50)
        )
        for i, path in enumerate(rnd.sample(paths, len(paths)) * 10):
            user_pages.append(Req("GET", path, {"Cookie": sessions[i % len(sessions)], "User-Agent": BROWSER_UA}))
    scenarios.append(
        Scenario(
            "pages_user",
            "logged-in pages (home, catalog, product)",
            user_pages,
            note="" if user_pages else "no logged-in session",
        )
    )
    cart = [
        Req("GET", "/cart", {"Cookie": sessions[i % len(sessions)], "User-Agent": BROWSER_UA})
        for i in range(len(sessions) * 20)
    ]
    scenarios.append(
        Scenario("cart", "cart page (logged in, one line)", cart, note="" if cart else "no logged-in session")
    )
    address = {
        "name": "张伟",
        "phone": "13800138000",
        "province": "江西省",
        "city": "南昌市",
        "district": "南昌县",
        "line": "莲塘镇澄湖路1号",
    }
    checkout = []
    # each order from another buyer (the booking scenario's new accounts when there are: thousands),
    # as real traffic is: the checkout locks its buyer's row (the cap of open pay-later orders), so
    # the 16 consumers' tokens in turn had two wrk threads send orders of the same buyer at once and
    # measured waits for that lock that no real buyer causes
    buyers = tokens.get("guests") or consumer_tokens
    if buyers and m["pool"]:
        for i in range(2000):
            pid, station = m["pool"][rnd.randrange(len(m["pool"]))]
            body = {
                "items": [{"product_id": pid, "quantity": rnd.choice((1, 1, 2))}],
                "address": address,
                "delivery": "pickup",
                "pickup_station_id": station,
                "payment_method": "station_cash",
            }
            checkout.append(
                Req(
                    "POST",
                    "/api/v1/orders",
                    {**json_h, "Authorization": f"Bearer {buyers[i % len(buyers)]}"},
                    json.dumps(body, ensure_ascii=False),
                )
            )
    scenarios.append(
        Scenario(
            "checkout",
            "API checkout (pay at station)",
            checkout,
            api_path="/orders",
            note="" if checkout else "no consumer token or no stock pool",
        )
    )
    booking = []
    stays = m["stay_unit_types"]
    guests = tokens.get("guests") or []
    if guests and stays:
        today = datetime.now(timezone(timedelta(hours=8))).date()
        hot = stays[:5]
        hot_day = today + timedelta(days=30)
        # request 0 (the probe's, then wrk's) is guest 0's; requests k and k + n - 1 are guest k's (n
        # guests, k >= 1): no guest books more than twice, the cap of open pay-on-arrival bookings per
        # account, and never twice at once (a booking locks its guest's row: two wrk threads sending
        # one guest's two bookings together measured waits no real guest causes)
        for i in range(2 * len(guests) - 1):
            if i % 20 == 0:  # 5% on a few popular rooms and nights (409s there, never an oversell); the
                # rest spread over every stay and ~300 days, as real guests do: a 409 is the exception
                ut = hot[rnd.randrange(len(hot))]
                checkin = hot_day + timedelta(days=rnd.randrange(2))
            else:
                ut = stays[rnd.randrange(len(stays))]
                checkin = today + timedelta(days=rnd.randrange(7, 300))
            body = {
                "listing_id": ut["listing_id"],
                "unit_type_id": ut["unit_type_id"],
                "checkin": checkin.isoformat(),
                "checkout": (checkin + timedelta(days=rnd.choice((1, 2)))).isoformat(),
                "guests": min(2, ut["max_guests"]),
                "units": 1,
                "payment_method": "arrival",
            }
            booking.append(
                Req(
                    "POST",
                    "/api/v1/bookings",
                    {**json_h, "Authorization": f"Bearer {guests[(i - 1) % (len(guests) - 1) + 1 if i else 0]}"},
                    json.dumps(body, ensure_ascii=False),
                )
            )
    scenarios.append(
        Scenario(
            "booking",
            "API booking (stay, pay on arrival)",
            booking,
            api_path="/bookings",
            note="" if booking else "no guest token or no stay",
            single_use=True,
        )
    )
    mixed = []
    if consumer_tokens and m["pool"] and stays and tokens.get("card"):
        today = datetime.now(timezone(timedelta(hours=8))).date()
        hot = stays[:5]
        hot_day = today + timedelta(days=40)
        for i in range(2000):
            pid, _station = m["pool"][rnd.randrange(len(m["pool"]))]
            if i % 20 == 0:  # 5% race for a few rooms on 2 nights: 409 there, never an overbooking
                ut = hot[rnd.randrange(len(hot))]
                checkin = hot_day + timedelta(days=rnd.randrange(2))
            else:
                ut = stays[rnd.randrange(len(stays))]
                checkin = today + timedelta(days=rnd.randrange(7, 300))
            body = {
                "items": [
                    {"product_id": pid, "quantity": 1},
                    {
                        "listing_id": ut["listing_id"],
                        "unit_type_id": ut["unit_type_id"],
                        "checkin": checkin.isoformat(),
                        "checkout": (checkin + timedelta(days=1)).isoformat(),
                        "guests": min(2, ut["max_guests"]),
                    },
                ],
                "address": address,
                "delivery": "ship",
                "payment_method": "card",
            }
            mixed.append(
                Req(
                    "POST",
                    "/api/v1/orders",
                    {**json_h, "Authorization": f"Bearer {consumer_tokens[i % len(consumer_tokens)]}"},
                    json.dumps(body, ensure_ascii=False),
                )
            )
    scenarios.append(
        Scenario(
            "mixed_checkout",
            "API mixed checkout (1 product + 1 stay, card)",
            mixed,
            api_path="/orders",
            note="" if mixed else "no consumer token, stock pool, stay or localstripe (card payments)",
        )
    )
    report = []
    if county:
        month_end = date.fromisoformat(m["report_month"]["to"])
        months = []
        for _ in range(12):
            start = month_end.replace(day=1)
            months.append((start, month_end))
            month_end = start - timedelta(days=1)
        for start, end in zipf_pick(rnd, months, 200, s=0.8):
            report.append(
                Req(
                    "GET",
                    f"/api/v1/county/income?group_by=village&from={start}&to={end}",
                    {"Authorization": f"Bearer {county}"},
                )
            )
    scenarios.append(
        Scenario(
            "county_income",
            "county income report (month, by village)",
            report,
            api_path="/county/income",
            note="" if report else "no county token",
        )
    )
    return scenarios


def lua_string(s: str) -> str:
    """A Lua string literal for any text (bytes escaped in decimal)."""
    out = []
    for byte in s.encode():
        ch = chr(byte)
        if byte < 128 and (ch.isalnum() or ch in " /-_.,:=?&%{}[]()+*'@!#$^|~<>"):
            out.append(ch)
        else:
            out.append(f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


def wrk_script(requests: list[Req], out_file: Path, stripes: int = 0) -> str:
    """wrk's Lua: cycle through `requests`, count statuses, write the summary to `out_file`. Each
    thread starts at its own offset; with `stripes` (the number of wrk threads, for a single-use
    list) thread t sends requests t, t + stripes, t + 2 * stripes...: no request twice until the
    list runs out."""
    lines = ["local specs = {"]
    for r in requests:
        headers = ", ".join(f"[{lua_string(k)}] = {lua_string(v)}" for k, v in r.headers.items())
        body = lua_string(r.body) if r.body is not None else "nil"
        lines.append(f"  {{{lua_string(r.method)}, {lua_string(r.path)}, {{{headers}}}, {body}}},")
    lines.append("}")
    lines.append(f"local out_file = {lua_string(str(out_file))}")
    lines.append(f"local stripes = {int(stripes)}")
    lines.append(r"""
local threads = {}
local tid = 0
function setup(thread)
  tid = tid + 1
  thread:set("tid", tid)
  table.insert(threads, thread)
end

local reqs = {}
local n = 0
statuses = {}
function init(args)
  for i, s in ipairs(specs) do reqs[i] = wrk.format(s[1], s[2], s[3], s[4]) end
  -- thread:set() gave this thread's state a global `tid` (the chunk's `local tid` is the main state's counter)
  local me = rawget(_G, "tid") or 1
  if stripes > 0 then n = me - stripes else n = (me * 7919) % #reqs end
end

function request()
  if stripes > 0 then
    n = n + stripes
    if n > #reqs then n = (n - 1) % #reqs + 1 end
  else
    n = n % #reqs + 1
  end
  return reqs[n]
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  local counts = {}
  for _, t in ipairs(threads) do
    local s = t:get("statuses")
    if s then for k, v in pairs(s) do counts[k] = (counts[k] or 0) + v end end
  end
  local parts = {}
  for k, v in pairs(counts) do table.insert(parts, string.format('"%d": %d', k, v)) end
  local e = summary.errors
  local f = io.open(out_file, "w")
  f:write(string.format('{"duration_us": %d, "requests": %d, "bytes": %d, ' ..
    '"errors": {"connect": %d, "read": %d, "write": %d, "status": %d, "timeout": %d}, ' ..
    '"p50_us": %d, "p90_us": %d, "p99_us": %d, "max_us": %d, "mean_us": %f, "statuses": {%s}}',
    summary.duration, summary.requests, summary.bytes, e.connect, e.read, e.write, e.status, e.timeout,
    latency:percentile(50), latency:percentile(90), latency:percentile(99), latency.max, latency.mean,
    table.concat(parts, ", ")))
  f:close()
end
""")
    return "\n".join(lines)


def run_wrk(wrk: str, base: str, scenario: Scenario, args, tag: str) -> dict:
    out_file = args.workdir / f"wrk-{tag}.json"
    out_file.unlink(missing_ok=True)
    script = args.workdir / f"wrk-{tag}.lua"
    script.write_text(wrk_script(scenario.requests, out_file, stripes=args.threads if scenario.single_use else 0))
    argv = [
        wrk,
        f"-t{args.threads}",
        f"-c{args.connections}",
        f"-d{args.seconds}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
        base,
    ]
    cpu_before = machine_cpu()
    proc = subprocess.run(argv, capture_output=True, text=True, timeout=args.seconds + 60)
    idle = machine_idle_share(cpu_before, machine_cpu())
    if proc.returncode != 0 or not out_file.exists():
        raise RuntimeError(f"wrk failed for {scenario.name}: {proc.stderr.strip()[-500:]}")
    data = json.loads(out_file.read_text())
    seconds = data["duration_us"] / 1e6
    statuses = {int(k): v for k, v in data["statuses"].items()}
    ok = sum(v for k, v in statuses.items() if k < 400)
    conflicts = statuses.get(409, 0)
    socket_errors = sum(v for k, v in data["errors"].items() if k != "status")
    return {
        "rps": data["requests"] / seconds if seconds else 0.0,
        "ok_rps": ok / seconds if seconds else 0.0,
        "p50_ms": data["p50_us"] / 1000,
        "p99_ms": data["p99_us"] / 1000,
        "max_ms": data["max_us"] / 1000,
        "requests": data["requests"],
        "ok": ok,
        "conflicts": conflicts,
        "errors": data["requests"] - ok - conflicts + socket_errors,
        "statuses": statuses,
        "socket_errors": socket_errors,
        "seconds": seconds,
        "idle": idle,
    }


#: A closed loop of 16 connections keeps both cores busy (a few % idle in a normal run). A run with
#: the cores idle more than this was slowed by the host, not by the shop: on this kind of VM some
#: 10 s runs, at random, answer at a third of the speed with the cores idle (latency even, no
#: errors, no steal time reported). Such a run is measured again (reads) or flagged (writes).
IDLE_LIMIT = 0.20
#: An open loop at a target's rate counts only if the shop kept up: answered at least this share of it.
OPEN_LOOP_SHARE = 0.98


def machine_cpu() -> tuple[int, int]:
    """(idle + iowait ticks, all ticks) of the whole machine, from /proc/stat."""
    fields = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    return fields[3] + fields[4], sum(fields[:8])


def machine_idle_share(before: tuple[int, int], after: tuple[int, int]) -> float:
    total = after[1] - before[1]
    return (after[0] - before[0]) / total if total > 0 else 0.0


def measure(wrk: str, base: str, scenario: Scenario, args, tag: str, *, repeatable: bool) -> dict:
    """`run_wrk`, run once more when the host slowed the run (see IDLE_LIMIT) and a second run
    measures the same thing (reads; a write scenario would sell or book twice): the run with the
    cores less idle is kept, whatever its figures, and the result says so (`rerun_idle`)."""
    res = run_wrk(wrk, base, scenario, args, tag)
    if res["idle"] <= IDLE_LIMIT or not repeatable:
        return res
    log(f"{tag}: the cores were {res['idle']:.0%} idle (the host slowed the run): measuring again")
    again = run_wrk(wrk, base, scenario, args, f"{tag}-again")
    kept = again if again["idle"] < res["idle"] else res
    return {**kept, "rerun_idle": res["idle"]}


# --- the servers ---------------------------------------------------------------------------------


def gunicorn_env(env: dict, args, port: int, name: str) -> dict:
    return {
        **env,
        "BENCH_BIND": f"127.0.0.1:{port}",
        "BENCH_WORKERS": str(args.workers),
        "BENCH_WORKER_CLASS": args.worker_class,
        # gunicorn turns a sync worker with threads > 1 into gthread: threads only for gthread
        "BENCH_THREADS": str(args.gthreads if args.worker_class == "gthread" else 1),
        "BENCH_PROC_NAME": f"bench-{name}",
        "BENCH_GC_FREEZE": "0" if args.no_gc_freeze else "1",
        "BENCH_MALLOC_ARENAS": str(args.malloc_arenas),
    }


def runtime_bin(args) -> Path:
    """The `bin/` of the virtualenv the measured processes run in: by default one of requirements.txt
    alone (built once, keyed by the file and Python's version), as production
    installs it; `--dev-venv`: this one. The test tools change what the shop loads: `stripe` imports
    an asynchronous HTTP library whenever one is installed, and localstripe brings aiohttp (8 MB of
    every web worker, bench/README.md "Web worker memory"). `BENCH_VENV_DIR` is where it is kept."""
    if args.dev_venv:
        return BIN
    reqs = (ROOT / "requirements.txt").read_bytes()
    key = hashlib.sha256(reqs + sys.version.encode()).hexdigest()[:16]
    venv = Path(os.environ.get("BENCH_VENV_DIR", "/tmp/village-eline-bench")) / f"venv-runtime-{key}"
    if not (venv / ".complete").exists():
        log(f"building the runtime virtualenv {venv} (requirements.txt only)")
        shutil.rmtree(venv, ignore_errors=True)
        run_step([sys.executable, "-m", "venv", str(venv)], dict(os.environ), "python -m venv", 300)
        run_step(
            [str(venv / "bin" / "pip"), "install", "-q", "-r", str(ROOT / "requirements.txt")],
            dict(os.environ),
            "pip install -r requirements.txt",
            1800,
        )
        (venv / ".complete").touch()
    return venv / "bin"


def modules_after_fork(path: Path, top: int = 8) -> str:
    """The packages the web workers imported after the fork (bench/gunicorn.conf.py's `worker_exit`
    writes them), most modules first: what each worker holds privately beyond the master's pages."""
    counts: dict[str, int] = {}
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError:
        return ""
    for line in lines:
        for name, n in json.loads(line)["packages"].items():
            counts[name] = max(counts.get(name, 0), n)
    ranked = sorted(counts.items(), key=lambda kv: -kv[1])
    shown = ", ".join(f"{name} ({n})" for name, n in ranked[:top])
    return shown + (f" and {len(ranked) - top} more packages" if len(ranked) > top else "") if ranked else "nothing"


def start_gunicorn(
    procs: Procs, name: str, target: str, port: int, env: dict, args, ready_path: str
) -> subprocess.Popen:
    argv = [str(args.serve_bin / "gunicorn"), "-c", str(ROOT / "bench" / "gunicorn.conf.py"), target]
    proc = procs.start(name, argv, gunicorn_env(env, args, port, name))
    wait_until(
        lambda: http("GET", f"http://127.0.0.1:{port}{ready_path}", timeout=5)[0] == 200, 90, f"gunicorn {name}", proc
    )
    return proc


def children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            for line in (entry / "status").read_text().splitlines():
                if line.startswith("PPid:"):
                    if int(line.split()[1]) == pid:
                        out.append(int(entry.name))
                    break
        except OSError:
            continue
    return out


def proc_mem(pid: int) -> dict:
    """VmRSS and VmHWM (peak RSS) from /proc/PID/status, Pss and private memory from smaps_rollup, in MB."""
    mem = {}
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith(("VmRSS:", "VmHWM:")):
                mem[line.split(":")[0]] = int(line.split()[1]) / 1024
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            key = line.split(":")[0]
            if key in ("Pss", "Private_Clean", "Private_Dirty"):
                mem[key] = int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return mem


def peak_rises(steps: list[tuple[str, float]], shown: int = 4) -> str:
    """Where the web workers' peak RSS rose: `steps` are (scenario, peak after it) in run order, the first
    the peak before any scenario (the workers' start and the tokens' logins). The peak is a high-water
    mark over the whole run, so the scenario it last rose in (often by a fraction of a MB) says little:
    this names the `shown` biggest rises of 0.5 MB or more, e.g. "139 MB before the scenarios; rose most
    in: search page +6.1; mixed checkout +5.0; 2 more +1.2"."""
    if not steps:
        return "no samples"
    rises = [(label, peak - before) for (label, peak), (_l, before) in zip(steps[1:], steps) if peak - before >= 0.5]
    text = f"{steps[0][1]:.0f} MB before the scenarios"
    if not rises:
        return text + ", no scenario raised it"
    ordered = sorted(rises, key=lambda r: -r[1])
    text += "; rose most in: " + "; ".join(f"{label} +{rise:.1f}" for label, rise in ordered[:shown])
    rest = ordered[shown:]
    if rest:
        text += f"; {len(rest)} more +{sum(r for _l, r in rest):.1f}"
    return text


class MemoryWatch(threading.Thread):
    """Samples the RSS of a gunicorn master's workers twice a second until stopped (or 1 hour)."""

    def __init__(self, master: int):
        super().__init__(daemon=True)
        self.master = master
        self.peak_rss = 0.0
        self.peak_hwm = 0.0
        self.last: dict[int, dict] = {}
        self._stop_event = threading.Event()

    def run(self) -> None:
        deadline = time.monotonic() + 3600
        while not self._stop_event.is_set() and time.monotonic() < deadline:
            self.sample()
            self._stop_event.wait(0.5)

    def sample(self) -> None:
        for pid in children(self.master):
            mem = proc_mem(pid)
            if mem:
                self.last[pid] = mem
                self.peak_rss = max(self.peak_rss, mem.get("VmRSS", 0))
                self.peak_hwm = max(self.peak_hwm, mem.get("VmHWM", 0))

    def stop(self) -> dict:
        self.sample()
        self._stop_event.set()
        pss = max((m.get("Pss", 0) for m in self.last.values()), default=0)
        private = max((m.get("Private_Clean", 0) + m.get("Private_Dirty", 0) for m in self.last.values()), default=0)
        return {
            "peak_rss_mb": max(self.peak_rss, self.peak_hwm),
            "pss_mb": pss,
            "private_mb": private,
            "workers_seen": len(self.last),
            "master_rss_mb": proc_mem(self.master).get("VmRSS", 0),
        }


class CpuMeter:
    """CPU seconds (user + system, from /proc) of the shop's processes by part: `web` (the gunicorn
    master and its workers), `nginx` (every nginx process), `celery` (the worker), `postgres` (every
    server process: another client of the same server would count too) and `redis` (every redis-server). Divided by the requests a
    scenario answered, it says where a request's CPU goes, which on a machine whose speed drifts is
    steadier than the request rate itself.

    Two more parts are not the shop's but take the same cores during a run, so the bound on the
    request rate counts them: `stripe` (the localstripe process answering the mixed checkout's
    PaymentIntents, which production sends to Stripe) and `wrk` (the load generator: the CPU of this
    run's child processes that ended in between, `RUSAGE_CHILDREN` — wrk exits at the end of each
    scenario, before the second snapshot)."""

    PARTS = ("web", "nginx", "celery", "postgres", "redis", "stripe", "wrk")
    #: Not the shop's own: its CPU total leaves them out, the bound on the rate does not.
    NOT_THE_SHOP = ("stripe", "wrk")

    def __init__(self, web_pid: int, celery_pid: int | None, stripe_pid: int | None = None):
        self.web_pid = web_pid
        self.celery_pid = celery_pid
        self.stripe_pid = stripe_pid
        self.hz = os.sysconf("SC_CLK_TCK")

    def _seconds(self, pid: int) -> float:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / self.hz
        except (OSError, IndexError, ValueError):
            return 0.0

    @staticmethod
    def _by_name() -> dict[str, list[int]]:
        found: dict[str, list[int]] = {"nginx": [], "postgres": [], "redis": []}
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                comm = (entry / "comm").read_text().strip()
            except OSError:
                continue
            if comm == "postgres":
                found["postgres"].append(int(entry.name))
            elif comm == "nginx":
                found["nginx"].append(int(entry.name))
            elif comm.startswith("redis-server"):
                found["redis"].append(int(entry.name))
        return found

    def snapshot(self) -> dict[str, dict[int, float]]:
        pids = {
            "web": [self.web_pid, *children(self.web_pid)],
            "celery": [self.celery_pid, *children(self.celery_pid)] if self.celery_pid else [],
            "stripe": [self.stripe_pid, *children(self.stripe_pid)] if self.stripe_pid else [],
            **self._by_name(),
        }
        seconds = {part: {pid: self._seconds(pid) for pid in pids[part]} for part in self.PARTS if part != "wrk"}
        ended = resource.getrusage(resource.RUSAGE_CHILDREN)
        seconds["wrk"] = {0: ended.ru_utime + ended.ru_stime}
        return seconds

    def wait_for_celery(self, timeout: float = 30.0) -> None:
        """Until the worker has been idle for a second (the mails of a write scenario are sent
        after the requests): its CPU then belongs to the scenario."""
        if not self.celery_pid:
            return
        deadline = time.monotonic() + timeout
        last = self._seconds(self.celery_pid)
        while time.monotonic() < deadline:
            time.sleep(1.0)
            now = self._seconds(self.celery_pid)
            if now - last < 0.02:
                return
            last = now

    @staticmethod
    def per_request(before: dict, after: dict, requests: int) -> dict[str, float]:
        """CPU ms per request by part (processes that exited in between are not counted)."""
        out = {}
        for part, pids in after.items():
            used = sum(seconds - before[part].get(pid, 0.0) for pid, seconds in pids.items())
            out[part] = used * 1000 / requests if requests else 0.0
        return out


def render_cpu(rows: list[tuple[str, dict[str, float]]], cores: int) -> str:
    """The CPU table: `shop` sums the shop's own processes; the bound on the rate divides the cores
    by everything measured (`CpuMeter.NOT_THE_SHOP` included: they took the same cores)."""
    head = ["scenario", *CpuMeter.PARTS, "shop", "all", f"≤ req/s on {cores} cores"]
    body = []
    for label, cpu in rows:
        shop = sum(v for p, v in cpu.items() if p not in CpuMeter.NOT_THE_SHOP)
        total = sum(cpu.values())
        body.append(
            [
                label,
                *(f"{cpu.get(p, 0.0):.2f}" for p in CpuMeter.PARTS),
                f"{shop:.2f}",
                f"{total:.2f}",
                f"{cores * 1000 / total:.0f}" if total else "—",
            ]
        )
    return markdown_table(head, body)


# --- checks after the write scenarios --------------------------------------------------------------


def db_conn(url: str):
    import psycopg

    return psycopg.connect(libpq_url(url), autocommit=True)


def stock_snapshot(url: str, pool_ids: list[int], conn=None) -> dict:
    """The pool's stock (on hand, allocated, rows that are wrong) and the newest order id, on `conn`
    (a transaction of the caller's) or a connection of its own."""
    if conn is None:
        with db_conn(url) as own:
            return stock_snapshot(url, pool_ids, conn=own)
    row = conn.execute(
        "SELECT COALESCE(SUM(on_hand), 0), COALESCE(SUM(allocated), 0), "
        "COUNT(*) FILTER (WHERE allocated > on_hand OR on_hand < 0 OR allocated < 0) "
        "FROM stock_records WHERE product_id = ANY(%s)",
        (pool_ids,),
    ).fetchone()
    max_order = conn.execute("SELECT COALESCE(MAX(id), 0) FROM orders").fetchone()[0]
    return {"on_hand": int(row[0]), "allocated": int(row[1]), "bad_rows": row[2], "max_order": max_order}


#: How long the checks wait for the server to finish the requests still in flight when a load stops:
#: after an open loop the shop could not keep up with, the queue of requests whose client gave up
#: (10 s) is still served, and its orders must not be counted as the next scenario's.
SETTLE_SECONDS = 120.0


def settle(url: str, table: str, timeout: float = SETTLE_SECONDS) -> None:
    """Requests still in flight when the load stops go on in the server: wait until `table` has not
    grown for two seconds."""
    deadline = time.monotonic() + timeout
    last, still = None, 0
    with db_conn(url) as conn:
        while time.monotonic() < deadline:
            current = conn.execute(f"SELECT COALESCE(MAX(id), 0) FROM {table}").fetchone()[0]
            still = still + 1 if current == last else 0
            if still >= 2:
                return
            last = current
            time.sleep(1.0)


def check_stock(url: str, before: dict, pool_ids: list[int], created_201: int) -> str:
    settle(url, "orders")
    with db_conn(url) as conn, conn.transaction():
        # the stock and the lines read in one snapshot: an order committed between two reads would
        # count as sold without its stock taken (or the other way round)
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        after = stock_snapshot(url, pool_ids, conn=conn)
        sold, orders = conn.execute(
            "SELECT COALESCE(SUM(l.quantity), 0), COUNT(DISTINCT l.order_id) FROM order_lines l "
            "JOIN orders o ON o.id = l.order_id WHERE o.id > %s AND l.product_id = ANY(%s) "
            "AND o.status NOT IN ('canceled', 'expired')",
            (before["max_order"], pool_ids),
        ).fetchone()
    available_before = before["on_hand"] - before["allocated"]
    available_after = after["on_hand"] - after["allocated"]
    consistent = available_after + int(sold) == available_before and after["bad_rows"] == 0
    verdict = "OK" if consistent else "MISMATCH"
    return (
        f"stock {verdict}: available {available_before} before = {available_after} after + {int(sold)} sold "
        f"in {orders} new orders ({created_201} answered 201); rows over-allocated or negative: {after['bad_rows']}"
    )


def check_bookings(url: str) -> str:
    """Unit-type nights whose occupying bookings need more rooms than the unit type has. A booking
    occupies a room as the shop counts it (`tourism.services.availability.occupying`): confirmed, checked
    in or completed, or held and not yet expired. An expired hold still `held` (no beat runs
    `expire_holds` in a run) gave its room back when it expired, and a later booking may take it: the
    card holds the mixed scenario leaves unpaid expire 15 minutes later."""
    settle(url, "bookings")
    with db_conn(url) as conn:
        try:
            over, total = conn.execute("""
                SELECT
                  (SELECT COUNT(*) FROM (
                     SELECT b.unit_type_id, d.night
                     FROM bookings b JOIN unit_types u ON u.id = b.unit_type_id
                     CROSS JOIN LATERAL generate_series(b.check_in_date, b.check_out_date - 1, interval '1 day') AS d(night)
                     WHERE b.session_id IS NULL
                       AND (b.status IN ('confirmed', 'checked_in', 'completed')
                            OR (b.status = 'held' AND b.expires_at > now()))
                     GROUP BY b.unit_type_id, d.night, u.units HAVING SUM(b.units) > u.units) x),
                  (SELECT COUNT(*) FROM bookings)""").fetchone()
        except Exception as exc:
            return f"booking check failed: {exc}"
    return f"bookings: {total} in the database; unit-type nights over capacity: {over} ({'OK' if over == 0 else 'OVERSOLD'})"


def check_mixed(url: str, before: dict) -> str:
    """After the mixed checkout: every new order holds its product line AND its booking line (all or
    nothing), none holds a line without the other."""
    settle(url, "orders")
    with db_conn(url) as conn:
        row = conn.execute(
            """SELECT COUNT(*) FILTER (WHERE kinds = 2), COUNT(*) FILTER (WHERE kinds <> 2)
               FROM (SELECT o.id, COUNT(DISTINCT l.kind) AS kinds FROM orders o
                     JOIN order_lines l ON l.order_id = o.id WHERE o.id > %s GROUP BY o.id) x""",
            (before["max_order"],),
        ).fetchone()
    whole, half = int(row[0]), int(row[1])
    return f"mixed orders: {whole} with goods and a stay, {half} with only one of them ({'OK' if half == 0 else 'HALF ORDERS'})"


def start_localstripe(procs: "Procs") -> str | None:
    """localstripe on loopback for the card-paid mixed checkout; None when it is not installed."""
    try:
        import localstripe  # noqa: F401
    except ImportError:
        return None
    proc = procs.start(
        "localstripe",
        [str(BIN / "python"), str(ROOT / "scripts" / "run_localstripe.py"), "--port", str(STRIPE_PORT), "--quiet"],
        dict(os.environ),
    )
    base = f"http://127.0.0.1:{STRIPE_PORT}"

    def answers() -> bool:
        try:
            urllib.request.urlopen(base + "/v1/customers", timeout=1)  # noqa: S310 (loopback)
        except urllib.error.HTTPError:
            return True  # 401 without a key: it is up
        except OSError:
            return False
        return True

    wait_until(answers, 30, "localstripe", proc)
    return base


# --- the run -------------------------------------------------------------------------------------


def fetch_tokens(base: str, m: dict, guests_file: Path | None = None) -> dict:
    tokens: dict = {"consumers": []}
    if guests_file is not None and guests_file.exists():
        tokens["guests"] = json.loads(guests_file.read_text())

    def token(email: str, password: str) -> str | None:
        status, body = http(
            "POST",
            f"{base}/api/v1/auth/token",
            headers={"Content-Type": "application/json"},
            body=json.dumps({"email": email, "password": password}).encode(),
        )
        if status != 200:
            log(f"token for {email}: HTTP {status} {body[:200]!r}")
            return None
        return json.loads(body)["token"]

    for email in m["consumers"]:
        t = token(email, m["consumer_password"])
        if t:
            tokens["consumers"].append(t)
    tokens["county"] = token(m["county"]["email"], m["county"]["password"])
    return tokens


#: The signed-in scenarios' browser: the login and every later request send it, as a browser does
#: (Flask-Login's session protection marks a session whose User-Agent changed as not fresh and
#: saves it again on every request).
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) village-eline-bench"


def fetch_sessions(base: str, m: dict, n: int = 16) -> list[str]:
    """Cookie headers of `n` consumers logged in through the login form, each with one pool product in
    the cart (for the logged-in page and cart scenarios); [] when the form flow fails."""
    import http.cookies
    import re

    token_re = re.compile(r'name="csrf_token"[^>]*?value="([^"]+)"')

    def call(method, path, jar, form=None):
        body = urllib.parse.urlencode(form).encode() if form is not None else None
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in jar.items()), "User-Agent": BROWSER_UA}
        if body is not None:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        req = urllib.request.Request(base + path, data=body, method=method, headers=headers)
        try:
            resp = urllib.request.build_opener(NoRedirect).open(req, timeout=30)
        except urllib.error.HTTPError as exc:
            resp = exc
        for header in resp.headers.get_all("Set-Cookie") or []:
            cookie = http.cookies.SimpleCookie()
            cookie.load(header)
            for k, morsel in cookie.items():
                jar[k] = morsel.value
        return resp.status, resp.read().decode("utf-8", "replace")

    out = []
    product = m["pool"][0][0] if m.get("pool") else None
    for email in m["consumers"][:n]:
        jar: dict = {}
        status, page = call("GET", "/login", jar)
        token = token_re.search(page)
        if status != 200 or not token:
            log(f"session for {email}: login page HTTP {status}")
            return []
        status, _ = call(
            "POST", "/login", jar, {"csrf_token": token.group(1), "email": email, "password": m["consumer_password"]}
        )
        if status not in (302, 303):
            log(f"session for {email}: login HTTP {status}")
            return []
        status, page = call("GET", "/cart", jar)
        if product is not None and "cart-table" not in page:
            token = token_re.search(page)
            call(
                "POST",
                "/cart/add",
                jar,
                {"csrf_token": token.group(1) if token else "", "product_id": product, "quantity": 1},
            )
        call("GET", "/cart", jar)  # shows (and so drops) the flash message: the cookie is then stable
        out.append("; ".join(f"{k}={v}" for k, v in jar.items()))
    return out


def api_paths(base: str) -> set[str] | None:
    status, body = http("GET", f"{base}/api/v1/openapi.json")
    if status != 200:
        return None
    try:
        paths = json.loads(body).get("paths", {})
    except ValueError:
        return None
    return {p.removeprefix("/api/v1") for p in paths}


def probe(base: str, scenario: Scenario, paths: set[str] | None, warm: int) -> str | None:
    """None when the scenario can run, else why not. Also warms the server with a few requests."""
    if not scenario.requests:
        return scenario.note or "nothing to send"
    if scenario.api_path and paths is not None and scenario.api_path not in paths:
        return "not available (endpoint not in /api/v1/openapi.json)"
    first = None
    for r in scenario.requests[:warm]:
        status, body = http(
            r.method, base + r.path, headers=r.headers, body=r.body.encode() if r.body is not None else None
        )
        if first is None:
            first = (status, body)
    status, body = first
    if status in (404, 405) and (scenario.api_path is None or paths is None):
        return f"not available (HTTP {status})"
    if status >= 500:
        return f"HTTP {status} on the first request (see app.log in the workdir)"
    return None


#: Page scenarios served by the page cache (anonymous, and logged-in with their own header): measured warm.
CACHED_PAGES = ("home", "catalog", "product", "pages_user")


def warm_pages(base: str, scenario: Scenario, limit: int = 3000, seconds: float = 180.0) -> int:
    """Request every distinct page of a cached-page scenario once, so that its figure is the steady
    state of a shop that has been open for a while (cache warm) rather than the first renders of a
    10-second window; the cost of a miss is what `python -m bench.profile` shows. Bounded in count
    and time; returns the number of pages requested."""
    started = time.monotonic()
    done = 0
    first = {}
    for r in scenario.requests:
        if r.method == "GET":
            first.setdefault(r.path, r)
    for path, r in first.items():
        if done >= limit or time.monotonic() - started > seconds:
            break
        http("GET", base + path, headers=r.headers)
        done += 1
    return done


def measure_payouts(args, env: dict) -> dict | None:
    """The payout batch of the last month for every registered household, created and exported in
    process (`python -m bench.payouts`, before the web scenarios, on the loaded data); None if it failed."""
    out = args.workdir / "payouts.json"
    out.unlink(missing_ok=True)
    log("payout batch: a month for every household (create + export), in process")
    proc = subprocess.run(
        [str(BIN / "python"), "-m", "bench.payouts", "--out", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=1800,
    )
    try:
        return json.loads(out.read_text())
    except (OSError, ValueError):
        log(f"payout batch failed: {proc.stderr.strip()[-500:]}")
        return None


def payout_line(f: dict | None) -> str:
    if not f:
        return "payout batch (target < 10 s): failed, see the log"
    ok = "✓" if f["total_s"] < f["target_s"] else "✗"
    return (
        f"payout batch (target < {f['target_s']:.0f} s): {f['lines']:,} lines ({f['households']:,} households, "
        f"{f['payment_accounts']:,} accounts) paying {f['entries']:,} ledger entries of {f['period']}: "
        f"create {f['create_s']:.2f} s + export {f['export_s']:.2f} s = {f['total_s']:.2f} s {ok} "
        f"(Python CPU {f['create_cpu_s']:.2f} s + {f['export_cpu_s']:.2f} s"
        + (
            f"; PostgreSQL CPU {f['create_pg_cpu_s']:.2f} s + {f['export_pg_cpu_s']:.2f} s)"
            if f.get("create_pg_cpu_s") is not None and f.get("export_pg_cpu_s") is not None
            else ")"
        )
    )


def machine() -> dict:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        mem_kb = int(
            next(l for l in Path("/proc/meminfo").read_text().splitlines() if l.startswith("MemTotal")).split()[1]
        )
    except (OSError, StopIteration, ValueError):
        mem_kb = 0
    return {
        "nproc": os.cpu_count(),
        "cpu": cpu,
        "memory_gib": round(mem_kb / 1024 / 1024, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg": " ".join(f"{x:.2f}" for x in os.getloadavg()),
    }


def fmt_row(cells: list[str], widths: list[int]) -> str:
    return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"


def markdown_table(head: list[str], rows: list[list[str]]) -> str:
    """A Markdown table with its columns padded to their widest cell."""
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(head)]
    lines = [fmt_row(head, widths), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
    return "\n".join(lines + [fmt_row(r, widths) for r in rows])


def verdict(name: str, res: dict, ceiling: float) -> str:
    target = TARGETS.get(name)
    if not target or not res:
        return "—"
    kind = target[0]
    if kind == "ratio":
        ok = ceiling and res["ok_rps"] / ceiling >= target[1]
        return f"≥ {target[1]:.2f} {'✓' if ok else '✗'}"
    if kind == "rps_p99":
        open_loop = res.get("open")
        if open_loop is None:  # --no-open-loop: the closed loop's p99, its queue included
            ok = res["ok_rps"] >= target[1] and res["p99_ms"] < target[2]
            return f"≥ {target[1]}/s, p99 < {target[2]} ms {'✓' if ok else '✗'}"
        ok = res["ok_rps"] >= target[1] and open_loop_holds(open_loop, target[2])
        return f"≥ {target[1]}/s; p99 < {target[2]} ms at {target[1]}/s {'✓' if ok else '✗'}"
    if kind == "rps":
        return f"≥ {target[1]}/s {'✓' if res['ok_rps'] >= target[1] else '✗'}"
    if kind == "p99_ms":
        return f"p99 < {target[1]} ms {'✓' if res['p99_ms'] < target[1] else '✗'}"
    return "—"


def open_loop_holds(res: dict, p99_ms: float) -> bool:
    """The open loop met a p99 target: every request answered (2xx/3xx or 409), nearly at the rate
    offered, and the 99th percentile under `p99_ms`."""
    return res["errors"] == 0 and res["answered_rps"] >= OPEN_LOOP_SHARE * res["offered_rps"] and res["p99_ms"] < p99_ms


def parse_fractions(text: str) -> list[float]:
    """`--open-loop-fractions`: "0.6,0.8" -> [0.6, 0.8]; each must lie in (0, 1]."""
    fractions = [float(part) for part in text.split(",") if part.strip()]
    for fraction in fractions:
        if not 0 < fraction <= 1:
            raise SystemExit(f"--open-loop-fractions: {fraction} is not in (0, 1]")
    return fractions


def open_loop_line(label: str, res: dict) -> str:
    statuses = ", ".join(f"{k} × {v}" for k, v in sorted(res["statuses"].items()))
    return (
        f"{label} at {res['offered_rps']:.0f}/s offered (open loop, bench/openloop.py): answered "
        f"{res['answered_rps']:.0f}/s, p50 {res['p50_ms']:.1f} ms, p99 {res['p99_ms']:.1f} ms, max "
        f"{res['max_ms']:.0f} ms; statuses {statuses or 'none'}"
        + (f", {res['socket_errors']} without an answer" if res["socket_errors"] else "")
        + (f"; the generator sent {res['late_sends']} requests over 10 ms late" if res["late_sends"] else "")
    )


def idle_cell(res: dict) -> str:
    """The cores' idle share during the run; `⚠` over IDLE_LIMIT, `↻` when a slowed run was redone."""
    cell = f"{res.get('idle', 0):.0%}"
    if "rerun_idle" in res:
        cell += f" ↻ {res['rerun_idle']:.0%}"
    if res.get("idle", 0) > IDLE_LIMIT:
        cell += " ⚠"
    return cell


def render(results: list[tuple[str, str, dict | None, str]], ceiling: float) -> str:
    head = ["scenario", "req/s (ok)", "p50 ms", "p99 ms", "× hello", "409", "errors", "idle", "target"]
    rows = []
    for name, label, res, note in results:
        if res is None:
            rows.append([label, note or "not available", "", "", "", "", "", "", verdict(name, None, ceiling)])
            continue
        ratio = res["ok_rps"] / ceiling if ceiling else 0
        rows.append(
            [
                label,
                f"{res['ok_rps']:.0f}",
                f"{res['p50_ms']:.1f}",
                f"{res['p99_ms']:.1f}",
                f"{ratio:.2f}" if name.startswith("hello") else f"{ratio:.3f}",
                str(res["conflicts"]),
                str(res["errors"]),
                idle_cell(res),
                verdict(name, res, ceiling),
            ]
        )
    return markdown_table(head, rows)


def shown_command(argv) -> str:
    """The command line for the report, without the --note text (it is printed on its own)."""
    import shlex

    words, skip = [], False
    for word in argv if argv is not None else sys.argv[1:]:
        if skip:
            skip = False
        elif word == "--note":
            skip = True
        elif not word.startswith("--note="):
            words.append(word)
    return shlex.join(["python", "-m", "bench.run", *words])


def _other_sections(path: Path) -> list[str]:
    """The `## ...` sections of an existing report (written by other benchmarks, e.g. "Search (in
    process)" from bench.search_bench's figures): kept below the new run's table."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError:
        return []
    start = text.find("\n## ")
    return ["", text[start + 1 :].rstrip()] if start != -1 else []


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.run", description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=int, default=10, help="duration of each scenario (default 10)")
    parser.add_argument("--connections", type=int, default=16, help="concurrent clients (default 16)")
    parser.add_argument("--threads", type=int, default=2, help="wrk threads (default 2)")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument(
        "--worker-class",
        default="gthread",
        choices=["sync", "gthread"],
        help="default gthread (see bench/gunicorn.conf.py)",
    )
    parser.add_argument("--gthreads", type=int, default=4, help="threads per worker with --worker-class gthread")
    parser.add_argument(
        "--warmup", type=int, default=10, help="seconds of unmeasured hello-world load before the first ceiling run"
    )
    parser.add_argument(
        "--no-gc-freeze",
        action="store_true",
        help="do not gc.freeze() the preloaded app in the gunicorn master (to compare memory)",
    )
    parser.add_argument(
        "--malloc-arenas",
        type=int,
        default=2,
        help="malloc arenas per gunicorn process (default 2, bench/gunicorn.conf.py; 0: glibc's default)",
    )
    parser.add_argument(
        "--seed",
        type=int,
        default=int(time.time()),
        help="random seed of the request mix (default: the clock, so that repeated runs "
        "on the same data book other rooms and nights)",
    )
    parser.add_argument(
        "--cold",
        action="store_true",
        help="do not request every distinct anonymous page once before measuring it (cold page cache)",
    )
    parser.add_argument("--small", action="store_true", help="small volume: 1,000 products, 20 listings, 5,000 orders")
    parser.add_argument("--reuse-data", action="store_true", help="keep the bench database as it is (skip the load)")
    parser.add_argument(
        "--no-open-loop",
        action="store_true",
        help="no open-loop run at the target's rate after checkout and mixed_checkout (their p99 is then wrk's)",
    )
    parser.add_argument(
        "--open-loop-fractions",
        default="",
        help="comma-separated fractions of the target's rate (e.g. 0.6,0.8) at which the open loop also runs after "
        "the target's rate: where the p99 stands below saturation (reported, not part of the verdict)",
    )
    parser.add_argument("--no-reindex", action="store_true", help="skip `flask search reindex` after the load")
    parser.add_argument("--only", default="", help="comma-separated scenarios: " + ",".join(TARGETS))
    parser.add_argument("--database-url", default=os.environ.get("BENCH_DATABASE_URL", DEFAULT_DB))
    parser.add_argument("--redis-url", default=os.environ.get("BENCH_REDIS_URL", DEFAULT_REDIS))
    parser.add_argument(
        "--no-celery", action="store_true", help="no Celery worker (tasks run eagerly in the web workers)"
    )
    parser.add_argument("--no-install", action="store_true", help="never apt-get install wrk or nginx")
    parser.add_argument(
        "--dev-venv",
        action="store_true",
        help="run gunicorn and Celery in this virtualenv (with the test tools), not in one of requirements.txt alone",
    )
    parser.add_argument(
        "--no-nginx",
        action="store_true",
        help="send the anonymous page scenarios to gunicorn directly (not the production shape)",
    )
    parser.add_argument(
        "--workdir", type=Path, default=Path(os.environ.get("BENCH_WORKDIR", "/tmp/village-eline-bench"))
    )
    parser.add_argument(
        "--output",
        type=Path,
        default=ROOT / "bench" / "results.md",
        help="markdown report (default bench/results.md); '-' for none",
    )
    parser.add_argument("--note", default="", help="a sentence added to the report (e.g. the machine was busy)")
    args = parser.parse_args(argv)
    parse_fractions(args.open_loop_fractions)  # a wrong value stops here, not after the load
    args.workdir.mkdir(parents=True, exist_ok=True)
    args.serve_bin = runtime_bin(args)
    only = {s.strip() for s in args.only.split(",") if s.strip()}
    started_at = datetime.now(timezone.utc)

    wrk = ensure_wrk(not args.no_install)
    nginx = None if args.no_nginx else ensure_nginx(not args.no_install)
    nginx_version = (
        subprocess.run([nginx, "-v"], capture_output=True, text=True).stderr.strip().split("/")[-1] if nginx else ""
    )
    wrk_version = subprocess.run([wrk, "--version"], capture_output=True, text=True).stdout.split("[")[0].strip()
    procs = Procs(args.workdir)
    results: list[tuple[str, str, dict | None, str]] = []
    checks: list[str] = []
    #: the write scenarios' latency at their target's rate (open loop), one line each
    open_checks: list[str] = []
    cpu_rows: list[tuple[str, dict[str, float]]] = []
    memory: dict = {}
    data_counts: dict = {}
    try:
        pg_version = ensure_database(args.database_url)
        redis_version = ensure_redis(args.redis_url, procs)
        env = {
            **os.environ,
            "DATABASE_URL": args.database_url,
            "SECRET_KEY": "bench-not-secret",
            "CELERY_BROKER_URL": "" if args.no_celery else args.redis_url,
            "CELERY_RESULT_BACKEND": "",
            "REDIS_URL": args.redis_url,
            "CACHE_REDIS_URL": args.redis_url,
            "SEARCH_INDEX_DIR": str(args.workdir / "index"),
            "UPLOAD_DIR": str(args.workdir / "uploads"),
            "STRIPE_SECRET_KEY": "",
            "STRIPE_PUBLISHABLE_KEY": "",
            "STRIPE_WEBHOOK_SECRET": "",
            "MAIL_SERVER": "",
            "PYTHONUNBUFFERED": "1",
            # behind nginx, as in production: Flask reads the X-Forwarded-* headers nginx sets
            "BEHIND_PROXY": "0" if args.no_nginx else "1",
            # nginx keeps the anonymous pages the app lets it keep, and the app PURGEs them exactly
            # (shop/proxycache.py); the Celery worker purges too (its commits change stock)
            "PROXY_CACHE_PURGE_URL": "" if args.no_nginx else f"http://127.0.0.1:{NGINX_PORT}",
            # hundreds of bench users take tokens from one address: the login limit would refuse them
            "RATE_LIMITS": "0",
            # each bench consumer places many pay-at-station orders: the per-account cap of open
            # unpaid orders (orders.services.limits) would turn the checkout scenario into 409s
            "MAX_OPEN_PAY_LATER_ORDERS": "1000000",
        }
        stripe_base = None
        if not only or "mixed_checkout" in only:  # the mixed checkout is paid by card (orders.bookables)
            stripe_base = start_localstripe(procs)
            if stripe_base:
                env.update(
                    STRIPE_SECRET_KEY="sk_test_bench",
                    STRIPE_PUBLISHABLE_KEY="pk_test_bench",
                    STRIPE_API_BASE=stripe_base,
                )
        warnings = load_data(args, env)
        checks += [f"data warning: {w}" for w in warnings]
        m = json.loads((args.workdir / "manifest.json").read_text())
        if not only or "payout_batch" in only:
            payout_figures = measure_payouts(args, env)
            checks.append(payout_line(payout_figures))
            log(checks[-1])
        counts = subprocess.run(
            [str(BIN / "python"), "-m", "bench.volume", "counts"],
            cwd=ROOT,
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
        )
        try:
            data_counts = json.loads(counts.stdout.strip().splitlines()[-1])
        except (ValueError, IndexError):
            data_counts = {}

        hello = Scenario("hello", "hello world (ceiling, start)", [Req("GET", "/")])
        log("hello-world reference")
        start_gunicorn(procs, "hello", "bench.hello:app", HELLO_PORT, env, args, "/")
        http("GET", f"http://127.0.0.1:{HELLO_PORT}/")
        if args.warmup > 0:  # not measured: a machine idle until now (a VM's CPU, caches) answers
            # its first seconds of load slower, which would lower the ceiling and flatter every ratio
            run_wrk(
                wrk,
                f"http://127.0.0.1:{HELLO_PORT}",
                hello,
                argparse.Namespace(**{**vars(args), "seconds": args.warmup}),
                "hello-warmup",
            )
        hello_result = measure(wrk, f"http://127.0.0.1:{HELLO_PORT}", hello, args, "hello", repeatable=True)
        procs.stop("hello")
        results.append(("hello", hello.label, hello_result, ""))
        log(f"hello: {hello_result['ok_rps']:.0f} req/s")

        if not args.no_celery:
            celery = procs.start(
                "celery",
                [
                    *NICE,
                    str(args.serve_bin / "celery"),
                    "-A",
                    "wsgi:celery_app",
                    "worker",
                    "-Q",
                    "celery,search",
                    "--pool",
                    "solo",
                    "--without-gossip",
                    "--without-mingle",
                    "--without-heartbeat",
                    "--loglevel",
                    "info",
                    "-n",
                    "bench@%h",
                ],
                env,
            )
            wait_until(lambda: b" ready." in (args.workdir / "celery.log").read_bytes(), 90, "celery worker", celery)
        modules_file = args.workdir / "worker-modules.jsonl"
        modules_file.unlink(missing_ok=True)
        app_proc = start_gunicorn(
            procs, "app", "wsgi:app", APP_PORT, {**env, "BENCH_WORKER_MODULES": str(modules_file)}, args, "/healthz"
        )
        watch = MemoryWatch(app_proc.pid)
        watch.start()
        #: (scenario, web workers' peak RSS after it), from the peak before the first scenario (the
        #: workers' start and the tokens' logins) on
        peak_steps: list[tuple[str, float]] = []
        celery_proc = procs.items.get("celery")
        stripe_proc = procs.items.get("localstripe")
        meter = CpuMeter(
            app_proc.pid,
            celery_proc.pid if celery_proc is not None else None,
            stripe_proc.pid if stripe_proc is not None else None,
        )
        base = f"http://127.0.0.1:{APP_PORT}"
        front = base
        if nginx:
            start_nginx(procs, nginx, args.workdir)
            front = f"http://127.0.0.1:{NGINX_PORT}"
            log(f"nginx in front of gunicorn on {front} (deploy/nginx.conf)")
        tokens = fetch_tokens(base, m, args.workdir / "guests.json")
        if not only or only & {"pages_user", "cart"}:
            tokens["sessions"] = fetch_sessions(base, m)
        tokens["card"] = bool(stripe_base)
        watch.sample()
        peak_steps.append(("start", max(watch.peak_rss, watch.peak_hwm)))
        scenarios = build_scenarios(m, tokens, random.Random(args.seed))
        paths = api_paths(base)
        pool_ids = [pid for pid, _station in m["pool"]]
        for sc in scenarios:
            if only and sc.name not in only:
                continue
            # the stock snapshot comes before the probe: the probe's order counts as sold too
            before = stock_snapshot(args.database_url, pool_ids) if sc.name in ("checkout", "mixed_checkout") else None
            sc_base = front if sc.name in PROXIED else base
            why = probe(sc_base, sc, paths, warm=1 if sc.single_use or sc.api_path in ("/orders", "/bookings") else 20)
            if why:
                log(f"{sc.name}: {why}")
                results.append((sc.name, sc.label, None, why))
                continue
            if sc.name in CACHED_PAGES and not args.cold:
                log(f"{sc.name}: warmed {warm_pages(sc_base, sc)} distinct pages")
            log(
                f"{sc.name}: {args.seconds} s, {args.connections} connections"
                + (" through nginx" if sc_base != base else "")
            )
            cpu_before = meter.snapshot()
            res = measure(
                wrk,
                sc_base,
                sc,
                args,
                sc.name,
                repeatable=not sc.single_use and all(r.method == "GET" for r in sc.requests),
            )
            results.append((sc.name, sc.label, res, ""))
            if sc.single_use and res["requests"] + args.threads > len(sc.requests):
                checks.append(
                    f"{sc.name}: {res['requests']} requests over {len(sc.requests)} distinct ones: "
                    "the list ran out, some were sent twice"
                )
            log(f"{sc.name}: {res['ok_rps']:.0f} ok req/s, p99 {res['p99_ms']:.1f} ms, statuses {res['statuses']}")
            if sc.name == "checkout":
                checks.append(check_stock(args.database_url, before, pool_ids, res["statuses"].get(201, 0)))
                log(checks[-1])
            if sc.name == "booking":
                checks.append(check_bookings(args.database_url))
                log(checks[-1])
            if sc.name == "mixed_checkout":  # no oversell, no overbooking, no half order
                checks.append(
                    "mixed_checkout " + check_stock(args.database_url, before, pool_ids, res["statuses"].get(201, 0))
                )
                checks.append("mixed_checkout " + check_bookings(args.database_url))
                checks.append(check_mixed(args.database_url, before))
                log("; ".join(checks[-3:]))
            meter.wait_for_celery()
            answered = sum(n for status, n in res["statuses"].items() if int(status) < 500)
            cpu_rows.append((sc.label, CpuMeter.per_request(cpu_before, meter.snapshot(), answered)))
            log(f"{sc.name}: CPU ms per request " + ", ".join(f"{k} {v:.2f}" for k, v in cpu_rows[-1][1].items()))
            watch.sample()
            peak = max(watch.peak_rss, watch.peak_hwm)
            peak_steps.append((sc.label, peak))
            log(f"{sc.name}: web worker peak RSS so far {peak:.0f} MB")
            target = TARGETS.get(sc.name)
            if target and target[0] == "rps_p99" and not args.no_open_loop:
                # the latency at the target's rate (bench/openloop.py): wrk's p99 above is mostly its queue;
                # then, if asked, below it (reported, not the verdict)
                for fraction in (1.0, *parse_fractions(args.open_loop_fractions)):
                    rate = target[1] * fraction
                    log(f"{sc.name}: open loop at {rate:.0f}/s for {args.seconds} s")
                    before = stock_snapshot(args.database_url, pool_ids)
                    loop = run_open_loop(base, sc.requests, rate=rate, seconds=args.seconds)
                    if fraction == 1.0:
                        res["open"] = loop
                    tag = "" if fraction == 1.0 else f" ({fraction:.0%} of the target's rate, not the verdict)"
                    open_checks.append(open_loop_line(sc.label, loop) + tag)
                    log(open_checks[-1])
                    where = f"{sc.name} open loop at {rate:.0f}/s "
                    checks.append(
                        where + check_stock(args.database_url, before, pool_ids, loop["statuses"].get(201, 0))
                    )
                    if sc.name == "mixed_checkout":
                        checks.append(where + check_bookings(args.database_url))
                        checks.append(where + check_mixed(args.database_url, before))
                    log(checks[-1])
        memory = watch.stop()
        memory["peak_during"] = peak_rises(peak_steps)
        if celery_proc is not None:
            memory["celery_rss_mb"] = max(
                (proc_mem(p).get("VmRSS", 0) for p in [celery_proc.pid, *children(celery_proc.pid)]), default=0
            )
        procs.stop("app")
        memory["after_fork"] = modules_after_fork(modules_file)
        procs.stop("celery")
        # the ceiling again at the end: a shared machine drifts, the ceiling is the higher of both runs
        log("hello-world reference (end)")
        start_gunicorn(procs, "hello", "bench.hello:app", HELLO_PORT, env, args, "/")
        http("GET", f"http://127.0.0.1:{HELLO_PORT}/")
        hello_end = measure(wrk, f"http://127.0.0.1:{HELLO_PORT}", hello, args, "hello-end", repeatable=True)
        procs.stop("hello")
        results.append(("hello_end", "hello world (ceiling, end)", hello_end, ""))
        log(f"hello (end): {hello_end['ok_rps']:.0f} req/s")
    finally:
        procs.stop_all()

    hellos = [r[2]["ok_rps"] for r in results if r[0].startswith("hello") and r[2]]
    # the higher of the two: a ceiling run the host slowed (see IDLE_LIMIT) must not flatter every ratio
    ceiling = max(hellos, default=0.0)
    table = render(results, ceiling)
    mach = machine()
    print()
    print(table)
    print()
    peak_rss = memory.get("peak_rss_mb", 0)
    mem_line = (
        f"web worker memory (target: RSS < 150 MB): peak RSS {peak_rss:.0f} MB "
        f"{'✓' if 0 < peak_rss < 150 else '✗'} (counts the pages shared with the master; "
        f"{memory.get('peak_during', '?')}), PSS {memory.get('pss_mb', 0):.0f} MB, "
        f"private {memory.get('private_mb', 0):.0f} MB; "
        f"gunicorn master RSS {memory.get('master_rss_mb', 0):.0f} MB"
        + (f"; Celery worker RSS {memory['celery_rss_mb']:.0f} MB" if memory.get("celery_rss_mb") else "")
        + (f"; imported by a worker after the fork: {memory['after_fork']}" if memory.get("after_fork") else "")
    )
    print(mem_line)
    for c in open_checks + checks:
        print(c)
    cpu_table = render_cpu(cpu_rows, os.cpu_count() or 1) if cpu_rows else ""
    if cpu_table:
        print()
        print("CPU ms per answered request, by process (`shop`: its own; `all`: with localstripe and wrk):")
        print(cpu_table)
    if str(args.output) != "-":
        report = [
            "# Benchmark results",
            "",
            f"Run {started_at:%Y-%m-%d %H:%M} UTC with `{shown_command(argv)}`.",
            "",
            f"Machine: {mach['nproc']} CPUs ({mach['cpu']}), {mach['memory_gib']} GiB RAM, Linux {mach['kernel']}, "
            f"Python {mach['python']}; load average at the end {mach['loadavg']}. PostgreSQL {pg_version}, "
            f"Redis {redis_version}, {wrk_version}.",
            "",
            f"Shape: gunicorn {args.workers} × {args.worker_class}"
            + (f" ({args.gthreads} threads)" if args.worker_class == "gthread" else "")
            + " workers, --preload; "
            + (
                f"nginx {nginx_version} in front (deploy/nginx.conf) for the anonymous pages ({', '.join(PROXIED)}), "
                "the other scenarios to gunicorn directly; "
                if nginx
                else "no nginx (--no-nginx): every scenario to gunicorn directly; "
            )
            + f"Celery worker {'off' if args.no_celery else 'solo pool, queues celery+search' + WORKER_NICE_NOTE}; "
            f"wrk {args.threads} threads, {args.connections} connections, {args.seconds} s per scenario, loopback; "
            f"request mix seed {args.seed}; "
            + (
                "page cache cold (--cold)."
                if args.cold
                else "anonymous page scenarios measured with a warm page cache (each distinct page requested once before)."
            ),
            "",
            "Data: " + ", ".join(f"{v:,} {k}" for k, v in data_counts.items()) + ".",
            "",
            f"Ceiling: {ceiling:.0f} req/s (the higher of the hello-world runs at the start and the end). "
            "Ratios are ok requests/s divided by that ceiling; "
            "`409` counts conflicts (sold out, no room), `errors` everything else that was not 2xx/3xx; "
            f"`idle` is the share of the cores left idle during the run: over {IDLE_LIMIT:.0%} the host slowed "
            "the run (⚠), and a read scenario is measured again (↻ shows the first run's idle share; the run "
            "with the cores busier is kept).",
            "",
            table,
            "",
            mem_line + ".",
            "",
            *(
                [
                    'Latency at the target\'s rate: the p99 of a target such as "≥ 150/s with p99 < 150 ms" is '
                    "read here, each request due at a steady rate whether or not the earlier ones were answered; "
                    "the table's p99 is wrk's closed loop at its saturation, where 16 connections queue behind "
                    'the server\'s threads (bench/README.md, "Latency at the target rate").',
                    "",
                    *[f"- {c}" for c in open_checks],
                    "",
                ]
                if open_checks
                else []
            ),
            *[f"- {c}" for c in checks],
        ]
        if cpu_table:
            report += [
                "",
                "CPU ms per answered request, by process (the Celery worker's until it is idle "
                "again, so a write scenario's mails count; PostgreSQL counts the whole server; `stripe` "
                "(localstripe) and `wrk` are not the shop's but take the same cores: `shop` sums the shop's "
                "processes, `all` everything, and the last column is the most requests/s these cores could "
                "answer at `all`):",
                "",
                cpu_table,
            ]
        if args.note:
            report += ["", f"Note: {args.note}"]
        report += _other_sections(args.output)
        args.output.write_text("\n".join(report).rstrip() + "\n")
        log(f"written {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
