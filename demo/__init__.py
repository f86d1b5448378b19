"""Demo data from the county's 2017 plan, loaded by `flask seed-demo` (the top of the layers: it
uses every domain package's services)."""

from flask import Flask


def init_app(app: Flask) -> None:
    # here, not at the top: importing any of this package's modules runs this file (docs/ARCHITECTURE.md, "The layers")
    from demo.cli import seed_demo_command

    app.cli.add_command(seed_demo_command)
