"""Security headers, Content-Security-Policy with per-request nonces, HTTPS behind a proxy, rate limits.

CSP: scripts only from our origin, or inline with the request's nonce
(`<script nonce="{{ csp_nonce() }}">`), plus Stripe.js's origin when card payments are configured.
Login and token endpoints are rate-limited (Flask-Limiter: Redis in production through
`RATELIMIT_STORAGE_URI`, memory on the embedded default). A Redis outage never turns into 500s:
the limiter counts in process memory until Redis answers again (in-memory fallback), errors are
swallowed, and short socket timeouts keep a dead Redis from stalling logins.
"""

from __future__ import annotations

import functools
import secrets
from urllib.parse import urlsplit

from flask import Flask, abort, current_app, g, redirect, request
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from flask_wtf.csrf import CSRFError
from werkzeug.middleware.proxy_fix import ProxyFix

from shop.extensions import csrf

limiter = Limiter(key_func=get_remote_address, default_limits=[], headers_enabled=True)


@limiter.request_filter
def _limits_off() -> bool:
    """`RATE_LIMITS=False` turns limits off for one app (the limiter itself is process-wide)."""
    return not current_app.config.get("RATE_LIMITS", True)


#: Login form and API token: per client address.
AUTH_LIMIT = "10 per minute"


def csp_nonce() -> str:
    if "csp_nonce" not in g:
        g.csp_nonce = secrets.token_urlsafe(16)
    return g.csp_nonce


def _origin(url: str) -> str:
    parts = urlsplit(url or "")
    return f"{parts.scheme}://{parts.netloc}" if parts.scheme and parts.netloc else ""


def content_security_policy(app: Flask, *, nonce: bool = True) -> str:
    """The policy for this request (its nonce in script-src). Built once per configuration with a
    placeholder for the nonce (`_csp_template`), then one `str.replace` per request. `nonce=False`:
    the policy without one, for a page that runs no inline script and that a shared cache keeps
    (a nonce everyone can read would be no nonce)."""
    template = _csp_template(
        app.config.get("STRIPE_PUBLISHABLE_KEY"), app.config.get("STRIPE_JS_URL"), app.config.get("STRIPE_API_BASE")
    )
    if not nonce:
        return template.replace(f" 'nonce-{_NONCE_SLOT}'", "")
    return template.replace(_NONCE_SLOT, csp_nonce())


_NONCE_SLOT = "__CSP_NONCE_SLOT__"


@functools.lru_cache(maxsize=16)
def _csp_template(stripe_key, stripe_js_url, stripe_api_base) -> str:
    script = ["'self'", f"'nonce-{_NONCE_SLOT}'"]
    frame = []
    connect = ["'self'"]
    if stripe_key:
        for url in (stripe_js_url, stripe_api_base or "https://api.stripe.com"):
            origin = _origin(url)
            if origin:
                script.append(origin)
                frame.append(origin)
                connect.append(origin)
    directives = {
        "default-src": ["'self'"],
        "script-src": script,
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:", "blob:"],
        "font-src": ["'self'", "data:"],
        "connect-src": connect,
        "frame-src": frame or ["'none'"],
        "frame-ancestors": ["'none'"],
        "form-action": ["'self'"],
        "base-uri": ["'self'"],
        "object-src": ["'none'"],
    }
    return "; ".join(f"{key} {' '.join(dict.fromkeys(values))}" for key, values in directives.items())


def security_headers(app: Flask) -> list[tuple[str, str]]:
    """The headers every response carries besides the Content-Security-Policy (which has a nonce per
    request): set by the app's after-request hook."""
    headers = [
        ("X-Content-Type-Options", "nosniff"),
        ("Referrer-Policy", "strict-origin-when-cross-origin"),
        ("X-Frame-Options", "DENY"),
    ]
    if app.config.get("FORCE_HTTPS"):
        headers.append(("Strict-Transport-Security", "max-age=31536000"))
    return headers


