"""Station commands: `flask users create` (an operator belongs to a station, given by its code)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from shop.auth.services import Registration, register_user
from shop.db import commit
from shop.errors import DomainError
from shop.extensions import db
from shop.timeutil import now_utc
from stock.models import Station

users_cli = AppGroup("users", help="Manage user accounts.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--password", required=True)
@click.option("--role", type=click.Choice(["consumer", "operator", "host", "county", "admin"]), default="consumer")
@click.option("--station", "station_code", default=None, help="Station code (operators).")
@click.option("--name", default="")
def create_user_command(email, password, role, station_code, name):
    """Create a user with a role."""
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


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
