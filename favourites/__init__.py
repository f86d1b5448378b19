"""Favourites (收藏) of products and listings, and share links: a short URL and its QR code (for
WeChat) on product and listing pages.

A package of its own above catalog and tourism (beside stations and reviews): one list holds both
products and listings, and the share box draws its QR code with `shop.qr`, so neither catalog
(below tourism) nor tourism (which knows nothing of products' pages) is the home for it. Nothing
below imports it: the product and listing pages include `favourites/_box.html` (`ignore missing`),
which reads the template globals registered here.
"""

from flask import Flask

from favourites import errors as errors  # registers the package's error codes


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    import favourites.api  # noqa: F401  (routes on the shared `api` blueprint)
    import favourites.models  # noqa: F401
    from favourites.views import bp, favourite_on_sign_in
    from shop.auth.views import LOGIN_HOOKS

    app.register_blueprint(bp)  # with it, the template globals the share box reads
    if favourite_on_sign_in not in LOGIN_HOOKS:  # a favourite tapped before signing in is added then
        LOGIN_HOOKS.append(favourite_on_sign_in)
