"""The home page: the poverty villages with their signature products, and the best sellers."""

from __future__ import annotations

from flask import Blueprint, render_template

from catalog.papers import paused_cards
from catalog.services import home_page_data, shown_product_ids
from shop.pagecache import cached_page, depends_on
from shop.timeutil import local_date, now_utc

bp = Blueprint("home", __name__)


@bp.get("/")
@cached_page
def index():
    data = home_page_data()
    depends_on(shown_product_ids(data["featured"]))
    depends_on(shown_product_ids(p for items in data["products_by_village"].values() for p in items))
    shown = [*data["featured"], *(p for items in data["products_by_village"].values() for p in items)]
    return render_template("home/index.html", paused=paused_cards(shown, today=local_date(now_utc())), **data)
