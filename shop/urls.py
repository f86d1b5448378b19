"""Links that leave the site (e-mails, QR codes, share links): built from the configured SITE_URL,
never from the request's Host or X-Forwarded-Host, which a client chooses (a reset link built from
them could be mailed pointing at an attacker's host). And the other way: which URL a visitor sends
(a `next`, a Referer) may be followed back, `same_site_path`."""

from __future__ import annotations

from urllib.parse import urlsplit

from flask import current_app


def site_url() -> str:
    """The configured public base URL of the shop, without a trailing slash."""
    return str(current_app.config["SITE_URL"]).rstrip("/")


def external_url(endpoint: str, **values) -> str:
    """The absolute URL of `endpoint` on the configured site (works in requests, tasks and CLI
    commands alike: only the app context is needed)."""
    app = current_app
    parts = urlsplit(site_url())
    adapter = app.url_map.bind(parts.netloc, script_name=parts.path or "/", url_scheme=parts.scheme)
    app.inject_url_defaults(endpoint, values)
    return adapter.build(endpoint, values, force_external=True)


def same_site_path(target: str | None, *, host: str | None = None) -> str | None:
    """The path and query of `target` when following it stays on this site, else None.

    A relative path ('/orders?tab=paid') is kept; so is an absolute URL whose host is `host` (pass the
    request's own for a Referer header, which browsers send absolute). Anything else is refused: no
    target, another host, a scheme-relative '//evil.example' or '/\\evil.example' (browsers read both
    as another host), a path that does not start with '/'."""
    if not target:
        return None
    parts = urlsplit(target)
    if parts.scheme or parts.netloc:
        if host is None or parts.netloc != host or parts.scheme not in ("http", "https"):
            return None
    elif target.startswith(("//", "/\\")):  # '///evil.example' splits into the path '/evil.example'
        return None
    path = parts.path
    if not path.startswith("/") or path.startswith(("//", "/\\")):
        return None
    return path + (f"?{parts.query}" if parts.query else "") + (f"#{parts.fragment}" if parts.fragment else "")
