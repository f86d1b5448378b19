"""What a web worker holds (issue #24: a web worker's RSS < 150 MB), in process, step by step.

    python -m bench.footprint                       # the bench data (BENCH_DATABASE_URL, BENCH_WORKDIR/index)
    python -m bench.footprint --rounds 5 --modules  # more requests; list the master's largest packages
    python -m bench.footprint --county --threads 4  # then the county income report, as bench.run's county_income

Does what gunicorn does with `bench/gunicorn.conf.py`: imports `wsgi` (the preload), runs that
file's `when_ready` (the search warm-up, `gc.freeze()`, `malloc_trim`), then forks one child that
serves requests through the Flask test client as a worker would: anonymous pages (home, catalog,
categories, product pages), searches, the product API, then a login through the form and signed-in
pages and the cart (with `--county`, then the county income report by village for 12 months through the
API, from `--threads` threads at once). It prints the master's RSS at the fork and the child's RSS after each step, the
child's peak RSS (VmHWM) before and after the login, and its PSS and private memory at the end.
As in `bench.run`, the child's RSS counts every page it shares with the master.

Runs against DATABASE_URL (BENCH_DATABASE_URL wins) with its search index (SEARCH_INDEX_DIR, default
BENCH_WORKDIR/index); the page cache talks to CACHE_REDIS_URL when set (off otherwise). The login
uses `--login EMAIL:PASSWORD` (default the first bench consumer). Figures: bench/README.md.
"""

from __future__ import annotations

import argparse
import collections
import os
import re
import runpy
import sys
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def mem() -> dict[str, float]:
    """VmRSS and VmHWM of this process, Pss and private memory (MB), as `bench.run.proc_mem` reads them."""
    out: dict[str, float] = {}
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:", "RssAnon:", "RssFile:")):
            out[line.split(":")[0]] = int(line.split()[1]) / 1024
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        key = line.split(":")[0]
        if key in ("Pss", "Private_Clean", "Private_Dirty"):
            out[key] = int(line.split()[1]) / 1024
    return out


def show(step: str) -> None:
    m = mem()
    print(
        f"  {step:<44} RSS {m['VmRSS']:6.1f} MB (anonymous {m['RssAnon']:6.1f}, files {m['RssFile']:5.1f})"
        f"   peak {m['VmHWM']:6.1f} MB",
        flush=True,
    )


class _Log:
    def warning(self, msg, *args):
        print("warning:", msg % args, file=sys.stderr)


class _Server:
    """The part of gunicorn's arbiter that `when_ready` uses."""

    def __init__(self, app):
        self.log = _Log()
        self.app = type("App", (), {"wsgi": staticmethod(lambda: app)})()


