"""The household income ledger: append-only entries, crediting and reversal (`ledger.services`).

Below orders, stations and tourism, which credit and reverse through it; the county office reads it.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    import ledger.models  # noqa: F401
