"""The packages with a message catalogue of their own (`<pkg>/translations/`): the catalogue tests
(tests/test_i18n_catalogues.py) read each one's, and tests/test_package_lists.py checks that the list
names every package with text."""

from __future__ import annotations

CATALOGUE_PACKAGES = [
    "shop",
    "catalog",
    "stock",
    "stations",
    "orders",
    "tourism",
    "institutions",
    "invoices",
    "reviews",
    "favourites",
    "search",
    "county",
    "admin",
]
