"""``flask db ...`` (Alembic migrations), ``flask seed``, ``flask token create`` and ``flask user ...``."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from alembic import command
from alembic.config import Config
from flask import current_app
from flask.cli import with_appcontext

from .db import db
from .seed import run_seeders
from .refusals import cli_text

MIGRATIONS = Path(__file__).resolve().parent.parent / "migrations"


def alembic_config(url: str) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["url"] = url
    return config


@click.group("db")
def db_cli() -> None:
    """Database schema (Alembic migrations)."""


@db_cli.command("upgrade")
@click.argument("revision", default="head")
@with_appcontext
def upgrade(revision: str) -> None:
    """Create or migrate the schema to REVISION (default: the latest)."""
    command.upgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)
    click.echo(f"database at {_safe_url()} is at {revision}")


@db_cli.command("downgrade")
@click.argument("revision")
@with_appcontext
def downgrade(revision: str) -> None:
    """Step the schema back to REVISION (e.g. -1, or base)."""
    command.downgrade(alembic_config(current_app.config["DATABASE_URL"]), revision)


@db_cli.command("current")
@with_appcontext
def current() -> None:
    """Show the schema's current revision."""
    command.current(alembic_config(current_app.config["DATABASE_URL"]), verbose=False)


@db_cli.command("revision")
@click.option("-m", "--message", required=True)
@click.option("--autogenerate", is_flag=True, help="Compare the models with the database.")
@with_appcontext
def revision(message: str, autogenerate: bool) -> None:
    """Write a new migration script (for developers)."""
    command.revision(alembic_config(current_app.config["DATABASE_URL"]), message=message, autogenerate=autogenerate)


def _safe_url() -> str:
    return db.engine.url.render_as_string(hide_password=True)


@click.command("seed")
@with_appcontext
def seed_command() -> None:
    """Load reference and demo data (idempotent: safe to run again)."""
    with db.transaction() as session:
        run_seeders(session, click.echo)
    click.echo("seed: done")


@click.group("token")
def token_cli() -> None:
    """API tokens."""


@token_cli.command("create")
@click.argument("name")
@click.option("--role", required=True, help="system, counter, finance, supervisor or admin")
@with_appcontext
def token_create(name: str, role: str) -> None:
    """Print one new API token on stdout, nothing else."""
    from .errors import ServiceError
    from .tokens import create_token

    try:
        with db.transaction() as session:
            token = create_token(session, name, role)
    except ServiceError as exc:
        click.echo(cli_text(exc), err=True)
        raise SystemExit(1)
    click.echo(token)


@click.group("user")
def user_cli() -> None:
    """Staff accounts (also on the admin's page /admin/users)."""


def _refuse(exc) -> None:
    click.echo(cli_text(exc), err=True)
    raise SystemExit(1)


@user_cli.command("create")
@click.argument("name")
@click.option("--role", "roles", multiple=True, required=True,
              help="counter, finance, supervisor or admin; repeat for several")
@click.option("--full-name", default="", help="The person's name as pages show it (default: NAME).")
@click.option("--password-stdin", is_flag=True, help="Read the password from standard input instead of generating one.")
@with_appcontext
def user_create(name: str, roles: tuple[str, ...], full_name: str, password_stdin: bool) -> None:
    """Create a staff user. Prints the generated password on stdout and nothing else (it must be
    changed at the first sign-in); with --password-stdin reads it (first line) and prints nothing."""
    from .accounts import create_user
    from .errors import ServiceError

    password = None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    try:
        with db.transaction() as session:
            _, generated = create_user(session, name, roles, "cli", full_name=full_name, password=password)
    except ServiceError as exc:
        _refuse(exc)
    if generated is not None:
        click.echo(generated)


def _account_act(name: str, act):
    from .accounts import get_user
    from .errors import ServiceError

    try:
        with db.transaction() as session:
            result = act(session, get_user(session, name))
    except ServiceError as exc:
        _refuse(exc)
    return result


@user_cli.command("disable")
@click.argument("name")
@with_appcontext
def user_disable(name: str) -> None:
    """Disable a user: they cannot sign in, and their open sessions end at their next request."""
    from .accounts import set_active

    _account_act(name, lambda session, user: set_active(session, user, False, "cli"))
    click.echo(f"user {name} is disabled", err=True)


@user_cli.command("enable")
@click.argument("name")
@with_appcontext
def user_enable(name: str) -> None:
    """Enable a disabled user again."""
    from .accounts import set_active

    _account_act(name, lambda session, user: set_active(session, user, True, "cli"))
    click.echo(f"user {name} is enabled", err=True)


@user_cli.command("reset-password")
@click.argument("name")
@with_appcontext
def user_reset_password(name: str) -> None:
    """Print a new generated password for NAME (to be changed at the next sign-in); their open
    sessions end."""
    from .accounts import reset_password

    click.echo(_account_act(name, lambda session, user: reset_password(session, user, "cli")))


@user_cli.command("list")
@with_appcontext
def user_list() -> None:
    """One JSON object per line: {"name", "roles", "active"}, by name."""
    import json

    from sqlalchemy import select

    from .users import User

    with db.transaction() as session:
        for user in session.scalars(select(User).order_by(User.username)):
            click.echo(json.dumps({"name": user.username, "roles": user.roles, "active": user.active},
                                  ensure_ascii=False))
