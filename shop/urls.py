"""Links that leave the site (e-mails, QR codes, share links): built from the configured SITE_URL,
never from the request's Host or X-Forwarded-Host, which a client chooses (a reset link built from
them could be mailed pointing at an attacker's host)."""

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
