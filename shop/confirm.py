"""A confirmation step before every irreversible action, with no JavaScript needed, and no form to
resubmit when the browser goes back (Post/Redirect/Get).

The view of an irreversible POST (ship, deliver, hand over, cancel, a refund decision, the daily cash
close, a county approval or status change, a closure…) calls `ask_first` once it has found the object,
validated the form and asked the service's predicate whether the action may be taken now (a refused
action is refused at once, as the action would refuse it, never confirmed first and refused after),
before the service runs:

    page = ask_first(_("确认交付发货单 %(code)s？", code=s.code), back=url_for(...))
    if page is not None:
        return page

A POST without `confirm=1` changes nothing. It keeps what the confirmation page says and re-posts (the
question, details, the form's fields, the action's URL, the way back, the button, the undo text) under a
random token (`secrets.token_urlsafe`, 256 bits) for `CONFIRM_STEP_SECONDS` (config; 30 min), bound to
whoever posted (the signed-in account and its session generation, or for a visitor a random id kept in
the session), and answers 303 to `GET /confirm/<token>`, which shows the page: the same fields as
hidden inputs, a fresh CSRF token, a button that posts them again to the action with `confirm=1`, and a
way back. So the browser's history holds the object's page, the confirmation (a GET) and the result:
Back from the result shows the confirmation again ("Confirm Form Resubmission" never appears), and
confirming a second time reaches the action's view, which refuses what is no longer allowed (the
service's predicate, or the form's once-token; its message shows, nothing happens twice). The token is
not used up by the confirmation, for that reason. A token that is unknown, expired or someone else's
gets a 410 page that says so and shows nothing of the step.

Where the step is kept: in the page cache's Flask-Caching store (`shop.pagecache.cache`), not in the
Flask session and not in a table. The session is a signed cookie: about 4 KB for everything, which a
question, its details and a form's fields in Chinese (3 bytes a character, then base64) can exceed, and
it would travel with every request for half an hour. A table would need a migration, a purge of
expired rows and a write per question. Flask-Caching expires entries by itself; it is Redis
(`CACHE_REDIS_URL`) wherever several web processes serve, so the GET finds the step whichever process
took the POST, and an in-process SimpleCache in the embedded default (`make run`: one process, nothing
but Python). If the store cannot be written (Redis down), the POST answers the confirmation page
itself, as before this step had a URL of its own: the action can still be confirmed, only Back from its
result asks to resubmit.

The button the action's own page shows can carry `confirm=1` itself when that page already is the
confirmation (e.g. the order's cancel page). Tests: tests/shop/test_confirm_steps.py.

An uploaded file cannot travel in the step's hidden fields, and what is applied must not come back from
the browser: `keep_upload` keeps the file's bytes in the same store, for the same time, bound to the
same owner and to the action (`purpose`), with the SHA-256 of the content and the facts the preview was
made on (e.g. the state of the batch a bank file answers), under a random token the view passes to
`ask_first` as a field beside the digest (`fields=`). The confirmed POST reads the bytes back with
`kept_upload(token, purpose=...)` and applies them only when their digest is the one the confirmation
page carried; the token is the once-token of the confirmed POST (`shop.once.claim`), so a double tap or
Back and confirm again applies the file once (the bank's answer to a payout batch:
`county.views.payout_result`).
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass

from flask import Blueprint, current_app, redirect, render_template, request, session, url_for
from flask_login import current_user

from shop.pagecache import cache

log = logging.getLogger(__name__)

CONFIRM_FIELD = "confirm"
KEY_PREFIX = "confirm|"
UPLOAD_PREFIX = "confirm-upload|"
#: The session key of an anonymous visitor's id, which their confirmation steps are bound to.
VISITOR_KEY = "confirm_visitor"

bp = Blueprint("confirm", __name__)


def confirmed() -> bool:
    """Whether this POST is the confirmed one."""
    return request.form.get(CONFIRM_FIELD) == "1"


def ask_first(
    question: str,
    *,
    back: str,
    details: list[str] | tuple = (),
    button: str | None = None,
    undo: str | None = None,
    fields: dict[str, str] | None = None,
):
    """None when the POST is confirmed; else (nothing changed) a 303 to the confirmation page, kept for
    this user. The page says the action cannot be undone, unless `undo` says how it can be (a closure
    reopened day by day). `fields`: more hidden fields the confirmed POST carries beside the form's (a
    kept upload's token and digest, `keep_upload`)."""
    if confirmed():
        return None
    step = {
        "question": _text(question),
        "details": [_text(line) for line in details],
        "fields": [
            (name, value) for name, value in request.form.items(multi=True) if name not in ("csrf_token", CONFIRM_FIELD)
        ]
        + list((fields or {}).items()),
        "action": request.path + (f"?{request.query_string.decode()}" if request.query_string else ""),
        "back": back,
        "button": _text(button),
        "undo": _text(undo),
    }
    token = secrets.token_urlsafe(32)
    try:
        stored = cache.set(
            KEY_PREFIX + token,
            {"owner": _owner(create=True), "step": step},
            timeout=int(current_app.config["CONFIRM_STEP_SECONDS"]),
        )
    except Exception:
        log.warning("confirmation step not stored: the page is the POST's answer", exc_info=True)
        stored = False
    if not stored:
        return render_template("confirm.html", **step)
    return redirect(url_for("confirm.page", token=token), code=303)


