"""What a signed-out visitor typed into a form that needs an account is kept through signing in (or
signing up) and shown again in the form (docs/journeys.md, "Signing in keeps what the guest did").

A POST to a page that needs an account, from a visitor who is not signed in (their session ended on
the server: a password changed on another device, an account's sessions ended; or they sent again a
form `shop.resubmit` offered after its page expired), reaches Flask-Login's unauthorized handler,
`shop.auth.views.needs_account`, which sends them to the sign-in page with the form's address as `next`.
That used to lose everything typed: an address at the checkout, a review, an invoice's title. Now:

- `keep_for_sign_in()`, called by `needs_account` for a POST that came from one of this site's own pages
  (`shop.security.same_origin_request`; a CSRF token that held, too, or the POST would not have got this
  far) and wants HTML, keeps its fields — never the CSRF token, `confirm` (`shop.confirm` asks again),
  the once-token (the page draws a fresh one), a password or a file — for `KEPT_FORM_SECONDS` (config;
  30 min) under a random token, in the page cache's Flask-Caching store (`shop.pagecache.cache`, as
  `shop.confirm` keeps its steps, and for the same reason: the session is a signed cookie of about 4 KB,
  which a review in Chinese could fill). The session holds only the token and the form's path.
- `sign_in` (`shop.auth.views`) carries that session key over the session's rotation (`carry`).
- After signing in the visitor lands on `next`, the form's address: a page that shows the form on GET
  (the checkout, a review, an invoice request, a quote request…). Its `ShopForm` is filled from the kept
  fields (`restored()`, for a GET of that very path, read once and then forgotten), as if the POST had
  been refused and shown again, but without errors: the visitor checks it and sends it by their own tap,
  the action's own rules (its once-token, its confirmation step) apply as to any POST. A page read field
  by field passes `restored()` to its template; a POST-only address answers its GET with the page of the
  form (`tourism.views.book`: the listing, with the typed dates in its query).

Nothing is kept for a POST from elsewhere, a JSON request or one with nothing worth keeping, and the kept
fields are only ever shown in the page of the form they were typed into, to the visitor who typed them
(the token lives in their session only). If the store cannot be written (Redis down) nothing is kept,
as before. Tests: tests/shop/test_kept_form.py.
"""

from __future__ import annotations

import logging
import re
import secrets

from flask import current_app, g, request, session
from werkzeug.datastructures import MultiDict

from shop.errors import wants_json
from shop.pagecache import cache
from shop.security import same_origin_request

log = logging.getLogger(__name__)

#: The session key: {"path": the form's path, "token": the store's key}.
SESSION_KEY = "kept_form"
KEY_PREFIX = "kept-form|"
#: Fields never kept: the CSRF token, the confirmation, the once-token; and secrets (never written into a page).
LEFT_OUT = frozenset({"csrf_token", "confirm", "form_token"})
SECRET_FIELD = re.compile(r"password|secret", re.IGNORECASE)
#: At most this many fields, each of at most this many characters, and this many characters in all: a
#: form of the shop has far fewer (a review's text is at most 500, a listing's description 5,000), and
#: a signed-out visitor's request writes no more than that into the store (README, "Redis memory").
MAX_FIELDS = 100
MAX_VALUE = 5000
MAX_TOTAL = 16000


def keep_for_sign_in() -> bool:
    """Keep this POST's fields for the form's page after signing in (module docstring); whether it did."""
    if request.method != "POST" or wants_json() or not same_origin_request():
        return False
    fields = [
        (name, value[:MAX_VALUE])
        for name, value in request.form.items(multi=True)
        if name not in LEFT_OUT and not SECRET_FIELD.search(name)
    ][:MAX_FIELDS]
    if sum(len(name) + len(value) for name, value in fields) > MAX_TOTAL:
        return False  # not a form of the shop's: nothing kept, the sign-in page says so as before
    if not fields:
        return False
    token = secrets.token_urlsafe(32)
    try:
        stored = cache.set(KEY_PREFIX + token, fields, timeout=int(current_app.config["KEPT_FORM_SECONDS"]))
    except Exception:
        log.warning("a signed-out visitor's form not kept", exc_info=True)
        stored = False
    if stored:
        session[SESSION_KEY] = {"path": request.path, "token": token}
    return bool(stored)


def carry(guest: dict) -> None:
    """At sign-in (`shop.auth.views.sign_in`): the kept form of the guest's session goes on in the new one."""
    if SESSION_KEY in guest:
        session[SESSION_KEY] = guest[SESSION_KEY]


def restored() -> MultiDict | None:
    """The fields kept for the form of this page (a GET of the path they were posted to), else None.
    Read once: the first call of the request takes them out of the session and the store; later calls
    of the same request get the same."""
    if "kept_form" in g:
        return g.kept_form
    g.kept_form = None
    kept = session.get(SESSION_KEY)
    if request.method != "GET" or not isinstance(kept, dict) or kept.get("path") != request.path:
        return None
    session.pop(SESSION_KEY)
    token = str(kept.get("token", ""))
    try:
        fields = cache.get(KEY_PREFIX + token) if len(token) <= 64 else None
        cache.delete(KEY_PREFIX + token)
    except Exception:
        log.warning("a signed-out visitor's kept form not readable", exc_info=True)
        fields = None
    if isinstance(fields, list) and fields:
        g.kept_form = MultiDict(fields)
    return g.kept_form
