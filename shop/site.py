"""Kernel pages: the health check and the language switch."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from flask import Blueprint, current_app, jsonify, redirect, request, session
from sqlalchemy import text
from werkzeug.exceptions import HTTPException

from shop.auth.services import remember_locale
from shop.auth.views import safe_next
from shop.extensions import db
from shop.urls import same_site_path

bp = Blueprint("site", __name__)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        return jsonify({"status": "error", "database": "unavailable"}), 503
    return jsonify({"status": "ok"})


@bp.get("/lang/<code>")
def set_language(code: str):
    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
        remember_locale(code)  # the signed-in account's mails follow
    return redirect(_without_lang(safe_next(request.args.get("next"))))


@bp.app_template_global("language_return")
def language_return() -> str:
    """The page the language switch comes back to: this one. A page a POST rendered at an address that only
    takes a POST (a household's revealed value, a refused member, decision or upload shown again) has none
    to open again — the switch led to a 405 —, so it comes back to the page the form was sent from (the
    Referer, when on this site), else the home page."""
    if request.method in ("GET", "HEAD"):
        return request.full_path
    try:
        current_app.url_map.bind_to_environ(request.environ).match(request.path, method="GET")
    except HTTPException:  # no GET at this address (405), or a redirect to one: go back to the form's page
        return same_site_path(request.referrer, host=request.host) or "/"
    return request.full_path


def _without_lang(url: str) -> str:
    """The page to go back to without its own ?lang=: a page opened as /host/?lang=zh_CN came back in Chinese
    when English was chosen, its `lang` winning over the choice just made."""
    parts = urlsplit(url)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "lang"]
    return urlunsplit((parts.scheme, parts.netloc, parts.path, urlencode(query), parts.fragment))
