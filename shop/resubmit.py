"""A form whose CSRF token no longer holds is shown again, with what was typed (docs/journeys.md,
"A form sent after its page expired").

Flask-WTF checks every POST's CSRF token before the view runs (`CSRFProtect`, as published). A token
of a session that is gone — it expired, the visitor signed out and in again in another tab, the browser
dropped its cookie — is a `CSRFError` and nothing runs; the visitor used to get a 400 "页面已过期" page and
lost what they had typed (a refund's reason, an address). Now, for that error:

- Nothing changes: the view never ran, and nothing here runs it. The answer is still a 400.
- A POST that came from one of this site's own pages (`shop.security.same_origin_request`: the browser's
  `Sec-Fetch-Site: same-origin`, else an `Origin` of this site) and wants HTML gets the form again, with a
  fresh token in the page and the message that it was not sent and is to be sent again:
  - by the view's own page when the view names one (`@shown_again(render)` under the route decorator:
    `render(**view_args)` renders the page of the form with `request.form`'s values in it — the order page
    with the line's refund form open and its reason as typed, `orders.views`);
  - else on a page of its own (`templates/errors/resubmit.html`): the fields as hidden inputs, a button that posts
    them to the same address, and the way back. Never for a form with files (they cannot be kept) or a
    password (never written into a page): that page says to go back and fill the form in again. When the
    view's own page could not be shown to an anonymous visitor (signed out: it needs an account), it says
    to sign in first; what was typed is kept for the sign-in (`shop.kept_form`) and the sign-in leads to the
    view's address, whose GET shows its page with it (a view that names its page answers GET too).
  The visitor sends it again by their own click, and the action's own rules apply as to any POST: its
  confirmation step (`confirm` is never carried over, so `shop.confirm` asks again), its once-token.
- A POST from anywhere else (another site's form, a script, a browser that sends neither header) gets the
  plain 400 page, as before: a forged request must not become a page asking its victim to press "send
  again" with the forger's values.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from flask import Flask, current_app, flash, render_template, request, url_for
from flask_babel import gettext as _
from flask_login import current_user
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException

from shop.confirm import CONFIRM_FIELD
from shop.errors import DomainError, http_error_response, wants_json
from shop.kept_form import keep_for_sign_in
from shop.security import same_origin_request
from shop.urls import same_site_path

#: The view function's attribute naming its page's renderer (`shown_again`).
RENDER_ATTRIBUTE = "shown_again_by"
#: Fields never written back into a page.
SECRET_FIELD = re.compile(r"password|secret", re.IGNORECASE)


def shown_again(render: Callable[..., object]):
    """Decorator of a POST view (under its route decorator): when its CSRF token no longer holds,
    `render(**view_args)` shows the form's page again with the values of `request.form` in it (it reads
    them itself; the response's status becomes 400). It raises a `DomainError` or an HTTP error when it
    cannot (the object is not the visitor's, nobody is signed in): the page of its own is shown then."""

    def decorate(view):
        setattr(view, RENDER_ATTRIBUTE, render)
        return view

    return decorate


def init_app(app: Flask) -> None:
    app.register_error_handler(CSRFError, expired_form)


def expired_form(exc: CSRFError):
    """The handler of `CSRFError` (module docstring): the form again for a same-origin HTML POST, else
    the plain error answer."""
    if request.method != "POST" or wants_json() or not same_origin_request():
        return http_error_response(exc)
    flash(_("页面已过期，刚才的提交没有生效，请核对后再提交一次。"), "error")
    render = getattr(current_app.view_functions.get(request.endpoint or ""), RENDER_ATTRIBUTE, None)
    if render is not None:
        try:
            return render(**(request.view_args or {})), 400
        except (DomainError, HTTPException):
            pass  # not the visitor's (or no visitor): the page of its own below
    token_field = current_app.config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    fields = [
        (name, value) for name, value in request.form.items(multi=True) if name not in (token_field, CONFIRM_FIELD)
    ]
    kept = not request.files and not any(SECRET_FIELD.search(name) for name, _value in fields)
    back = same_site_path(request.referrer, host=request.host) or url_for("home.index")
    sign_in = render is not None and not current_user.is_authenticated
    # what was typed waits for the sign-in (shop.kept_form), and the view's GET shows it again
    waiting = sign_in and keep_for_sign_in()
    return render_template(
        "errors/resubmit.html",
        action=request.path + (f"?{request.query_string.decode()}" if request.query_string else ""),
        fields=fields if kept and not sign_in else [],
        kept=kept and not sign_in,
        sign_in=(url_for("auth.login", next=request.path, need="form") if waiting else url_for("auth.login", next=back))
        if sign_in
        else None,
        waiting=waiting,
        back=back,
    ), 400
