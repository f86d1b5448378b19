"""What is sold and who it lifts: townships, villages, households, producers, categories, products."""

from flask import Flask

from catalog import errors as errors  # registers the package's error codes


def init_app(app: Flask) -> None:
    """Models, pages (home, category, village, product) and API routes."""
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    import catalog.api  # noqa: F401  (routes on the shared `api` blueprint)
    import catalog.models  # noqa: F401
    import catalog.tasks  # noqa: F401  (food-safety papers' expiry reminders)
    from catalog.images import IMAGE_ACCEPT, photo_input_attrs
    from catalog.papers import kind_label, paper_input_attrs

    app.add_template_global(kind_label, "paper_kind_label")
    app.add_template_global(photo_input_attrs, "photo_input_attrs")
    app.add_template_global(paper_input_attrs, "paper_input_attrs")
    app.add_template_global(IMAGE_ACCEPT, "image_accept")
    from catalog.home import bp as home_bp
    from catalog.views import bp as catalog_bp

    app.register_blueprint(home_bp)
    app.register_blueprint(catalog_bp)
