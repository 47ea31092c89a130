"""``flask journal ...`` and ``flask statement ...``: the operator's side of the bank edge."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from core.db import db
from core.errors import ServiceError
from core.refusals import cli_text


def _keys():
    from bank_adapters.keys import load_channel_keys

    keys = current_app.extensions.get("channel_keys")
    if keys is None:
        keys = current_app.extensions["channel_keys"] = load_channel_keys(current_app.config)
    return keys


@click.group("journal")
def journal_cli() -> None:
    """The raw journal of callbacks."""


@journal_cli.command("replay")
@click.argument("entry_id", required=False, type=int)
@click.option("--failed", is_flag=True, help="Re-run every entry left failed (or never finished).")
@with_appcontext
def replay(entry_id: int | None, failed: bool) -> None:
    """Re-run journal entry ENTRY_ID, or every failed one, from its stored bytes."""
    from reconciliation.inbound.ingest import replay_entry, retry_failed

    if (entry_id is None) == (not failed):
        raise click.UsageError("give one journal entry ID, or --failed")
    session = db.Session()
    try:
        if failed:
            results = retry_failed(session, _keys(), limit=10_000)
            for result in results:
                click.echo(f"entry {result.journal_id}: {result.outcome.value}")
            click.echo(f"replayed {len(results)} entries")
            return
        try:
            result = replay_entry(session, entry_id, _keys())
        except (LookupError, ValueError) as exc:
            click.echo(f"error: {exc.args[0]}", err=True)
            sys.exit(1)
        click.echo(f"entry {result.journal_id}: {result.outcome.value}"
                   + (f" (transaction {result.transaction_id})" if result.transaction_id else ""))
    finally:
        session.close()


@journal_cli.command("purge")
@click.option("--days", type=click.IntRange(min=0), default=None,
              help="Keep refused entries this many days (default: CALLBACK_REFUSED_RETENTION_DAYS).")
@with_appcontext
def purge_command(days: int | None) -> None:
    """Delete now the refused callbacks' entries past their retention (accepted ones stay), and
    the sign-in throttle rows with nothing left to remember (what the daily job does)."""
    from flask import current_app

    from reconciliation.scheduler import purge_retained

    journal, throttles, days = purge_retained(
        current_app.config["CALLBACK_REFUSED_RETENTION_DAYS"] if days is None else days)
    click.echo(f"purged {journal} refused journal entries older than {days} days and {throttles} sign-in "
               "throttle rows")


@journal_cli.command("show")
@click.argument("entry_id", type=int)
@with_appcontext
def show_command(entry_id: int) -> None:
    """One journal entry as JSON: what was kept of the body, its whole size and SHA-256."""
    import json

    from reconciliation.inbound.ingest import entry_view
    from reconciliation.models import JournalEntry

    session = db.Session()
    try:
        entry = session.get(JournalEntry, entry_id)
        if entry is None:
            click.echo(f"error: no journal entry {entry_id}", err=True)
            sys.exit(1)
        click.echo(json.dumps(entry_view(entry), ensure_ascii=False, indent=2))
    finally:
        session.close()


@click.group("statement")
def statement_cli() -> None:
    """End-of-day bank statements."""


@statement_cli.command("import")
@click.argument("path", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--actor", default="cli", show_default=True, help="Who imports it (for the record).")
@with_appcontext
def import_command(path: Path, actor: str) -> None:
    """Import a statement file (camt.053, MT940, xlsx/xls or csv; the format is read from the content)."""
    from reconciliation.api.schemas import StatementImport
    from reconciliation.inbound.statement_import import import_statement

    size = path.stat().st_size
    session = db.Session()
    try:
        with path.open("rb") as handle, click.progressbar(length=size, label=f"importing {path.name}",
                                                          file=sys.stderr, show_eta=True) as bar:
            done = [0]

            def progress(position: int, _total: int) -> None:
                if position > done[0]:
                    bar.update(position - done[0])
                    done[0] = position

            summary = import_statement(session, handle, filename=path.name, actor=f"cli:{actor}", progress=progress)
    except ServiceError as exc:
        click.echo(cli_text(exc), err=True)
        sys.exit(1)
    finally:
        session.close()
    body = StatementImport.of(summary).model_dump(mode="json")
    click.echo(("imported" if summary.created else "already imported (nothing created)")
               + f": {body['format']}, {body['entries']} entries, {body['new_transactions']} new and "
                 f"{body['known_transactions']} known transactions, {body['matched']} matched on import")
    for section in body["statements"]:
        proof = "balance proof OK" if section["balance_ok"] else f"BALANCE PROOF FAILED: {section['balance_message']}"
        if section["continuity_ok"] is False:
            proof += " (does not follow the previous statement)"
        click.echo(f"  account {section['account']} {section['period_start']}..{section['period_end']}: "
                   f"{section['entries']} entries; {proof}")


@click.group("scheduler")
def scheduler_cli() -> None:
    """The scheduled jobs (run this in its own process)."""


@scheduler_cli.command("run")
@click.option("--only", multiple=True, help="Run only these jobs (repeatable).")
@click.option("--stop-after", type=float, help="Stop after this many seconds (tests).")
@click.option("--scale", type=float, default=1.0, show_default=True, help="Multiply every interval (tests).")
@click.option("--poll", type=float, default=5.0, show_default=True, help="Seconds between leader-lock checks.")
@with_appcontext
def scheduler_run(only: tuple[str, ...], stop_after: float | None, scale: float, poll: float) -> None:
    """Run the scheduler; several instances may run, one leads (the others stand by)."""
    import logging

    from reconciliation.scheduler import all_jobs, serve

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    unknown = set(only) - {job.name for job in all_jobs()}
    if unknown:
        raise click.BadParameter(f"unknown job(s) {', '.join(sorted(unknown))}", param_hint="--only")
    serve(current_app._get_current_object(), poll=poll, stop_after=stop_after, only=list(only) or None, scale=scale)


@scheduler_cli.command("jobs")
def scheduler_jobs() -> None:
    """List the jobs and their schedules."""
    from reconciliation.scheduler import all_jobs

    for job in all_jobs():
        when = f"every {job.seconds} s" if job.seconds else "at " + ":".join(f"{job.cron[k]:02d}" for k in
                                                                          ("hour", "minute")) + " ICT"
        click.echo(f"{job.name:18} {when:16} {job.description}")


@scheduler_cli.command("once")
@click.argument("name")
@with_appcontext
def scheduler_once(name: str) -> None:
    """Run one job now (outside the schedule), recorded like any run."""
    from reconciliation.scheduler import instance_name, job_by_name, run_job

    try:
        job = job_by_name(name)
    except KeyError as exc:
        raise click.BadParameter(exc.args[0], param_hint="NAME") from None
    record = run_job(current_app._get_current_object(), job, instance_name() + ":once")
    click.echo(f"{job.name}: {record.outcome}: {record.detail}")
    if record.outcome != "ok":
        sys.exit(1)


@click.group("audit")
def audit_cli() -> None:
    """The audit trail."""


@audit_cli.command("verify")
@with_appcontext
def audit_verify() -> None:
    """Check the audit trail's hash chain and the money invariants (reconciliation.invariants);
    say OK, or name every problem and exit 1."""
    from core.audit import verify
    from reconciliation.invariants import verify_money

    with db.transaction() as session:
        result = verify(session)
        problems = verify_money(session)
    failed = False
    if result.ok:
        click.echo(f"audit trail intact: {result.records} records")
    else:
        failed = True
        click.echo(f"error: audit trail broken at record {result.record_id}: {result.problem}", err=True)
    for problem in problems:
        click.echo(f"error: {problem}", err=True)
    if problems:
        click.echo(f"money invariants: {len(problems)} problem(s)", err=True)
        failed = True
    else:
        click.echo("money invariants: OK")
    if failed:
        sys.exit(1)
    click.echo("OK")


@click.group("day")
def day_cli() -> None:
    """The statement run and the daily close of an account."""


def _account(session, number: str):
    from sqlalchemy import select

    from payments.models import CollectionAccount

    account = session.scalar(select(CollectionAccount).where(CollectionAccount.number == number))
    if account is None:
        raise click.BadParameter(f"no collection account {number}", param_hint="ACCOUNT")
    return account


def _date(text: str):
    from datetime import date

    try:
        return date.fromisoformat(text)
    except ValueError:
        raise click.BadParameter("YYYY-MM-DD", param_hint="DAY") from None


@day_cli.command("run")
@click.argument("account")
@click.argument("day")
@click.option("--dry-run", is_flag=True, help="Run every step and report, then undo everything.")
@click.option("--no-close", is_flag=True, help="Do not close the day even if nothing blocks it.")
@click.option("--actor", default="cli", show_default=True)
@with_appcontext
def day_run(account: str, day: str, dry_run: bool, no_close: bool, actor: str) -> None:
    """Run the statement run of ACCOUNT for DAY (YYYY-MM-DD, Indochina day)."""
    from reconciliation.workflow.close import run_day

    session = db.Session()
    try:
        result = run_day(session, _account(session, account), _date(day), f"cli:{actor}", dry_run=dry_run,
                         close=not no_close)
    except ServiceError as exc:
        click.echo(cli_text(exc), err=True)
        sys.exit(1)
    finally:
        session.close()
    click.echo(f"{result.account} {result.day}: {result.status}" + (" (dry run: nothing kept)" if dry_run else ""))
    for action in result.actions:
        click.echo(f"  {action}")
    for key in ("statement_in_count", "statement_in_sum", "service_in_count", "service_in_sum", "matched_count",
                "matched_sum", "unmatched_count", "unmatched_sum", "cash_count", "cash_sum", "open_exceptions"):
        click.echo(f"  {key}: {result.figures.get(key)}")
    for item in result.blocking:
        click.echo(f"  blocking: {item}")


@day_cli.command("reopen")
@click.argument("account")
@click.argument("day")
@click.option("--reason", required=True)
@click.option("--actor", default="cli", show_default=True)
@with_appcontext
def day_reopen(account: str, day: str, reason: str, actor: str) -> None:
    """Reopen a closed day (recorded with the reason)."""
    from reconciliation.workflow.close import reopen_day

    try:
        with db.transaction() as session:
            reopen_day(session, _account(session, account), _date(day), f"cli:{actor}", reason)
    except ServiceError as exc:
        click.echo(cli_text(exc), err=True)
        sys.exit(1)
    click.echo(f"{account} {day}: reopened")


@click.group("match")
def match_cli() -> None:
    """The matcher's rules and thresholds (data, not code)."""


