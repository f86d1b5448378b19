"""Run localstripe (the Stripe emulator the tests and the benchmark use) on loopback, in memory.

    python scripts/run_localstripe.py --port 8420 [--quiet]

The one place where this project changes a library's behaviour (README, "Contributing"): a test and
benchmark tool, never imported by the application. The stock `localstripe` command (localstripe
1.15.10, `localstripe.server.start`) binds every interface and keeps its store in the hard-coded file
`/tmp/localstripe.pickle`: `resources.Store.__setitem__` and `__delitem__` call `Store.dump_to_disk`,
which pickles the WHOLE store on every write, and `start` reloads the file unless `--from-scratch`.
So two emulators on one machine (the suite's and a benchmark's) write one file, and each write costs
more as the store grows (figures in bench/README.md, "Figures behind rules in the code"): in a benchmark that
creates thousands of intents on the cores the shop is measured on, that would be measuring the emulator.

What this launcher changes, and nothing else:

- `localstripe.resources.Store.dump_to_disk` and `Store.try_load_from_disk` (public methods of the
  store class) are replaced by no-ops: nothing is written or read;
- the app (`localstripe.server.app`, public) is served on `--host` (default 127.0.0.1) with aiohttp's
  `web.run_app`, as `start` serves it.

localstripe is pinned (requirements-dev.txt) and the launcher refuses another version: a new release
must be checked again. `tests/orders/test_localstripe_launcher.py` runs the same PaymentIntent flow
(create, attach a card, confirm, refund, retrieve, webhook configuration) against this launcher and
against the stock server, and compares the answers. Its behaviour: docs/MONEY.md, "The Stripe emulator".
"""

from __future__ import annotations

import argparse
import logging
import sys
from importlib.metadata import version

#: The localstripe release whose store this launcher was checked against.
CHECKED_VERSION = "1.15.10"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8420)
    parser.add_argument("--quiet", action="store_true")
    args = parser.parse_args()

    installed = version("localstripe")
    if installed != CHECKED_VERSION:
        sys.exit(
            f"run_localstripe: localstripe {installed} is installed; this launcher was checked against "
            f"{CHECKED_VERSION} (see its docstring and tests/orders/test_localstripe_launcher.py)"
        )

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
