"""The public trace page `/trace/<code>` (#23): what a buyer reads after scanning a parcel's QR code.

Public (no sign-in) and cached for anonymous visitors like the product pages (`shop.pagecache`): the
page depends on its product, whose version changes with its stock and with a recall or expiry of
one of its lots (`stock.services.block_lot`). Any code that names no lot gets the same 404 page (not
cached), whatever the code looks like: it says that no lot has that code, where the code is printed
and what it looks like, and offers a box to type it again (`/trace?code=…`, which opens the code's
trace page as issued: full-width or lower-case typing read as the code) — never the code typed, so
nothing tells one unknown code from another.
"""

from __future__ import annotations

from flask import Blueprint, redirect, render_template, request, url_for

from shop.codes import typed_code
from shop.pagecache import cached_page, depends_on
from shop.timeutil import local_date, now_utc
from stations.services.trace import MAX_CODE_LENGTH, trace_facts

bp = Blueprint("trace", __name__)


def _unknown_code():
    return render_template("stations/trace_unknown.html", max_length=MAX_CODE_LENGTH), 404


@bp.get("/trace")
def trace_lookup():
    """The code typed into the box of the not-found page: its trace page, as the code was issued."""
    code = typed_code(request.args.get("code", "")[:100])
    if not code or len(code) > MAX_CODE_LENGTH:
        return _unknown_code()
    return redirect(url_for("trace.trace_page", code=code))


@bp.get("/trace/<code>")
@cached_page
def trace_page(code: str):
    facts = trace_facts(code)
    if facts is None:
        return _unknown_code()
    if code != facts.code:  # typed in lower case, full width or with spaces: one address per lot
        return redirect(url_for("trace.trace_page", code=facts.code), 301)
    depends_on([facts.product_id])
    return render_template("stations/trace.html", lot=facts, today=local_date(now_utc()))
