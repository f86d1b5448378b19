"""The site header of a signed-in visitor, rendered once per process and filled per request.

Every page a signed-in visitor sees (cached pages through `shop.pagecache._personalize`, and every
full render through base.html) shows `_macros/_header.html`. For a signed-in visitor it depends on:

- who they are: their id, name or e-mail and role (the role picks the navigation links), and the
  locale (translated labels, the language switch): the cache key;
- this request: the search box's `q` and the language switch's `next=` (the current path), and the
  CSRF token of the logout form: placeholders in the stored fragment, filled per request.

Rendering it is about a quarter of a cached page hit (a Jinja render with every context processor);
a hit here is three `str.replace` calls and one `url_for`. The fragment is the template's own output
(rendered with placeholders), so the two can never drift apart; tests/shop/test_header.py compares
both for several users, locales, paths and queries. Anonymous visitors keep the plain include (their
header depends on the endpoint too; their cached pages store it whole). With template auto-reload
(debug) nothing is cached.
"""
from __future__ import annotations

import threading

from flask import current_app, render_template, request, url_for
from markupsafe import Markup, escape

TEMPLATE = "_macros/_header.html"
Q_PLACEHOLDER = "__HEADER_Q__"
NEXT_PLACEHOLDER = "__HEADER_NEXT__"
CSRF_PLACEHOLDER = "__HEADER_CSRF__"
MAX_ENTRIES = 1024

_fragments: dict[tuple, str] = {}
_lock = threading.Lock()


def _key(user, locale: str) -> tuple:
    return (locale, user.id, user.name, user.email, user.role)


_nexts: dict[str, str | None] = {}


def _encoded_next() -> str | None:
    """This request's path as `url_for` writes it in the language switch's `next=` argument
    (the query encoding of `request.full_path`: remembered per path, as the header's fragments are)."""
    full_path = request.full_path
    if full_path in _nexts:
        return _nexts[full_path]
    url = url_for("home.set_language", code="en", next=full_path)
    head, sep, value = url.partition("?next=")
    value = value if sep and "&" not in value else None
    if len(_nexts) >= MAX_ENTRIES:
        _nexts.clear()
    _nexts[full_path] = value
    return value


def site_header() -> Markup:
    """The header for the current visitor (the template global `site_header()` in base.html)."""
    from flask_babel import get_locale
    from flask_login import current_user

    user = current_user
    if not user.is_authenticated or current_app.jinja_env.auto_reload:
        return Markup(render_template(TEMPLATE))
    encoded = _encoded_next()
    if encoded is None:
        return Markup(render_template(TEMPLATE))
    key = _key(user, str(get_locale()))
    fragment = _fragments.get(key)
    if fragment is None:
        fragment = _render_fragment()
        if fragment is None:
            return Markup(render_template(TEMPLATE))
        with _lock:
            if len(_fragments) >= MAX_ENTRIES:
                _fragments.clear()
            _fragments[key] = fragment
    from shop.security import csrf_token

    return Markup(_filled(fragment, request.args.get("q", ""), encoded, csrf_token()))


def _filled(fragment: str, q: str, encoded_next: str, token: str) -> str:
    return (fragment.replace(Q_PLACEHOLDER, str(escape(q))).replace(NEXT_PLACEHOLDER, str(escape(encoded_next)))
            .replace(CSRF_PLACEHOLDER, token))


def remembered_header(user, locale: str, q: str, full_path: str, token: str) -> str | None:
    """The header `site_header()` gives this signed-in visitor, from this process's memos alone
    (no request context: for shop.frontdoor); None when the fragment for this user and locale or the
    `next=` value for this path was not made yet (a request through Flask makes them)."""
    encoded = _nexts.get(full_path)
    fragment = _fragments.get(_key(user, locale))
    if encoded is None or fragment is None:
        return None
    return _filled(fragment, q, encoded, token)


def _render_fragment() -> str | None:
    """The template rendered with placeholders for the per-request parts (None if one is missing)."""
    from shop.security import csrf_token

    token = csrf_token()  # this request's token (also in g): replaced by the placeholder below
    html = render_template(TEMPLATE, header_q=Q_PLACEHOLDER, header_next=NEXT_PLACEHOLDER)
    if token not in html or NEXT_PLACEHOLDER not in html or Q_PLACEHOLDER not in html:
        return None
    return html.replace(token, CSRF_PLACEHOLDER)


def clear() -> None:
    with _lock:
        _fragments.clear()
        _nexts.clear()


def init_app(app) -> None:
    app.add_template_global(site_header, "site_header")
