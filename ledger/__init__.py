"""The household income ledger: append-only entries, crediting and reversal (`ledger.services`), and the
county's daily summaries of them (`ledger.summaries`).

Below orders, stations and tourism, which credit and reverse through it; the county office reads it.
"""

from flask import Flask


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    import ledger.models  # noqa: F401
    import ledger.payouts  # noqa: F401  (payout items point at entries)
    import ledger.records  # noqa: F401  (entries point at benefit records)
    from ledger.summaries import install_session_hooks

    install_session_hooks()  # the daily summaries follow the entries at every commit
