"""Run localstripe (the Stripe emulator from PyPI) on loopback, in memory, for the browser tests.

    python tests/browser/localstripe_server.py --port 8420

Unlike the stock `localstripe` command it binds 127.0.0.1 only (not `::`) and never reads or
writes the shared pickle file in the temp folder, so two runs never share state
(docs/MONEY.md, "The Stripe emulator"). Used when `scripts/run_localstripe.py` is absent.
"""
from __future__ import annotations

import argparse
import logging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()

    from aiohttp import web
    from localstripe import resources
    from localstripe.server import app

    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None

    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.INFO)
    access.addHandler(logging.StreamHandler())
    web.run_app(app, host=args.host, port=args.port, access_log=access, print=None)


if __name__ == "__main__":
    main()
