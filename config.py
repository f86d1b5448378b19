"""Configuration: safe defaults for the embedded default, everything secret or external from the environment.

Variable names are the ones README.md's "Configuration" table documents (`SECRET_KEY`, `DATABASE_URL`,
`CELERY_BROKER_URL`, `SEARCH_INDEX_DIR`, `STRIPE_*`, `MAIL_*`). A `.env` file in the project root is read too.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

from dotenv import load_dotenv

ROOT = Path(__file__).resolve().parent
INSTANCE = ROOT / "instance"

load_dotenv(ROOT / ".env")


def _bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None:
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def _int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def _normalise_db_url(url: str) -> str:
    """Accept plain `postgresql://` / `postgres://` URLs and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    return url


def _list(name: str) -> list[str] | None:
    value = os.environ.get(name)
    return None if value is None else [item.strip() for item in value.split(",") if item.strip()]


def trusted_hosts_from_env() -> list[str] | None:
    """TRUSTED_HOSTS from the environment (comma-separated); else, when SITE_URL is configured (as
    in production), its host name alone; else None (any Host: the embedded default)."""
    hosts = _list("TRUSTED_HOSTS")
    if hosts is not None:
        return hosts or None
    site = os.environ.get("SITE_URL")
    host = urlsplit(site).hostname if site else None
    return [host] if host else None