def county_report(app, args) -> None:
    """The bench's county scenario (`county_income` in bench.run): the income report by village for each
    of the 12 months up to the manifest's report month, through the API with the county account's
    token, `--rounds` times; the child's peak RSS before and after it."""
    import json
    from datetime import date, timedelta

    workdir = Path(os.environ.get("BENCH_WORKDIR", "/tmp/village-eline-bench"))
    try:
        manifest = json.loads((workdir / "manifest.json").read_text())
        month_end = date.fromisoformat(manifest["report_month"]["to"])
    except (OSError, KeyError, ValueError):
        month_end = date.today().replace(day=1) - timedelta(days=1)
    email, _, password = args.county.partition(":")
    client = app.test_client()
    answer = client.post("/api/v1/auth/token", json={"email": email, "password": password})
    if answer.status_code != 200:
        print(f"  county token: HTTP {answer.status_code}", flush=True)
        return
    headers = {"Authorization": f"Bearer {answer.get_json()['token']}"}
    months = []
    for _ in range(12):
        start = month_end.replace(day=1)
        months.append((start, month_end))
        month_end = start - timedelta(days=1)
    show("county token (a login: its hash's memory)")
    before = mem()["VmHWM"]
    statuses: collections.Counter = collections.Counter()

    def requests(offset: int) -> None:  # one gthread thread: its own client, as a worker's thread has
        own = app.test_client()
        for i in range(args.rounds * len(months)):
            start, end = months[(i + offset) % len(months)]
            path = f"/api/v1/county/income?group_by=village&from={start}&to={end}"
            statuses[own.get(path, headers=headers).status_code] += 1

    threads = [threading.Thread(target=requests, args=(t * 3,)) for t in range(args.threads)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    show(f"county income by village ({args.threads} threads x 12 months x {args.rounds}: {dict(statuses)})")
    print(f"  county report: peak {before:.1f} -> {mem()['VmHWM']:.1f} MB", flush=True)


def serve(app, args) -> None:
    """The child: a worker's requests, RSS after each kind."""
    client = app.test_client()
    products = client.get("/api/v1/products?per_page=48").get_json()["items"]
    product_pages = [f"/products/{p['id']}" for p in products]
    show("first request (product API)")
    for _ in range(args.rounds):
        for path in ["/", "/products", "/products?page=2", "/products?page=3", "/villages", *product_pages]:
            client.get(path, follow_redirects=True)
    show(f"anonymous pages ({len(product_pages) + 5} paths x {args.rounds})")
    for _ in range(args.rounds):
        for q in ("腌菜", "土鸡蛋", "yancai", "banya", "tjd", "大米", "民宿", "有机 大米", "鸡蛋 礼盒", "wuhuaguo"):
            client.get(f"/search?q={q}")
    show("search page (10 queries)")
    for page in range(1, 4 * args.rounds):
        client.get(f"/api/v1/products?page={page}&per_page=24")
    show("product API pages")
    before = mem()["VmHWM"]
    email, _, password = args.login.partition(":")
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf_token"[^>]*?value="([^"]+)"', page)
    response = client.post(
        "/login", data={"csrf_token": token.group(1) if token else "", "email": email, "password": password}
    )
    logged_in = response.status_code in (302, 303)
    show("login through the form" + ("" if logged_in else f" (FAILED: HTTP {response.status_code})"))
    for _ in range(args.rounds):
        for path in ["/cart", "/", "/products", "/products?page=2", *product_pages[:12]]:
            client.get(path)
    show("signed-in pages and the cart")
    if args.county:
        county_report(app, args)
    if args.modules:
        new = collections.Counter(name.split(".")[0] for name in set(sys.modules) - args.master_modules)
        print("  modules the worker imported:", ", ".join(f"{k} {v}" for k, v in new.most_common(25)) or "none")
    m = mem()
    print(
        f"child at the end: RSS {m['VmRSS']:.1f} MB, peak {before:.1f} MB before the login and "
        f"{m['VmHWM']:.1f} MB after it, PSS {m['Pss']:.1f} MB, private "
        f"{m['Private_Clean'] + m['Private_Dirty']:.1f} MB",
        flush=True,
    )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.footprint", description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="times each page is requested (default 3)")
    parser.add_argument("--login", default="bench-user-001@bench.cn:bench-pass-2026", help="EMAIL:PASSWORD")
    parser.add_argument(
        "--county",
        nargs="?",
        const="county@demo.cn:demo12345",
        default="",
        metavar="EMAIL:PASSWORD",
        help="then request the county income report by village for 12 months, as bench.run's county_income "
        "(default account county@demo.cn)",
    )
    parser.add_argument(
        "--threads",
        type=int,
        default=1,
        help="threads requesting the county report at once (a gthread worker of bench.run has 4; default 1)",
    )
    parser.add_argument(
        "--modules", action="store_true", help="list the packages the master imported, and those the worker added"
    )
    args = parser.parse_args(argv)

    workdir = Path(os.environ.get("BENCH_WORKDIR", "/tmp/village-eline-bench"))
    if os.environ.get("BENCH_DATABASE_URL"):
        os.environ["DATABASE_URL"] = os.environ["BENCH_DATABASE_URL"]
    os.environ.setdefault("DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/bench")
    os.environ.setdefault("SEARCH_INDEX_DIR", str(workdir / "index"))
    os.environ["CELERY_BROKER_URL"] = ""
    sys.path.insert(0, str(ROOT))

    print(f"master (python {sys.version.split()[0]}, {os.environ['DATABASE_URL'].rsplit('/', 1)[-1]}):", flush=True)
    show("interpreter")
    import wsgi

    show(f"import wsgi ({len(sys.modules)} modules)")
    conf = runpy.run_path(str(ROOT / "bench" / "gunicorn.conf.py"))
    conf["when_ready"](_Server(wsgi.app))
    show("when_ready: warm-up, gc.freeze, malloc_trim")
    args.master_modules = set(sys.modules)
    if args.modules:
        counts = collections.Counter(name.split(".")[0] for name in sys.modules)
        print("  modules by package:", ", ".join(f"{k} {v}" for k, v in counts.most_common(25)))
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            print("worker (forked):", flush=True)
            serve(wsgi.app, args)
        except BaseException as exc:  # report, never hang the parent
            print(f"worker failed: {exc!r}", file=sys.stderr)
            code = 1
        finally:
            sys.stdout.flush()
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    return os.waitstatus_to_exitcode(status)


if __name__ == "__main__":
    sys.exit(main())
