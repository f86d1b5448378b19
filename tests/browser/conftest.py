"""Browser journeys: Playwright (pytest-playwright) driving Debian's Chromium against a live server.

* Chromium: `/usr/bin/chromium` (or `CHROMIUM_PATH`) from `apt-get install -y chromium
  fonts-wqy-microhei`; `playwright install` is never used. When it is missing the journeys are
  skipped with one clear reason, except under `CI=true`, where a missing browser is a failure.
* Live server: a werkzeug server on a free loopback port, in a thread, serving an app built here
  with its own database, so that nothing leaks into the rest of the suite (the shared `app`/`db`
  fixtures roll back per test and cannot serve another thread):
  - `BROWSER_DATABASE_URL` when set; else, when `TEST_DATABASE_URL` is PostgreSQL, a sibling
    database named `<that name>_browser` on the same server (created when missing);
    else a SQLite file in a temp folder.
  - schema from `shop.schema.create_schema()`, demo data from `flask seed-demo`, search index
    from `flask search reindex` when that command exists.
  - Stripe pointed at localstripe (started here on a free port), its webhook registered.
* Every journey runs in both languages (zh_CN, en) and at both sizes, phone (390x844) and desktop
  (1366x900): Chinese on the phone and English on the desktop (BROWSER_ALL_VARIANTS=1: all four); screenshots of each step go to `test-artifacts/browser/<journey>/<lang>-<viewport>-<test>/`.
  Any console error, uncaught JS error, failed request or 4xx/5xx response from our server fails the
  test, and so does any page it visits with an axe (WCAG 2 A/AA) violation, sideways scrolling, an
  unstyled button or text in the other language (tests/browser/harness.py, checks.py).
"""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request
from pathlib import Path

import pytest

from tests.browser.harness import (
    ARTIFACTS,
    LANGUAGES,
    ROOT,
    VIEWPORTS,
    LiveServer,
    Problems,
    Viewport,
    WatchedPage,
)

HERE = Path(__file__).resolve().parent
IS_CI = os.environ.get("CI") == "true"
CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
INSTALL_HINT = "apt-get install -y chromium fonts-wqy-microhei"

STRIPE_SECRET_KEY = "sk_test_browser_journeys"
STRIPE_PUBLISHABLE_KEY = "pk_test_browser_journeys"
STRIPE_WEBHOOK_SECRET = "whsec_browser_journeys"
WEBHOOK_PATH = "/api/v1/payments/stripe/webhook"


def _chromium_missing() -> str | None:
    if not (os.path.isfile(CHROMIUM) and os.access(CHROMIUM, os.X_OK)):
        return f"Chromium not found at {CHROMIUM} ({INSTALL_HINT}; or set CHROMIUM_PATH)"
    return None


def _cjk_font_missing() -> bool:
    fc_list = shutil.which("fc-list")
    if not fc_list:
        return False
    out = subprocess.run([fc_list, ":lang=zh"], capture_output=True, text=True, check=False).stdout
    return not out.strip()


def _is_browser_item(item) -> bool:
    return HERE in Path(str(item.path)).resolve().parents


# --------------------------------------------------------------------------- collection & report

_SKIPPED_REASON: list[str] = []


def pytest_collection_modifyitems(config, items):
    mine = [item for item in items if _is_browser_item(item)]
    if not mine:
        return
    missing = _chromium_missing()
    for item in mine:
        item.add_marker(pytest.mark.browser)
        if missing and not IS_CI:
            item.add_marker(pytest.mark.skip(reason=f"browser journeys skipped: {missing}"))
    if missing and not IS_CI:
        _SKIPPED_REASON.append(f"{len(mine)} browser journeys skipped: {missing}")


def pytest_terminal_summary(terminalreporter):
    for line in _SKIPPED_REASON:
        terminalreporter.write_line(line, yellow=True, bold=True)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    report = yield
    setattr(item, f"_browser_rep_{report.when}", report)
    return report


