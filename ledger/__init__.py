"""The household income ledger: append-only entries, crediting and reversal (`ledger.services`).

Below orders, stations and tourism, which credit and reverse through it; the county office reads it.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    import ledger.models  # noqa: F401
    import ledger.payouts  # noqa: F401  (payout items point at entries)
    import ledger.records  # noqa: F401  (entries point at benefit records)
