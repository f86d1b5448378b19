"""Kernel commands (flask --app wsgi ...): outbox. Domain packages add their own groups."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask import Flask
from flask.cli import AppGroup

from shop.extensions import db
from shop.outbox import OutboxMessage, drain

outbox_cli = AppGroup("outbox", help="Celery tasks kept while the broker was unreachable (shop/outbox.py).")


@outbox_cli.command("drain")
@click.option(
    "--min-age",
    type=float,
    default=None,
    help="Only rows older than this many seconds (default OUTBOX_MIN_AGE_SECONDS).",
)
def outbox_drain_command(min_age):
    """Publish the waiting tasks now (beat does it every OUTBOX_DRAIN_SECONDS). Exit 1 if the broker
    is still unreachable."""
    result = drain(min_age=min_age)
    click.echo(f"published {result.published}, waiting {result.left}")
    if result.error:
        raise click.ClickException(f"broker unreachable: {result.error}")


@outbox_cli.command("status")
def outbox_status_command():
    """How many tasks wait in the outbox, and the oldest."""
    count, oldest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(OutboxMessage.created_at)).select_from(OutboxMessage)
    ).one()
    click.echo(f"waiting {count}" + (f", oldest {oldest.isoformat()}" if oldest else ""))


def register_cli(app: Flask) -> None:
    """The kernel's commands; each domain package adds its own in its `init_app`."""
    app.cli.add_command(outbox_cli)
