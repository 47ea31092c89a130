"""``flask catalogue import FILE``: administrators correct the fee catalogue from a CSV."""
from __future__ import annotations

from pathlib import Path

import click
from flask.cli import with_appcontext

from core.db import db
from core.errors import ServiceError
from core.refusals import cli_text

from .catalogue import import_catalogue
from .rule_catalogue import export_rules, import_rules


@click.group("catalogue")
def catalogue_cli() -> None:
    """The fee catalogue."""


@catalogue_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report, change nothing.")
@with_appcontext
def import_command(file: Path, dry_run: bool) -> None:
    """Upsert procedures and fee items from FILE (the columns of fees-hanoi.csv)."""
    _import_file(file, dry_run, import_catalogue)


@catalogue_cli.command("import-rules")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--dry-run", is_flag=True, help="Check and report, change nothing.")
@with_appcontext
def import_rules_command(file: Path, dry_run: bool) -> None:
    """Upsert the fee rules from FILE (the columns of fee-rules.csv), all or nothing."""
    _import_file(file, dry_run, import_rules)


def _import_file(file: Path, dry_run: bool, importer) -> None:
    """Read FILE as UTF-8, hand it to ``importer`` in one transaction (rolled back on a dry run
    or a refusal) and print its summary, or the refusal with exit status 1."""
    try:
        text = file.read_text(encoding="utf-8")
    except UnicodeDecodeError:
        click.echo("error: the file is not UTF-8 text", err=True)
        raise SystemExit(1)
    session = db.Session()
    try:
        result = importer(session, text)
        session.rollback() if dry_run else session.commit()
    except ServiceError as exc:
        session.rollback()
        click.echo(cli_text(exc), err=True)
        raise SystemExit(1)
    finally:
        session.close()
    click.echo(("dry run: " if dry_run else "") + result.summary())


@catalogue_cli.command("export-rules")
@with_appcontext
def export_rules_command() -> None:
    """Print the fee rules as CSV (confirmed = no marks the unconfirmed ones)."""
    session = db.Session()
    try:
        click.echo(export_rules(session), nl=False)
    finally:
        session.close()
