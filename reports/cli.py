"""``flask report ...``: the monthly disclosure files, the reports' tables (rebuild, check),
and the reports' settings (which payment channels count as online, the 766 scoring, budget
sub-items, the grace for daily closes)."""
from __future__ import annotations

import json
import time
from pathlib import Path

import click
from flask.cli import with_appcontext

from core.db import db
from core.errors import ServiceError


@click.group("report")
def report_cli() -> None:
    """Reports: the online payment rate and the monthly disclosure."""


@report_cli.command("fee-return")
@click.option("--month", "month", help="The month of a 01/PHLP return, YYYY-MM.")
@click.option("--year", "year", help="The year of a 02/PHLP return, YYYY.")
@click.option("--agency", "agency", required=True, help="The agency's code.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="The XLSX file to write.")
@with_appcontext
def fee_return(month: str | None, year: str | None, agency: str, out: Path) -> None:
    """Write the fee return 01/PHLP (--month) or 02/PHLP (--year) of an agency as XLSX."""
    from core.refusals import cli_text

    from .fee_return import write_xlsx
    from .treasury_api import fee_return_from_args

    try:
        result = fee_return_from_args({"agency": agency, "month": month, "year": year})
    except ServiceError as exc:
        db.session.rollback()
        raise click.ClickException(cli_text(exc)) from None
    try:
        with out.open("wb") as handle:
            write_xlsx(result, handle)
    except OSError as exc:
        raise click.ClickException(f"cannot write {out}: {exc.strerror}") from None
    finally:
        db.session.rollback()
    click.echo(f"{result.form} {result.agency.code} {result.period}: collected {result.collected}, retained "
               f"{result.retained}, payable {result.payable}, remitted {result.remitted}, owed {result.owed}; "
               f"city support {result.city_support} (beside, not collected)")
    click.echo(str(out))


@report_cli.command("monthly")
@click.option("--month", "month", required=True, help="The month, YYYY-MM.")
@click.option("--out", "out", required=True, type=click.Path(file_okay=False, path_type=Path),
              help="The directory to write into (created if missing).")
@with_appcontext
def monthly(month: str, out: Path) -> None:
    """Write the month's public disclosure: XLSX, CSV and a PNG chart."""
    from .definitions import Period
    from .disclosure import build, chart_png, file_stem, write_csv, write_xlsx

    try:
        period = Period.parse_month(month, "--month")
    except ServiceError as exc:
        raise click.BadParameter(exc.detail, param_hint="--month") from None
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise click.ClickException(f"cannot create {out}: {exc.strerror}") from None
    with db.Session() as session:
        disclosure = build(session, period)
        session.rollback()
    stem = file_stem(period)
    written = []
    for suffix, writer in (("xlsx", write_xlsx), ("csv", write_csv)):
        path = out / f"{stem}.{suffix}"
        with path.open("wb") as handle:
            writer(disclosure, handle)
        written.append(path)
    path = out / f"{stem}.png"
    path.write_bytes(chart_png(disclosure))
    written.append(path)
    total = disclosure.summary.total
    rate = "—" if total.rate is None else f"{total.rate * 100:.1f} %"
    click.echo(f"month {period.label}: {total.paid_online} of {total.with_fees} dossiers with fees paid online "
               f"({rate}){' — provisional, the month is not over' if disclosure.provisional else ''}")
    for path in written:
        click.echo(str(path))


@report_cli.command("rebuild")
@with_appcontext
def rebuild_command() -> None:
    """Rewrite the reports' tables from the records (after bulk loads or changes made by hand)."""
    from .facts import rebuild

    started = time.perf_counter()
    with db.transaction() as session:
        result = rebuild(session, echo=click.echo)
    click.echo(f"rebuilt: {result.dossiers} dossiers, {result.receipt_lines} receipt lines, "
               f"{result.document_lines} lines receipted elsewhere in {time.perf_counter() - started:.1f} s")


@report_cli.command("check")
@with_appcontext
def check_command() -> None:
    """Compare the reports' tables with the direct computation; exit 1 if they differ."""
    from .facts import check

    with db.Session() as session:
        result = check(session)
        session.rollback()
    if result.ok:
        click.echo(f"ok: {result.dossiers} dossiers, the tables equal the direct computation")
        return
    click.echo(f"differ: dossiers {result.differing[:20]} receipts {result.receipts_differing[:20]} "
               f"receipted elsewhere (dossiers) {result.documents_differing[:20]}; "
               "run `flask --app app report rebuild`", err=True)
    raise SystemExit(1)


@report_cli.group("config")
def config_cli() -> None:
    """The reports' settings (configuration kept in the database, audited)."""


@config_cli.command("show")
@with_appcontext
def config_show() -> None:
    """Print the settings in force (stored values over the documented defaults) as JSON."""
    from .definitions import load_settings

    with db.Session() as session:
        s = load_settings(session)
    click.echo(json.dumps({"ONLINE_FLAG_VIETQR_AS_GATEWAY": s.vietqr_as_gateway,
                           "online_channels": list(s.online_channels), "reports.scoring": s.scoring,
                           "reports.budget_subitems": s.subitems, "reports.close_grace_days": s.close_grace_days},
                          ensure_ascii=False, indent=2))


@config_cli.command("set")
@click.argument("key")
@click.argument("value")
@click.option("--actor", required=True, help="Who changes it (recorded in the audit trail).")
@with_appcontext
def config_set(key: str, value: str, actor: str) -> None:
    """Set KEY to VALUE (JSON), e.g. reports.scoring '{"3.6": {"full_marks_at": 0.5}}'. (What
    counts as paid online is ONLINE_FLAG_VIETQR_AS_GATEWAY, in the configuration.)"""
    from .definitions import store_setting

    try:
        data = json.loads(value)
    except ValueError:
        raise click.BadParameter("VALUE must be JSON", param_hint="VALUE") from None
    try:
        with db.transaction() as session:
            stored = store_setting(session, key, data, f"cli:{actor}")
    except ServiceError as exc:
        raise click.ClickException(exc.detail) from None
    click.echo(json.dumps({key: stored}, ensure_ascii=False))
