"""Run localstripe on loopback, in memory (no pickle file in the temp folder).

    python scripts/run_localstripe.py --port 8420

The stock CLI binds every interface and shares state through a pickle file; this launcher does
neither (docs/MONEY.md, "The Stripe emulator").
"""

from __future__ import annotations

import argparse
import logging


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    from aiohttp import web
    from localstripe import resources
    from localstripe.server import app

    resources.Store.dump_to_disk = lambda self: None
    resources.Store.try_load_from_disk = lambda self: None
    access = logging.getLogger("aiohttp.access")
    access.setLevel(logging.WARNING if args.quiet else logging.INFO)
    access.addHandler(logging.StreamHandler())
    web.run_app(app, host=args.host, port=args.port, access_log=access, print=None if args.quiet else print)


if __name__ == "__main__":
    main()
