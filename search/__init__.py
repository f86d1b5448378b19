"""Search over products and tourism listings: the Whoosh index (jieba + pinyin), the tasks and
session listeners that keep it in step, the product list and search pages and API.

Above the catalog and tourism, which it indexes and re-checks; below the county office.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    import search.api  # noqa: F401  (routes on the shared `api` blueprint)
    from catalog.services import install_ranker
    from search import cli, tasks
    from search.index import search_product_ids
    from search.views import bp

    app.register_blueprint(bp)
    install_ranker(app, search_product_ids)  # the catalog's lists below search rank a query with the index
    cli.register(app)
    tasks.install_session_hooks()  # product and listing changes enqueue index updates
