"""Home page, health check, language switch."""
from __future__ import annotations

from flask import Blueprint, jsonify, redirect, render_template, request, session
from sqlalchemy import text

from shop.extensions import db
from shop.pagecache import cached_page, depends_on

bp = Blueprint("home", __name__)


@bp.get("/")
@cached_page
def index():
    from catalog.services import home_page_data

    data = home_page_data()
    depends_on(p.id for p in data["featured"])
    depends_on(p.id for items in data["products_by_village"].values() for p in items)
    return render_template("home/index.html", **data)


@bp.get("/healthz")
def healthz():
    try:
        db.session.execute(text("SELECT 1"))
    except Exception:
        return jsonify({"status": "error", "database": "unavailable"}), 503
    return jsonify({"status": "ok"})


@bp.get("/lang/<code>")
def set_language(code: str):
    from shop.auth.views import safe_next
    from flask import current_app

    if code in current_app.config["LANGUAGES"]:
        session["lang"] = code
    return redirect(safe_next(request.args.get("next")))
