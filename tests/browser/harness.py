"""What the browser journeys share: viewports, languages, the live server handle and a watchful page.

`WatchedPage` wraps a Playwright page and records every console error, uncaught page error,
failed request and 4xx/5xx response from our own server. Every page it lands on (`goto`,
`submit_and_wait`, `login`, `step`) is checked (`check_page`, see tests/browser/checks.py): axe-core's
WCAG 2 A/AA rules, sideways scrolling, buttons our stylesheet does not style, and text in the other
language. `step()` also saves a screenshot under `test-artifacts/browser/<test>/` (not when
`BROWSER_STEP_SHOTS=0`, as in CI, where nobody looks at them: they were a sixth of a journey's time; a
failing journey still saves the page it failed on) and fails the test at once if anything went wrong so far. A page that loaded but was never checked fails the test at its end.

Journeys run in both languages: `user.t("去结算")` is the text the page shows for that catalogue msgid in
the user's language (the msgid itself in Chinese), `user.rx(...)` the same as a regular expression.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import Page, Response, expect

from tests.browser import a11y, checks

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browser"
DEMO_PASSWORD = "demo12345"
STEP_SHOTS = os.environ.get("BROWSER_STEP_SHOTS", "1") != "0"
#: (viewport, language, digest of the page's shape) of the page states axe found nothing wrong with in this
#: process: a page shaped like one axe passed (the same template with other data, checks.PAGE_FACTS `shape`)
#: is not run through axe again (a third of a journey's time went to axe, a third of its calls were such
#: repeats). The cheaper checks run every time.
_AXE_PASSED: set[tuple] = set()

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
    Viewport("desktop", 1366, 900, False),
]
#: the languages every journey runs in: (babel name, the browser's locale)
LANGUAGES = {"zh_CN": "zh-CN", "en": "en-US"}


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
        from celery.app import app_or_default

        from shop.extensions import db

        previous = app_or_default()
        self.celery.set_current()
        try:
            with self.app.app_context():
                try:
                    yield db
                finally:
                    db.session.remove()
        finally:
            previous.set_current()

    def has_route(self, rule_prefix: str) -> bool:
        return any(str(r.rule).startswith(rule_prefix) for r in self.app.url_map.iter_rules())

    def translate(self, msgid: str, lang: str, *, context: str | None = None, **values: Any) -> str:
        """What the app shows for catalogue `msgid` (in `context`, the templates' `pgettext`) in `lang`
        (with `%(name)s` values); a msgid the catalogue lacks is a test error."""
        key = (context, msgid, lang)
        found = self._translations.get(key)
        if found is None:
            if lang.startswith("zh"):
                found = msgid
            else:
                from flask_babel import force_locale, gettext, pgettext

                with self.app.test_request_context("/"), force_locale(lang):
                    found = gettext(msgid) if context is None else pgettext(context, msgid)
                if found == msgid and re.search(r"[\u4e00-\u9fff]", msgid):
                    raise AssertionError(f"{msgid!r} has no {lang} translation in the catalogues (a typo in the test?)")
            self._translations[key] = found
        return found % values if values else found

    @property
    def _translations(self) -> dict:
        return self.notes.setdefault("_translations", {})


def _without_query(url: str) -> str:
    return url.split("#", 1)[0].split("?", 1)[0]


def _slug(text: str) -> str:
    return re.sub(r"[^\w.-]+", "-", text).strip("-")[:80] or "step"


class Problems:
    """Everything that went wrong in the pages of one test, shared by its pages."""

    def __init__(self) -> None:
        self.items: list[str] = []
        self._allowed: list[tuple[int, re.Pattern[str]]] = []

    def add(self, text: str) -> None:
        if text not in self.items:  # the same page state met again (a step after a submit) says it once
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

    def __init__(
        self,
        page: Page,
        *,
        label: str,
        live: LiveServer,
        viewport: Viewport,
        lang: str,
        problems: Problems,
        shots: Path,
        counter: list[int],
    ) -> None:
        self.page = page
        self.label = label
        self.live = live
        self.viewport = viewport
        self.lang = lang
        self.problems = problems
        self.shots = shots
        self._counter = counter
        self.own_origins = tuple(o for o in (live.url, live.stripe_url) if o)
        self._checked: dict[str, str] = {}  # fingerprint of a page state -> its URL, checked already
        self._loaded: set[str] = set()  # URLs (without query) of documents loaded in this page
        self._checked_urls: set[str] = set()
        page.on("load", lambda p: self._loaded.add(_without_query(p.url)))
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
        self.problems.add(f"[{self.label}] HTTP {response.status} for {response.request.method} {response.url}")

    # --- language --------------------------------------------------------------------------
    @property
    def is_en(self) -> bool:
        return self.lang.startswith("en")

    def t(self, msgid: str, *, context: str | None = None, **values: Any) -> str:
        """The text the page shows for catalogue `msgid` (in `context`, for a template's `pgettext`; with
        `%(name)s` values) in this user's language."""
        return self.live.translate(msgid, self.lang, context=context, **values)

    def tn(self, msgid: str, n: int, **values: Any) -> str:
        """The text of a template's `ngettext(msgid, msgid, n)` (Chinese has one form) with `%(num)s` = n
        in this user's language."""
        if not self.is_en:
            return msgid % {"num": n, **values}
        from flask_babel import force_locale, ngettext

        with self.live.app.test_request_context("/"), force_locale(self.lang):
            return ngettext(msgid, msgid, n, **values)

    def t_before(self, msgid: str) -> str:
        """The text of `msgid` in this user's language up to its first `%(name)s` value."""
        return self.live.translate(msgid, self.lang).split("%(", 1)[0].strip()

    def rx(self, *msgids: str | tuple[str, str], exact: bool = False) -> re.Pattern[str]:
        """A pattern matching any of the msgids' texts in this user's language (case-insensitive); a
        `(context, msgid)` pair stands for a template's `pgettext(context, msgid)`."""
        texts = (self.t(m) if isinstance(m, str) else self.t(m[1], context=m[0]) for m in msgids)
        body = "|".join(re.escape(text) for text in texts)
        return re.compile(f"^(?:{body})$" if exact else body, re.I)

    # --- checks of the page as it is now ----------------------------------------------------
    def check_page(self, where: str = "") -> None:
        """Check the page as it is now (see tests/browser/checks.py); a state checked before is skipped.
        Problems are recorded; `step()` (or the end of the test) fails on them."""
        page = self.page
        with contextlib.suppress(PlaywrightError):
            page.wait_for_load_state("load", timeout=5_000)
        if not page.url.startswith(self.live.url):
            return
        facts = page.evaluate(checks.PAGE_FACTS, checks.THIRD_PARTY)
        url = page.url
        self._checked_urls.add(_without_query(url))
        if facts["fingerprint"] in self._checked:
            return
        self._checked[facts["fingerprint"]] = url
        at = f"[{self.label}] {url}"
        if facts["width"] > self.viewport.width + 1:
            self.problems.add(
                f"{at} is {facts['width']}px wide on a {self.viewport.width}px "
                f"{self.viewport.name} screen (sideways scrolling)"
            )
        for problem in facts["buttons"]:
            self.problems.add(f"{at} unstyled button: {problem}")
        wanted = "zh" if self.lang.startswith("zh") else "en"
        if not facts["lang"].lower().startswith(wanted):
            self.problems.add(f"{at} is <html lang={facts['lang']!r}> for a {self.lang} reader")
        bad = checks.language_problems(
            facts["lang"].lower(),
            facts["texts"],
            checks.data_words(self.live),
            names=lambda: checks.account_names(self.live),
        )
        if bad:
            self.problems.add(f"{at} text in the other language: {bad}")
        seen = (self.viewport, self.lang, hashlib.sha1(facts["shape"].encode()).digest())
        if seen in _AXE_PASSED:  # a page of the same shape on the same screen: axe passed it already
            return
        found = a11y.violations(page)
        for v in found:
            nodes = "\n      ".join(v["nodes"])
            self.problems.add(f"{at} axe (WCAG 2 A/AA) {v['id']}: {v['help']}\n      {nodes}")
        if not found:
            _AXE_PASSED.add(seen)

    def unchecked_pages(self) -> list[str]:
        """Documents that loaded in this page and were never checked (a journey step is missing)."""
        return sorted(u for u in self._loaded - self._checked_urls if u.startswith(self.live.url))

    # --- actions ----------------------------------------------------------------------------
    def url(self, path: str) -> str:
        return path if path.startswith("http") else self.live.url + path

    def goto(self, path: str, *, check: bool = True) -> Response | None:
        response = self.page.goto(self.url(path), wait_until="load")
        if check and response is not None and "text/html" in (response.headers.get("content-type") or ""):
            self.check_page()
        return response

    def step(self, name: str, *, check: bool = True) -> Path:
        """Screenshot the page as it is now (unless `BROWSER_STEP_SHOTS=0`) and fail if anything went
        wrong so far."""
        self._counter[0] += 1
        path = self.shots / f"{self._counter[0]:02d}-{self.label}-{_slug(name)}.png"
        with contextlib.suppress(Exception):
            self.page.wait_for_load_state("load", timeout=5_000)
        if STEP_SHOTS:
            self.shots.mkdir(parents=True, exist_ok=True)
            if self.page.locator("canvas").count():
                self.page.wait_for_timeout(1_100)  # let chart animations (Chart.js: 1 s) finish for the picture
            self.page.screenshot(path=str(path), full_page=True)
        self.check_page(f"step '{name}', {path.name}")
        if check:
            self.problems.check(f"step '{name}' ({self.label})")
        return path

    def login(self, email: str, password: str = DEMO_PASSWORD) -> None:
        page = self.page
        self.goto("/login")
        form = page.locator("main form")
        form.get_by_label(self.t("邮箱")).fill(email)
        form.get_by_label(self.t("密码"), exact=True).fill(password)
        self.submit_and_wait(lambda: form.get_by_role("button", name=self.t("登录")).click())
        expect(page.locator("form[action$='/logout']")).to_have_count(1)

    def submit_and_wait(self, click: Callable[[], None], *, check: bool = True) -> None:
        """Click something that submits a form (or follows a link), wait for the next page, check it."""
        with self.page.expect_navigation(wait_until="load"):
            click()
        if check:
            self.check_page()

    def poll(
        self,
        check: Callable[[], bool],
        *,
        timeout: float = 10.0,
        interval: float = 0.25,
        reload: bool = False,
        what: str = "condition",
    ) -> None:
        """Wait until `check()` is true, optionally reloading the page between tries."""
        deadline = time.monotonic() + timeout
        while True:
            if check():
                return
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"timed out after {timeout:.0f}s waiting for {what} ({self.label} at {self.page.url})"
                )
            time.sleep(interval)
            if reload:
                self.page.reload(wait_until="load")

    def text(self) -> str:
        return self.page.locator("body").inner_text()
