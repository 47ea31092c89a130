"""``flask db ...`` (Alembic migrations) and ``flask seed``."""
from __future__ import annotations

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