class Config:
    #: The domain packages, bottom layer first (docs/ARCHITECTURE.md). The app factory imports each
    #: and calls its `init_app(app)`; the kernel (`shop`) imports none of them by name.
    DOMAIN_PACKAGES = (
        "stock",
        "catalog",
        "ledger",
        "orders",
        "stations",
        "tourism",
        "institutions",
        "invoices",
        "reviews",
        "favourites",
        "search",
        "county",
        "admin",
        "demo",
    )
    SECRET_KEY = os.environ.get("SECRET_KEY", "dev-only-change-me")
    #: The shop's public base URL. Every link that leaves the site (password-reset and other mails,
    #: QR codes, share links) is built from it (shop/urls.py), never from the request's Host. When it
    #: is https, the session and remember-me cookies are Secure (shop/__init__.py).
    SITE_URL = os.environ.get("SITE_URL", "http://127.0.0.1:5000")
    #: Flask refuses (400) a request whose Host (X-Forwarded-Host behind the proxy) is not listed.
    #: Derived from SITE_URL when SITE_URL is set in the environment; None accepts any host.
    TRUSTED_HOSTS = trusted_hosts_from_env()
    #: Key for the household personal data at rest (Fernet). Derived from SECRET_KEY when unset.
    HOUSEHOLD_DATA_KEY = os.environ.get("HOUSEHOLD_DATA_KEY", "")
    SQLALCHEMY_DATABASE_URI = _normalise_db_url(
        os.environ.get("DATABASE_URL", f"sqlite:///{INSTANCE / 'shop.sqlite3'}")
    )
    #: A pooled connection idle for this long is pinged before use, and replaced if PostgreSQL restarted
    #: meanwhile (shop.db.ping_idle_connections; not SQLAlchemy's pool_pre_ping, which pings on every
    #: checkout: a round trip per request). Connections in steady use fail once, cleanly, and the pool
    #: is then renewed. 0 pings on every checkout.
    DB_PING_IDLE_SECONDS = float(os.environ.get("DB_PING_IDLE_SECONDS", "2"))
    SQLALCHEMY_ENGINE_OPTIONS: dict = {}
    SQLALCHEMY_RECORD_QUERIES = False

    CELERY_BROKER_URL = os.environ.get("CELERY_BROKER_URL", "")  # empty = run tasks eagerly in process
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "")
    #: Redis transport: an unacknowledged task (its worker died) is delivered again after this many
    #: seconds. Longer than the longest task and any retry countdown, or a task may run twice at once.
    CELERY_VISIBILITY_TIMEOUT = _int("CELERY_VISIBILITY_TIMEOUT", 3600)
    CELERY_BROKER_CONNECT_TIMEOUT = float(os.environ.get("CELERY_BROKER_CONNECT_TIMEOUT", "2"))
    CELERY_BROKER_SOCKET_TIMEOUT = float(os.environ.get("CELERY_BROKER_SOCKET_TIMEOUT", "10"))
    #: Transactional outbox (shop/outbox.py): beat drains it this often; the drain leaves rows younger
    #: than OUTBOX_MIN_AGE_SECONDS to the process that wrote them; after a failed publish a process
    #: leaves its tasks to the drain for OUTBOX_RETRY_SECONDS.
    OUTBOX_DRAIN_SECONDS = _int("OUTBOX_DRAIN_SECONDS", 30)
    OUTBOX_MIN_AGE_SECONDS = _int("OUTBOX_MIN_AGE_SECONDS", 10)
    OUTBOX_RETRY_SECONDS = _int("OUTBOX_RETRY_SECONDS", 5)
    #: Published rows are deleted in batches by a per-process thread this often (0: at once, in the
    #: request; what the tests use). Keep it well under OUTBOX_MIN_AGE_SECONDS.
    OUTBOX_DELETE_SECONDS = float(os.environ.get("OUTBOX_DELETE_SECONDS", "0.5"))
    #: Committed tasks are published by a per-process relay thread, gathered for this long (0: at
    #: once, in the request; what the tests use); the order and booking e-mails of one gathering
    #: travel as one batch message. Keep it well under OUTBOX_MIN_AGE_SECONDS.
    OUTBOX_RELAY_SECONDS = float(os.environ.get("OUTBOX_RELAY_SECONDS", "0.2"))
    #: Sent-mail keys (shop/mail.py): a claim older than this is taken to be from a dead worker;
    #: keys are forgotten after MAIL_DEDUPE_DAYS.
    MAIL_CLAIM_STALE_SECONDS = _int("MAIL_CLAIM_STALE_SECONDS", 300)
    MAIL_DEDUPE_DAYS = _int("MAIL_DEDUPE_DAYS", 30)

    #: Shared page cache for anonymous pages (Redis); unset = in-process (single-process default only).
    #: It also keeps the confirmation steps of irreversible actions (shop/confirm.py).
    CACHE_REDIS_URL = os.environ.get("CACHE_REDIS_URL", "")
    #: Seconds a cached page is kept at most / browsers and proxies may reuse one without asking (0: they
    #: revalidate every time, so a price is never stale; shop/pagecache.py, docs/caching.md).
    PAGE_CACHE_TTL = _int("PAGE_CACHE_TTL", 300)
    PAGE_MAX_AGE = _int("PAGE_MAX_AGE", 0)
    #: How long a confirmation page (GET /confirm/<token>, shop/confirm.py) can be opened after its POST.
    CONFIRM_STEP_SECONDS = _int("CONFIRM_STEP_SECONDS", 30 * 60)
    #: How long what a signed-out visitor typed into a form waits for them to sign in (shop/kept_form.py).
    KEPT_FORM_SECONDS = _int("KEPT_FORM_SECONDS", 30 * 60)
    #: nginx's page cache (deploy/nginx.conf, shop/proxycache.py): nginx's address as the app reaches it,
    #: for the PURGE requests that keep it exact (needs CACHE_REDIS_URL); unset = nginx stores no page.
    PROXY_CACHE_PURGE_URL = os.environ.get("PROXY_CACHE_PURGE_URL", "")
    #: How long nginx keeps a page nothing purged (seconds); every purge is sent again this much later.
    PROXY_CACHE_TTL = _int("PROXY_CACHE_TTL", 300)
    PROXY_CACHE_REPURGE_SECONDS = float(os.environ.get("PROXY_CACHE_REPURGE_SECONDS", "2"))
    SEARCH_INDEX_DIR = os.environ.get("SEARCH_INDEX_DIR", str(INSTANCE / "search-index"))
    UPLOAD_DIR = os.environ.get("UPLOAD_DIR", str(INSTANCE / "uploads"))
    MAX_CONTENT_LENGTH = 8 * 1024 * 1024
    MAX_UPLOAD_BYTES = _int("MAX_UPLOAD_BYTES", 5 * 1024 * 1024)
    #: Photos larger than this are refused from their header, before decoding (catalog/images.py):
    #: JPEG (decoded scaled down) / PNG, WebP and GIF (decoded at full size, 4 bytes a pixel).
    IMAGE_MAX_PIXELS = _int("IMAGE_MAX_PIXELS", 48_000_000)
    IMAGE_MAX_PIXELS_FULL_DECODE = _int("IMAGE_MAX_PIXELS_FULL_DECODE", 16_000_000)
    #: Food-safety papers (catalog/papers.py, docs/papers.md): stored here, never under the public
    #: UPLOAD_DIR (default: `papers` beside it); at most PAPER_MAX_BYTES a file (PDF, JPEG or PNG).
    PAPERS_DIR = os.environ.get("PAPERS_DIR", "")
    PAPER_MAX_BYTES = _int("PAPER_MAX_BYTES", 5 * 1024 * 1024)
    #: The station is told this many days before a document expires, once per document and threshold.
    PAPER_REMINDER_DAYS = tuple(
        int(d) for d in os.environ.get("PAPER_REMINDER_DAYS", "30,7,1").split(",") if d.strip().isdigit()
    )

    STRIPE_SECRET_KEY = os.environ.get("STRIPE_SECRET_KEY", "")
    STRIPE_PUBLISHABLE_KEY = os.environ.get("STRIPE_PUBLISHABLE_KEY", "")
    STRIPE_WEBHOOK_SECRET = os.environ.get("STRIPE_WEBHOOK_SECRET", "")
    STRIPE_API_BASE = os.environ.get("STRIPE_API_BASE", "")
    STRIPE_JS_URL = os.environ.get("STRIPE_JS_URL", "https://js.stripe.com/v3/")
    #: Every Stripe call gives up after STRIPE_TIMEOUT seconds (connect and read) and is retried by the
    #: client STRIPE_MAX_NETWORK_RETRIES times under the same idempotency key: a buyer waits at most
    #: about (retries + 1) x timeout + 1 s before the page says the payment service is unavailable.
    STRIPE_TIMEOUT = float(os.environ.get("STRIPE_TIMEOUT", "8"))
    STRIPE_MAX_NETWORK_RETRIES = _int("STRIPE_MAX_NETWORK_RETRIES", 1)
    #: The proxy to reach Stripe through, if the network needs one (e.g. http://proxy:3128). The Stripe
    #: client does not read HTTPS_PROXY from the environment (orders/providers/stripe.py).
    STRIPE_PROXY = os.environ.get("STRIPE_PROXY", "")
    STRIPE_EXTRA_METHODS = [m for m in os.environ.get("STRIPE_EXTRA_METHODS", "").split(",") if m]

    MAIL_SERVER = os.environ.get("MAIL_SERVER", "")  # empty = write mail to the log
    MAIL_PORT = _int("MAIL_PORT", 25)
    MAIL_USERNAME = os.environ.get("MAIL_USERNAME", "")
    MAIL_PASSWORD = os.environ.get("MAIL_PASSWORD", "")
    MAIL_USE_TLS = _bool("MAIL_USE_TLS")
    MAIL_DEFAULT_SENDER = os.environ.get("MAIL_DEFAULT_SENDER", "乡村e线 <noreply@village-eline.example>")

    BABEL_DEFAULT_LOCALE = "zh_CN"
    BABEL_DEFAULT_TIMEZONE = "Asia/Shanghai"
    LANGUAGES = ("zh_CN", "en")

    ORDER_PAYMENT_MINUTES = _int("ORDER_PAYMENT_MINUTES", 30)
    #: Orders placed for an organisation's approved purchase and still unpaid (a bank transfer on its
    #: way, a card payment the finance office makes later) expire after this many days, not the
    #: retail ORDER_PAYMENT_MINUTES (orders.services.placement).
    INSTITUTIONAL_PAYMENT_DAYS = _int("INSTITUTIONAL_PAYMENT_DAYS", 10)
    #: The account an organisation pays a bank transfer (对公转账) into, shown on the order page.
    BANK_TRANSFER_PAYEE = os.environ.get("BANK_TRANSFER_PAYEE", "南昌县乡村e线电子商务服务中心")
    BANK_TRANSFER_BANK = os.environ.get("BANK_TRANSFER_BANK", "中国农业银行南昌县支行")
    BANK_TRANSFER_ACCOUNT = os.environ.get("BANK_TRANSFER_ACCOUNT", "1413 0101 0400 0000 0")
    BOOKING_HOLD_MINUTES = _int("BOOKING_HOLD_MINUTES", 15)
    #: Embedded default (no CELERY_BROKER_URL): `flask run` runs Celery's beat_schedule in a thread
    #: (shop/scheduler.py) that looks at it this often; EMBEDDED_SCHEDULER=0 turns it off.
    SCHEDULER_TICK_SECONDS = _int("SCHEDULER_TICK_SECONDS", 30)
    EMBEDDED_SCHEDULER = os.environ.get("EMBEDDED_SCHEDULER", "1") not in ("0", "false", "no")
    MAX_STAY_NIGHTS = _int("MAX_STAY_NIGHTS", 14)
    #: Bookings are taken for dates up to this many days ahead (Beijing today + N).
    BOOKING_HORIZON_DAYS = _int("BOOKING_HORIZON_DAYS", 365)
    #: Unpaid (pay-on-arrival) bookings: at most this many open per account, each for at most this
    #: many nights and rooms, so one account cannot hold a listing's rooms without paying.
    PAY_ON_ARRIVAL_MAX_OPEN = _int("PAY_ON_ARRIVAL_MAX_OPEN", 2)
    PAY_ON_ARRIVAL_MAX_NIGHTS = _int("PAY_ON_ARRIVAL_MAX_NIGHTS", 7)
    PAY_ON_ARRIVAL_MAX_UNITS = _int("PAY_ON_ARRIVAL_MAX_UNITS", 2)
    #: Unpaid (station cash, cash on delivery) orders: at most this many open per account, at most
    #: this many units per line, and a station-cash pick-up order not collected within this many days
    #: of its placing is canceled and its stock released (orders.services.limits).
    MAX_OPEN_PAY_LATER_ORDERS = _int("MAX_OPEN_PAY_LATER_ORDERS", 3)
    MAX_PAY_LATER_QUANTITY = _int("MAX_PAY_LATER_QUANTITY", 10)
    PICKUP_UNCOLLECTED_DAYS = _int("PICKUP_UNCOLLECTED_DAYS", 7)
    #: Shipping per shipment: base fee for the first kilo, per extra kilo, free from the threshold.
    SHIPPING_BASE_FEN = _int("SHIPPING_BASE_FEN", 800)
    SHIPPING_PER_KG_FEN = _int("SHIPPING_PER_KG_FEN", 200)
    FREE_SHIPPING_FROM_FEN = _int("FREE_SHIPPING_FROM_FEN", 9900)

    API_TOKEN_DAYS = _int("API_TOKEN_DAYS", 30)
    #: How passwords are hashed (werkzeug's `generate_password_hash` method, "scrypt:N:r:p"). scrypt
    #: with N=2**13, r=8, p=10 is one of the minimum settings of OWASP's Password Storage Cheat Sheet
    #: (werkzeug's default, N=2**15, r=8, p=1, is below all of them) and needs 8 MiB per hash instead
    #: of 32 MiB: a threaded web worker checking several logins at once stays small. Its CPU cost per
    #: hash and per check is measured in bench/README.md. Hashes made with another method still check,
    #: and are replaced at the account's next successful login (`authenticate`). Set in code only,
    #: never from the environment; the test suite sets a cheap one, since its logins prove the logic.
    PASSWORD_HASH_METHOD = "scrypt:8192:8:10"
    #: An account the admin creates gets a random password no one knows and a mailed link to set its own
    #: (shop.auth.password.send_setup_link), valid this many days; after that, 忘记密码 sends a fresh one.
    ACCOUNT_SETUP_DAYS = _int("ACCOUNT_SETUP_DAYS", 3)
    SESSION_COOKIE_HTTPONLY = True
    SESSION_COOKIE_SAMESITE = "Lax"
    SESSION_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")  # always on when SITE_URL is https
    REMEMBER_COOKIE_HTTPONLY = True
    REMEMBER_COOKIE_SECURE = _bool("SESSION_COOKIE_SECURE")
    WTF_CSRF_TIME_LIMIT = None
    JSON_SORT_KEYS = False
    #: Behind a reverse proxy that sets X-Forwarded-*: trust one hop; FORCE_HTTPS redirects to https.
    BEHIND_PROXY = _bool("BEHIND_PROXY")
    FORCE_HTTPS = _bool("FORCE_HTTPS")
    RATELIMIT_STORAGE_URI = os.environ.get("RATELIMIT_STORAGE_URI", "memory://")
    #: Redis down: count in process memory meanwhile instead of failing the request (shop/security.py).
    RATELIMIT_IN_MEMORY_FALLBACK_ENABLED = True
    RATELIMIT_SWALLOW_ERRORS = True
    RATE_LIMITS = _bool("RATE_LIMITS", True)