# --------------------------------------------------------------------------- browser


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    """pytest-playwright launches Debian's Chromium with our flags instead of a downloaded build."""
    missing = _chromium_missing()
    if missing:
        if IS_CI:
            pytest.fail(f"CI=true and {missing}: .ci/run must install it", pytrace=False)
        pytest.skip(f"browser journeys skipped: {missing}")
    return {**browser_type_launch_args, "executable_path": CHROMIUM, "args": CHROMIUM_ARGS, "headless": True}


def _variants() -> list[tuple[Viewport, str]]:
    """(viewport, language) pairs every journey runs in. By default two: Chinese on the phone and English
    on the desktop, so that each journey runs in both languages and at both sizes within CI's time;
    BROWSER_ALL_VARIANTS=1 runs the whole cross product (four)."""
    if os.environ.get("BROWSER_ALL_VARIANTS") == "1":
        return [(v, lang) for v in VIEWPORTS for lang in LANGUAGES]
    return [(VIEWPORTS[0], "zh_CN"), (VIEWPORTS[1], "en")]


def _journey_number(metafunc) -> int:
    """The journey's number, from its file name (test_24_….py: 24); 0 for a file without one."""
    match = re.match(r"test_(\d+)_", os.path.basename(str(metafunc.definition.fspath)))
    return int(match.group(1)) if match else 0


def pytest_generate_tests(metafunc):
    names = metafunc.fixturenames
    if "viewport" not in names or "lang" not in names:
        return
    fixed = [m for m in metafunc.definition.iter_markers("parametrize") if "viewport" in str(m.args[0])]
    variants = _variants()
    if fixed:  # the test chose its viewport: the languages paired with it
        chosen = {v.name for v in fixed[0].args[1]}
        langs = [lang for v, lang in variants if v.name in chosen]
        metafunc.parametrize("lang", langs, ids=langs, indirect=True)
        return
    if os.environ.get("BROWSER_VARIANTS") == "alternate" and len(variants) == 2:
        # CI's time (.ci/run): one of the two variants a journey, by its number — odd ones on the phone in
        # Chinese, even ones on the desktop in English, a journey about a phone (its file says so) on the
        # phone — so both languages and both sizes are still walked across the journeys; `make test` runs
        # both for every journey
        on_a_phone = "phone" in os.path.basename(str(metafunc.definition.fspath))
        variants = [variants[0 if on_a_phone else (_journey_number(metafunc) + 1) % 2]]
    metafunc.parametrize(
        ["viewport", "lang"], variants, ids=[f"{v.name}-{lang}" for v, lang in variants], indirect=True
    )


@pytest.fixture
def viewport(request) -> Viewport:
    return request.param


@pytest.fixture
def lang(request) -> str:
    """The reader's language (zh_CN or en; see _variants)."""
    return request.param


# --------------------------------------------------------------------------- live server


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _ensure_postgres_database(base_url: str, name: str) -> None:
    import sqlalchemy as sa

    maintenance = sa.make_url(base_url).set(database="postgres")
    engine = sa.create_engine(maintenance, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            exists = conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name})
            if not exists:
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    finally:
        engine.dispose()


def _browser_database_url(tmp: str) -> str:
    explicit = os.environ.get("BROWSER_DATABASE_URL", "")
    if explicit:
        return explicit
    base = os.environ.get("TEST_DATABASE_URL", "")
    if base.startswith("postgresql"):
        import sqlalchemy as sa

        url = sa.make_url(base)
        name = f"{url.database}_browser"
        _ensure_postgres_database(base, name)
        return url.set(database=name).render_as_string(hide_password=False)
    if IS_CI:
        raise RuntimeError("CI=true needs TEST_DATABASE_URL (PostgreSQL) for the browser journeys")
    return f"sqlite:///{tmp}/browser.sqlite3"


