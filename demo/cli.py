"""`flask seed-demo`: the demo data of the county's 2017 plan."""

from __future__ import annotations

import click

from shop.db import commit
from shop.timeutil import now_utc


@click.command("seed-demo")
def seed_demo_command():
    """Load the demo data (idempotent: a second run changes nothing)."""
    # Here, not at the top: the app registers this command in every process, and only this command
    # needs the demo data and Pillow's drawing modules (bench/README.md, "Web worker memory").
    from demo.data import seed_demo

    created, accounts = seed_demo(now=now_utc())
    commit()
    if created:
        click.echo("Demo data loaded. Demo accounts (password for all: demo12345):")
    else:
        click.echo("Demo data already present; nothing changed. Demo accounts (password demo12345):")
    for role, email in accounts:
        click.echo(f"  {role:<9} {email}")
