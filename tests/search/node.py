"""A stand-alone web node for the scale-out test: `python -m tests.search.node init|serve`.

Environment: NODE_DB (database URL) and NODE_INDEX (the shared SEARCH_INDEX_DIR). `serve` prints its
port and serves the real app plus one test-only route, `POST /_test/products {"name"}`, which
creates an approved product through the catalog service and commits, as an operator's edit would.
"""

from __future__ import annotations

import os
import sys

from shop import create_app


def make_app():
    return create_app(
        {
            "TESTING": True,
            "SECRET_KEY": "node",
            "SQLALCHEMY_DATABASE_URI": os.environ["NODE_DB"],
            "SEARCH_INDEX_DIR": os.environ["NODE_INDEX"],
            "CELERY_BROKER_URL": "",
            "WTF_CSRF_ENABLED": False,
        }
    )


def init(app) -> None:
    from search.index import rebuild
    from shop.db import commit
    from shop.schema import create_schema
    from tests.factories import make_product
    from tests.search.factories import make_place

    with app.app_context():
        create_schema()
        _village, station = make_place("柳溪村", "三江镇")
        make_product(name="三江腌菜500克", station=station)
        commit()
        rebuild()


def serve(app) -> None:
    from flask import jsonify, request
    from werkzeug.serving import make_server

    from catalog.models import Product
    from catalog.services import ProductInput, create_product
    from shop.db import commit
    from shop.extensions import csrf, db
    from shop.timeutil import now_utc

    @app.post("/_test/products")
    @csrf.exempt
    def _create():
        ref = db.session.scalar(db.select(Product).order_by(Product.id))
        product = create_product(
            ProductInput(
                name=request.json["name"],
                category_id=ref.category_id,
                village_id=ref.village_id,
                station_id=ref.station_id,
                price_fen=1000,
            ),
            actor=None,
            now=now_utc(),
            approved=True,
        )
        commit()
        return jsonify(id=product.id), 201

    server = make_server("127.0.0.1", 0, app, threaded=True)
    print(server.server_port, flush=True)
    server.serve_forever()


if __name__ == "__main__":
    application = make_app()
    {"init": init, "serve": serve}[sys.argv[1]](application)
