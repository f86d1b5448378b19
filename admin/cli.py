"""Account commands (`flask users …`): the same rules as the admin's pages (admin.services.users)."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import AppGroup

from admin.services import users
from shop.auth.models import Role
from shop.auth.services import Registration, get_user_by_email
from shop.db import commit
from shop.errors import DomainError
from shop.timeutil import now_utc

users_cli = AppGroup("users", help="Manage user accounts.")
ROLE_CHOICE = click.Choice([str(r) for r in Role])


def _station_id(station_code: str | None) -> int | None:
    if not station_code:
        return None
    try:
        return users.station_by_code(station_code).id
    except DomainError:
        raise click.ClickException(f"no station with code {station_code}") from None


@users_cli.command("create")
@click.option("--email", required=True)
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    help="Asked for (not echoed) when left out, so it stays out of the shell's history and `ps`.",
)
@click.option("--role", type=ROLE_CHOICE, default="consumer")
@click.option("--station", "station_code", default=None, help="Station code (operators only).")
@click.option("--name", default="")
def create_user_command(email, password, role, station_code, name):
    """Create a user with a role."""
    info = Registration(email=email, password=password, name=name, role=role, station_id=_station_id(station_code))
    try:
        user = users.create_user(info, actor=None, now=now_utc())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    commit()
    click.echo(f"created {user.email} ({user.role})")


@users_cli.command("set-role")
@click.option("--email", required=True)
@click.option("--role", type=ROLE_CHOICE, required=True)
@click.option("--station", "station_code", default=None, help="Station code (operators only).")
def set_role_command(email, role, station_code):
    """Change a user's role (an operator needs --station, any other role is refused one); the last active
    admin keeps its role."""
    user = get_user_by_email(email)
    if user is None:
        raise click.ClickException(f"no user {email}")
    try:
        users.set_role(user, role, _station_id(station_code), actor=None, now=now_utc())
    except DomainError as exc:
        raise click.ClickException(exc.message) from None
    commit()
    click.echo(f"{user.email} is {user.role}")


def register(app: Flask) -> None:
    app.cli.add_command(users_cli)