@match_cli.command("rules")
@with_appcontext
def match_rules() -> None:
    """Show the rules in force as JSON."""
    import json

    from reconciliation.matching.reconcile import load_rules

    with db.transaction() as session:
        click.echo(json.dumps(load_rules(session).as_data(), indent=2))


@match_cli.command("set")
@click.argument("name")
@click.argument("value", type=float)
@click.option("--actor", default="cli", show_default=True)
@with_appcontext
def match_set(name: str, value: float, actor: str) -> None:
    """Set auto_threshold, suggest_threshold, or the confidence of one rule (0 to 1)."""
    from reconciliation.matching.matcher import MatchRules
    from reconciliation.matching.reconcile import load_rules, save_rules

    with db.transaction() as session:
        data = load_rules(session).as_data()
        if name in ("auto_threshold", "suggest_threshold"):
            data[name] = value
        else:
            data["confidence"][name] = value
        try:
            rules = MatchRules.from_data(data)
        except ValueError as exc:
            click.echo(f"error: {exc}", err=True)
            sys.exit(1)
        save_rules(session, rules, f"cli:{actor}")
    click.echo(f"{name} = {value}")


@click.group("events")
def events_cli() -> None:
    """Outbound events to the one-stop dossier system."""


@events_cli.command("deliver")
@with_appcontext
def events_deliver() -> None:
    """Deliver the events that are due now."""
    from reconciliation.channels.outbox import deliver_due

    url, secret = current_app.config.get("DOSSIER_EVENTS_URL"), current_app.config.get("DOSSIER_EVENTS_SECRET")
    if not url or not secret:
        click.echo("error: DOSSIER_EVENTS_URL and DOSSIER_EVENTS_SECRET must be configured", err=True)
        sys.exit(1)
    session = db.Session()
    try:
        click.echo(f"{deliver_due(session, url, secret)} delivery attempt(s)")
    finally:
        session.close()