def init_security(app: Flask) -> None:
    app.config.setdefault("RATELIMIT_STORAGE_URI", "memory://")
    app.config["RATELIMIT_ENABLED"] = True  # per app through RATE_LIMITS, see _limits_off
    app.config.setdefault("RATELIMIT_HEADERS_ENABLED", True)
    app.config.setdefault("RATELIMIT_IN_MEMORY_FALLBACK_ENABLED", True)
    app.config.setdefault("RATELIMIT_SWALLOW_ERRORS", True)
    if str(app.config.get("RATELIMIT_STORAGE_URI", "")).startswith(("redis://", "rediss://")):
        # redis-py only when a Redis URL is configured: the embedded default never loads it
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        # no retries: redis-py's default (3, with backoff) holds each request ~4 s while Redis is down
        app.config.setdefault(
            "RATELIMIT_STORAGE_OPTIONS",
            {"socket_connect_timeout": 0.5, "socket_timeout": 0.5, "retry": Retry(NoBackoff(), 0)},
        )
    limiter.init_app(app)
    app.add_template_global(csp_nonce, "csp_nonce")

    if app.config.get("BEHIND_PROXY"):
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=1, x_proto=1, x_host=1)

    @app.before_request
    def _check_request():
        """HTTPS (FORCE_HTTPS redirects plain HTTP) and storable text (`_refuse_unstorable_text`):
        one hook (every hook costs each request a call through Flask's ensure_sync)."""
        if app.config.get("FORCE_HTTPS") and not request.is_secure and request.path != "/healthz":
            return redirect(request.url.replace("http://", "https://", 1), 301)
        return _refuse_unstorable_text()

    def _refuse_unstorable_text():
        """A NUL character in a submitted form or in the path: PostgreSQL cannot store or compare it
        (psycopg raises), so the request is refused here with a 400 instead of a 500 deep inside a
        service. The JSON API answers its own 422 (shop.api); search boxes strip it themselves."""
        if request.path.startswith("/api/"):
            return None
        if "\x00" in request.path:
            abort(400)
        if request.method == "POST" and request.mimetype in (
            "application/x-www-form-urlencoded",
            "multipart/form-data",
        ):
            if any("\x00" in value for _key, values in request.form.lists() for value in values):
                abort(400)
        return None

    @app.after_request
    def _headers(response):
        for name, value in security_headers(app):
            response.headers.setdefault(name, value)
        response.headers.setdefault("Content-Security-Policy", content_security_policy(app))
        return response


def same_origin_or_token(view):
    """Cross-site request protection for a form that pages shared by the page cache carry (they hold
    no visitor's CSRF token, see shop/pagecache.py): the view is exempt from flask_wtf's token check
    and checks where the request comes from instead, as OWASP's CSRF cheat sheet describes - the
    browser's `Sec-Fetch-Site` (same-origin or a user's own navigation pass), else `Origin` (this
    site's origin passes); a request with neither (an old browser, a script) needs the form's token
    as everywhere else (`csrf.protect()`, flask_wtf's public check). `WTF_CSRF_ENABLED=False` turns it
    off with flask_wtf's."""

    @functools.wraps(view)
    def wrapper(*args, **kwargs):
        if current_app.config.get("WTF_CSRF_ENABLED", True):
            _check_same_origin(csrf)
        return view(*args, **kwargs)

    csrf.exempt(wrapper)
    return wrapper


def same_origin_request() -> bool:
    """Whether the browser says this request comes from one of this site's own pages: `Sec-Fetch-Site:
    same-origin`, else (a browser without Fetch Metadata) an `Origin` of this site. A request that says
    neither (a script, an old browser) is not known to, and gets False."""
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        return site == "same-origin"
    origin = request.headers.get("Origin")
    return origin is not None and origin in own_origins()


def _check_same_origin(csrf) -> None:
    site = request.headers.get("Sec-Fetch-Site")
    if site is not None:
        if site in ("same-origin", "none"):
            return
        raise CSRFError("cross-site request")  # worded for the visitor by shop.errors.http_message
    origin = request.headers.get("Origin")
    if origin is not None:
        if origin in own_origins():
            return
        raise CSRFError("cross-site request")
    csrf.protect()


def own_origins() -> set[str]:
    """This site's origins: the one the request was addressed to (ProxyFix gives the proxy's when
    BEHIND_PROXY) and the configured SITE_URL's, if any."""
    origins = {_origin(request.host_url)}
    if current_app.config.get("SITE_URL"):
        origins.add(_origin(current_app.config["SITE_URL"]))
    return origins - {""}
