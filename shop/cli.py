"""Command line (flask --app wsgi ...): seed-demo, users create, outbox. Packages add their own groups."""
from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from shop.db import commit
from shop.timeutil import now_utc

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(["consumer", "operator", "host", "county", "admin"]), default="consumer")
@click.option("--station", "station_code", default=None, help="Station code (operators).")
@click.option("--name", default="")
def create_user_command(email, password, role, station_code, name):
    """Create a user with a role."""
    from shop.auth.services import Registration, register_user
    from shop.errors import DomainError
    from shop.extensions import db
    from stations.models import Station

    station_id = None
    if station_code:
        station = db.session.scalar(db.select(Station).where(Station.code == station_code))
        if station is None:
            raise click.ClickException(f"no station with code {station_code}")
        station_id = station.id
    try:
        user = register_user(
            Registration(email=email, password=password, name=name, role=role, station_id=station_id), now=now_utc()
        )
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    commit()
    click.echo(f"created {user.email} ({user.role})")


@click.command("seed-demo")
def seed_demo_command():
    """Load the demo data (idempotent: a second run changes nothing)."""
    from shop.demo import seed_demo

    created, accounts = seed_demo(now=now_utc())
    commit()
    if created:
        click.echo("Demo data loaded. Demo accounts (password for all: demo12345):")
    else:
        click.echo("Demo data already present; nothing changed. Demo accounts (password demo12345):")
    for role, email in accounts:
        click.echo(f"  {role:<9} {email}")


outbox_cli = AppGroup("outbox", help="Celery tasks kept while the broker was unreachable (shop/outbox.py).")


@outbox_cli.command("drain")
@click.option("--min-age", type=float, default=None,
              help="Only rows older than this many seconds (default OUTBOX_MIN_AGE_SECONDS).")
def outbox_drain_command(min_age):
    """Publish the waiting tasks now (beat does it every OUTBOX_DRAIN_SECONDS). Exit 1 if the broker
    is still unreachable."""
    from shop.outbox import drain

    result = drain(min_age=min_age)
    click.echo(f"published {result.published}, waiting {result.left}")
    if result.error:
        raise click.ClickException(f"broker unreachable: {result.error}")


@outbox_cli.command("status")
def outbox_status_command():
    """How many tasks wait in the outbox, and the oldest."""
    import sqlalchemy as sa

    from shop.extensions import db
    from shop.outbox import OutboxMessage

    count, oldest = db.session.execute(
        sa.select(sa.func.count(), sa.func.min(OutboxMessage.created_at)).select_from(OutboxMessage)
    ).one()
    click.echo(f"waiting {count}" + (f", oldest {oldest.isoformat()}" if oldest else ""))


def register_cli(app: Flask) -> None:
    app.cli.add_command(users_cli)
    app.cli.add_command(outbox_cli)
    app.cli.add_command(seed_demo_command)
    import importlib

    for package in ("catalog", "orders", "stations", "tourism", "county"):
        try:
            module = importlib.import_module(f"{package}.cli")
        except ModuleNotFoundError as exc:
            if exc.name != f"{package}.cli":
                raise
            continue
        module.register(app)
