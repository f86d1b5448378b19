"""The public trace page `/trace/<code>` (#23): what a buyer reads after scanning a parcel's QR code.

Public (no sign-in) and cached for anonymous visitors like the product pages (`shop.pagecache`): the
page depends on its product, whose version changes with its stock and with a recall or expiry of
one of its lots (`stock.services.block_lot`). Any code that names no lot gets the same
plain 404 (not cached), whatever the code looks like.
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from shop.pagecache import cached_page, depends_on
from shop.timeutil import local_date, now_utc
from stations.services.trace import trace_facts

bp = Blueprint("trace", __name__)


@bp.get("/trace/<code>")
@cached_page
def trace_page(code: str):
    facts = trace_facts(code)
    if facts is None:
        abort(404)
    depends_on([facts.product_id])
    return render_template("stations/trace.html", lot=facts, today=local_date(now_utc()))
