"""Stations and the stock they hold: records, movements and the services that change them.

Below orders (which allocate from it) and the station workspace (which receives and corrects it).
"""

from flask import Flask

from stock import errors as errors  # registers the package's error codes


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    import stock.models  # noqa: F401
