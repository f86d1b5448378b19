"""What the browser journeys share: viewports, the live server handle and a watchful page.

`WatchedPage` wraps a Playwright page and records every console error, uncaught page error,
failed request and 4xx/5xx response from our own server; `step()` saves a screenshot under
`test-artifacts/browser/<test>/` and fails the test at once if anything went wrong so far.
"""
from __future__ import annotations

import contextlib
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from playwright.sync_api import Page, Response, expect

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
DEMO_PASSWORD = "demo12345"

DEMO = {
    "consumer": "consumer@demo.cn",
    "operator": "operator@demo.cn",  # station NC01 柳溪村电商服务站
    "host": "host@demo.cn",
    "county": "county@demo.cn",
    "admin": "admin@demo.cn",
}


@dataclass(frozen=True)
class Viewport:
    name: str
    width: int
    height: int
    is_mobile: bool

    @property
    def is_phone(self) -> bool:
        return self.is_mobile

    def context_args(self) -> dict[str, Any]:
        return {
            "viewport": {"width": self.width, "height": self.height},
            "is_mobile": self.is_mobile,
            "has_touch": self.is_mobile,
            "device_scale_factor": 1,
        }


VIEWPORTS = [
    Viewport("phone", 390, 844, True),
    Viewport("desktop", 1280, 800, False),
]


@dataclass
class LiveServer:
    """The app under test, served by werkzeug in a thread (see conftest.live_server)."""

    url: str
    app: Any
    celery: Any
    stripe_url: str | None = None
    stripe_log: Path | None = None
    notes: dict[str, Any] = field(default_factory=dict)  # results one journey leaves for a later one

    @contextlib.contextmanager
    def app_context(self) -> Iterator[Any]:
        """An app context bound to the live app's database and Celery, for reading and preparing data."""
        from celery import _state

        from shop.extensions import db

        previous = _state._tls.current_app
        self.celery.set_current()
        try:
            with self.app.app_context():
                try:
                    yield db
                finally:
                    db.session.remove()
        finally:
            _state._set_current_app(previous)

    def has_route(self, rule_prefix: str) -> bool:
        return any(str(r.rule).startswith(rule_prefix) for r in self.app.url_map.iter_rules())


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-")[:80] or "step"