@bp.get("/confirm/<token>")
def page(token: str):
    """The confirmation page of a step `ask_first` kept; 410 when it is unknown, expired or not this
    visitor's (the same answer for each: nothing says whose it is)."""
    try:
        kept = cache.get(KEY_PREFIX + token) if len(token) <= 64 else None
    except Exception:
        log.warning("confirmation step not readable", exc_info=True)
        kept = None
    owner = _owner(create=False)
    if not isinstance(kept, dict) or owner is None or kept.get("owner") != owner:
        return render_template("confirm.html", gone=True), 410
    return render_template("confirm.html", **kept["step"])


def content_digest(content: bytes) -> str:
    """The SHA-256 (hex) of an upload's bytes: what its confirmation page carries and the confirmed POST checks."""
    return hashlib.sha256(content).hexdigest()


@dataclass(frozen=True)
class KeptUpload:
    content: bytes
    digest: str
    facts: dict


def keep_upload(content: bytes, *, purpose: str, facts: dict | None = None) -> str | None:
    """Keep an uploaded file's bytes (and the `facts` its preview was made on) for its confirmed POST, bound
    to this visitor and to `purpose` (the action and its object, e.g. ``payout_result:12``), for
    `CONFIRM_STEP_SECONDS`; the token to read it back, or None when the store cannot be written (then the
    view says so and asks for the file again: nothing is applied without its confirmation)."""
    token = secrets.token_urlsafe(32)
    kept = {
        "owner": _owner(create=True),
        "purpose": purpose,
        "content": content,
        "digest": content_digest(content),
        "facts": dict(facts or {}),
    }
    try:
        stored = cache.set(UPLOAD_PREFIX + token, kept, timeout=int(current_app.config["CONFIRM_STEP_SECONDS"]))
    except Exception:
        log.warning("upload not kept for its confirmation", exc_info=True)
        stored = False
    return token if stored else None


def kept_upload(token: str, *, purpose: str) -> KeptUpload | None:
    """The upload `keep_upload` kept under `token` for this visitor and `purpose`; None when it is unknown,
    expired, someone else's or another action's (the same answer for each), or its bytes are not those it
    was kept with."""
    try:
        kept = cache.get(UPLOAD_PREFIX + token) if 0 < len(token) <= 64 else None
    except Exception:
        log.warning("kept upload not readable", exc_info=True)
        kept = None
    owner = _owner(create=False)
    if not isinstance(kept, dict) or owner is None or kept.get("owner") != owner or kept.get("purpose") != purpose:
        return None
    content = kept.get("content")
    if not isinstance(content, bytes) or content_digest(content) != kept.get("digest"):
        return None
    return KeptUpload(content=content, digest=kept["digest"], facts=dict(kept.get("facts") or {}))


def _text(value):
    """A text as the store keeps it: a lazy one (`lazy_gettext`) rendered now, in the asker's language;
    a str (Markup too) as it is."""
    return value if value is None or isinstance(value, str) else str(value)


def _owner(*, create: bool) -> str | None:
    """Whom a step is bound to: the signed-in account (its session id, which changes when the password
    does), else a random id in this visitor's session (drawn when `create`)."""
    if current_user.is_authenticated:
        return f"user:{current_user.get_id()}"
    visitor = session.get(VISITOR_KEY)
    if visitor is None and create:
        visitor = session[VISITOR_KEY] = secrets.token_urlsafe(16)
    return f"visitor:{visitor}" if visitor else None