class _Localstripe:
    def __init__(self, log_path: Path) -> None:
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.script = script = ROOT / "scripts" / "run_localstripe.py"
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "wb")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(
            [sys.executable, str(script), "--port", str(self.port)],
            cwd=str(ROOT),
            stdout=self._log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        self._wait_ready()

    def _wait_ready(self, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(
                    f"localstripe ({self.script}) exited with {self.proc.returncode}; see {self.log_path}"
                )
            try:
                with urllib.request.urlopen(f"{self.url}/js.stripe.com/v3/", timeout=1) as r:
                    if r.status == 200:
                        return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError(f"localstripe did not answer on {self.url} within {timeout:.0f}s; see {self.log_path}")

    def register_webhook(self, target: str) -> None:
        import json

        body = json.dumps(
            {
                "url": target,
                "secret": STRIPE_WEBHOOK_SECRET,
                "events": ["payment_intent.succeeded", "payment_intent.payment_failed", "payment_intent.canceled"],
            }
        ).encode()
        request = urllib.request.Request(
            f"{self.url}/_config/webhooks/browser-journeys",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=5) as r:
            assert r.status == 200, r.status

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(timeout=5)
        self._log.close()


def _run_cli(live: LiveServer, *args: str, required: bool = True) -> str:
    """Run a `flask` command of the live app (the documented way to seed and index)."""
    group = live.app.cli
    if args[0] not in group.commands:
        if required:
            raise RuntimeError(f"flask command {args[0]!r} is missing")
        return ""
    sub = group.commands.get(args[0])
    if len(args) > 1 and hasattr(sub, "commands") and args[1] not in sub.commands:
        if required:
            raise RuntimeError(f"flask command {' '.join(args[:2])!r} is missing")
        return ""
    with live.app_context():
        result = live.app.test_cli_runner().invoke(args=list(args), catch_exceptions=True)
    if result.exit_code != 0:
        raise RuntimeError(
            f"flask {' '.join(args)} failed ({result.exit_code}):\n{result.output}"
        ) from result.exception
    return result.output


def _stock_up(live: LiveServer) -> None:
    """The journeys buy the two demo pickles many times over (in two languages, at two sizes, and leave
    pick-up orders open): give them enough stock, as the admin would, through the API."""
    from tests.browser.journeys import VILLAGE_A, VILLAGE_B, api, api_token, demo_product

    token = api_token(live, "admin@demo.cn")
    for village in (VILLAGE_A, VILLAGE_B):
        product = demo_product(live, village)
        status, body = api(
            live, "PATCH", f"/products/{product['id']}", {"stock": 5000, "reason": "browser journeys"}, token=token
        )
        assert status == 200, (status, body)


@pytest.fixture(scope="session")
def live_server(browser_type_launch_args) -> LiveServer:
    """The whole app on a real socket, demo data loaded, Stripe pointed at localstripe."""
    from celery.app import app_or_default
    from werkzeug.serving import make_server

    from shop import create_app
    from shop.schema import create_schema, drop_schema

    tmp = tempfile.mkdtemp(prefix="shop-browser-")
    stripe = _Localstripe(ARTIFACTS / "localstripe.log")
    config = {
        "TESTING": False,
        "SECRET_KEY": "browser-test-secret",
        "SQLALCHEMY_DATABASE_URI": _browser_database_url(tmp),
        "WTF_CSRF_ENABLED": True,
        "CELERY_BROKER_URL": "",
        "SEARCH_INDEX_DIR": os.path.join(tmp, "index"),
        "UPLOAD_DIR": os.path.join(tmp, "uploads"),
        "SERVER_NAME": None,
        "STRIPE_SECRET_KEY": STRIPE_SECRET_KEY,
        "STRIPE_PUBLISHABLE_KEY": STRIPE_PUBLISHABLE_KEY,
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
        "STRIPE_API_BASE": stripe.url,
        "STRIPE_JS_URL": f"{stripe.url}/js.stripe.com/v3/",
        "MAIL_SERVER": "",
        "RATE_LIMITS": False,  # the journeys log in more often than a person would
        "PASSWORD_HASH_METHOD": "pbkdf2:sha256:1000",  # and each scrypt login would cost 0.1 s of CPU
        "MAX_OPEN_PAY_LATER_ORDERS": 1000,  # the journeys place many unpaid orders for the one demo consumer
    }

    # create_app() makes its Celery app the default and current one; give those back so that the
    # rest of the suite keeps its own, and bind ours only to the threads that serve the live app.
    previous = app_or_default()
    app = create_app(config)
    celery = app.extensions["celery"]
    previous.set_default()
    previous.set_current()

    def wsgi(environ, start_response):
        celery.set_current()
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, wsgi, threaded=True)
    live = LiveServer(
        url=f"http://127.0.0.1:{server.server_port}",
        app=app,
        celery=celery,
        stripe_url=stripe.url,
        stripe_log=stripe.log_path,
    )
    with live.app_context():
        drop_schema()
        create_schema()
    _run_cli(live, "seed-demo")
    _run_cli(live, "search", "reindex", required=False)
    stripe.register_webhook(live.url + WEBHOOK_PATH)

    thread = threading.Thread(target=server.serve_forever, name="live-server", daemon=True)
    thread.start()
    _stock_up(live)
    try:
        yield live
    finally:
        server.shutdown()
        thread.join(timeout=5)
        server.server_close()
        stripe.stop()
        with app.app_context():
            from shop.extensions import db

            db.session.remove()
            db.engine.dispose()
        shutil.rmtree(tmp, ignore_errors=True)


# --------------------------------------------------------------------------- pages


@pytest.fixture
def open_page(request, browser, live_server, viewport, lang):
    """open_page(label) -> a WatchedPage in a fresh browser context (its own cookies) at this viewport,
    speaking this language (`lang=` remembered in its session before its first page)."""
    problems = Problems()
    module = request.node.module.__name__.rsplit(".", 1)[-1].removeprefix("test_")
    shots = ARTIFACTS / module / f"{lang}-{viewport.name}-{request.node.originalname.removeprefix('test_')[:48]}"
    shutil.rmtree(shots, ignore_errors=True)
    counter = [0]
    opened: list[tuple[object, WatchedPage]] = []

    def _open(label: str = "user", *, size: Viewport | None = None) -> WatchedPage:
        """`size`: this user's screen when the journey needs two (a buyer at a desk, an approver on a phone)."""
        screen = size or viewport
        context = browser.new_context(
            base_url=live_server.url,
            locale=LANGUAGES[lang],
            timezone_id="Asia/Shanghai",
            accept_downloads=True,
            reduced_motion="reduce",
            **screen.context_args(),
        )
        context.set_default_timeout(10_000)
        context.set_default_navigation_timeout(15_000)
        # the session remembers the language (shop: `?lang=`); the context's requests share its cookies
        assert context.request.get(f"{live_server.url}/healthz?lang={lang}").ok
        page = context.new_page()
        watched = WatchedPage(
            page,
            label=label,
            live=live_server,
            viewport=screen,
            lang=lang,
            problems=problems,
            shots=shots,
            counter=counter,
        )
        opened.append((context, watched))
        return watched

    _open.problems = problems
    yield _open

    call = getattr(request.node, "_browser_rep_call", None)
    failed = call is not None and call.failed
    for context, watched in opened:
        if failed:
            try:
                shots.mkdir(parents=True, exist_ok=True)
                watched.page.screenshot(path=str(shots / f"zz-failed-{watched.label}.png"), full_page=True)
            except Exception:  # noqa: BLE001 - best effort on the way out
                pass
        elif call is not None:
            for url in watched.unchecked_pages():
                problems.add(
                    f"[{watched.label}] {url} loaded but was never checked: end the action that "
                    "reached it with submit_and_wait/goto, or take a step() there"
                )
        context.close()
    if not failed:
        problems.check("the end of the test")