class Problems:
    """Everything that went wrong in the pages of one test, shared by its pages."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._allowed: list[tuple[int, re.Pattern[str]]] = []

    def add(self, text: str) -> None:
        self.items.append(text)

    def allowed(self, status: int, url: str) -> bool:
        if status == 404 and url.endswith("/favicon.ico"):  # Chromium asks by itself; test_00 checks it once
            return True
        return any(status == s and p.search(url) for s, p in self._allowed)

    @contextlib.contextmanager
    def allow(self, status: int, url_pattern: str) -> Iterator[None]:
        """Inside the block, a response with this status to a matching URL is expected, not an error."""
        entry = (status, re.compile(url_pattern))
        self._allowed.append(entry)
        try:
            yield
        finally:
            self._allowed.remove(entry)

    def check(self, where: str = "") -> None:
        if self.items:
            listing = "\n  ".join(self.items)
            raise AssertionError(f"browser problems{(' by ' + where) if where else ''}:\n  {listing}")


class WatchedPage:
    """A Playwright page that records console errors and failed requests to our server."""

    def __init__(self, page: Page, *, label: str, live: LiveServer, viewport: Viewport,
                 problems: Problems, shots: Path, counter: list[int]) -> None:
        self.page = page
        self.label = label
        self.live = live
        self.viewport = viewport
        self.problems = problems
        self.shots = shots
        self._counter = counter
        self.own_origins = tuple(o for o in (live.url, live.stripe_url) if o)
        page.on("console", self._on_console)
        page.on("pageerror", lambda exc: problems.add(f"[{label}] uncaught JS error on {page.url}: {exc}"))
        page.on("requestfailed", self._on_request_failed)
        page.on("response", self._on_response)

    # --- event handlers ---------------------------------------------------------------------
    def _on_console(self, msg) -> None:
        if msg.type == "error":
            loc = msg.location or {}
            where = f"{loc.get('url', '')}:{loc.get('lineNumber', '')}" if loc else ""
            if "status of" in msg.text and self._expected_status_in_flight(msg):
                return
            self.problems.add(f"[{self.label}] console error on {self.page.url}: {msg.text} {where}".rstrip())

    def _expected_status_in_flight(self, msg) -> bool:
        # Chromium logs "Failed to load resource: the server responded with a status of 404" for a
        # response we explicitly allowed; the response handler already judged it.
        m = re.search(r"status of (\d{3})", msg.text)
        url = (msg.location or {}).get("url", "")
        return bool(m) and self.problems.allowed(int(m.group(1)), url)

    def _on_request_failed(self, request) -> None:
        if not request.url.startswith(self.own_origins):
            return
        failure = request.failure or ""
        if "ERR_ABORTED" in failure:  # a navigation or download cancelled an in-flight load
            return
        self.problems.add(f"[{self.label}] request failed: {request.method} {request.url}: {failure}")

    def _on_response(self, response: Response) -> None:
        if response.status < 400 or not response.url.startswith(self.own_origins):
            return
        if self.problems.allowed(response.status, response.url):
            return
        self.problems.add(
            f"[{self.label}] HTTP {response.status} for {response.request.method} {response.url}"
        )

    # --- actions ----------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.live.url + path

    def goto(self, path: str) -> Response | None:
        response = self.page.goto(self.url(path), wait_until="load")
        return response

    def step(self, name: str, *, check: bool = True) -> Path:
        """Screenshot the page as it is now and fail if anything went wrong so far."""
        self._counter[0] += 1
        self.shots.mkdir(parents=True, exist_ok=True)
        path = self.shots / f"{self._counter[0]:02d}-{self.label}-{_slug(name)}.png"
        with contextlib.suppress(Exception):
            self.page.wait_for_load_state("load", timeout=5_000)
        if self.page.locator("canvas").count():
            self.page.wait_for_timeout(1_100)  # let chart animations (Chart.js: 1 s) finish for the picture
        self.page.screenshot(path=str(path), full_page=True)
        width = self.page.evaluate("document.documentElement.scrollWidth")
        if width > self.viewport.width + 1:
            self.problems.add(f"[{self.label}] {self.page.url} is {width}px wide on a {self.viewport.width}px "
                              f"{self.viewport.name} screen (sideways scrolling); see {path.name}")
        if check:
            self.problems.check(f"step '{name}' ({self.label})")
        return path

    def login(self, email: str, password: str = DEMO_PASSWORD) -> None:
        page = self.page
        self.goto("/login")
        page.get_by_label(re.compile("邮箱|email", re.I)).fill(email)
        page.get_by_label(re.compile("密码|password", re.I)).fill(password)
        page.locator("main form").get_by_role("button", name=re.compile("登录|log ?in", re.I)).click()
        page.wait_for_load_state("load")
        expect(page.locator("form[action$='/logout']")).to_have_count(1)

    def submit_and_wait(self, click: Callable[[], None]) -> None:
        """Click something that submits a form and wait for the next page to load."""
        with self.page.expect_navigation(wait_until="load"):
            click()

    def poll(self, check: Callable[[], bool], *, timeout: float = 10.0, interval: float = 0.25,
             reload: bool = False, what: str = "condition") -> None:
        """Wait until `check()` is true, optionally reloading the page between tries."""
        deadline = time.monotonic() + timeout
        while True:
            if check():
                return
            if time.monotonic() > deadline:
                raise AssertionError(f"timed out after {timeout:.0f}s waiting for {what} ({self.label} at {self.page.url})")
            time.sleep(interval)
            if reload:
                self.page.reload(wait_until="load")

    def text(self) -> str:
        return self.page.locator("body").inner_text()
