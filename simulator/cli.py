"""``flask bank ...``: the bank simulator, as a citizen's bank, the collection account's bank,
the bank-feed intermediaries and the national portal's platform would behave.

It plays the other side honestly: it reads the payment request's VietQR payload as a
banking app does, books the transfer in the simulated bank's own ledger (kept outside the
service's database, ``SIMBANK_DIR``), alters the content the way real banks do, signs the
callback as its format says, delivers it over HTTP (or in-process) and retries on the
format's own schedule. Its statements are written from its ledger, so they show transfers
whose callback never arrived.
"""
from __future__ import annotations

import json
import random
import sys
from datetime import date, datetime
from pathlib import Path

import click
from flask import current_app
from flask.cli import with_appcontext

from simulator import callbacks as build
from simulator import contents
from simulator.delivery import (HttpTransport, WsgiTransport, bankdirect_builder, deliver,
                                              payos_builder, portal_builder, sepay_builder)
from simulator.ledger import Ledger, transfer_to_json
from simulator.platform import Platform, PlatformPayment
from bank_adapters.transfers import IN, BankTransfer
from core.clock import parse_iso, utcnow
from core.db import db
from core.errors import ServiceError
from core.refusals import cli_text
from qr.banks import all_banks
from qr.vietqr import VietQRError, decode

VIAS = ("payos", "sepay", "bankdirect")


def simbank_dir() -> Path:
    configured = current_app.config.get("SIMBANK_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "simbank"


def platform_dir() -> Path:
    configured = current_app.config.get("SIMPORTAL_DIR")
    return Path(configured) if configured else Path(current_app.instance_path) / "simportal"


def ledger() -> Ledger:
    return Ledger(simbank_dir())


def sender_keys():
    """What the simulated senders sign with: the configured keys where the service has them
    (the shared secrets), the demo bank key for the direct bank (the service never holds the
    bank's private key), and the service's public key to check its answers."""
    from bank_adapters.keys import DEMO_BANK_PRIVATE_KEY, DEMO_SERVICE_PUBLIC_KEY, load_channel_keys

    keys = load_channel_keys(current_app.config)
    bank_key = current_app.config.get("SIMULATOR_BANK_PRIVATE_KEY") or DEMO_BANK_PRIVATE_KEY
    service_public = current_app.config.get("SIMULATOR_SERVICE_PUBLIC_KEY") or DEMO_SERVICE_PUBLIC_KEY
    from bank_adapters.keys import load_private_key, load_public_key

    return keys, load_private_key(bank_key), load_public_key(service_public)


def transport_for(url: str | None, in_process: bool):
    if in_process:
        return WsgiTransport(current_app._get_current_object())
    return HttpTransport(url or current_app.config.get("SIMULATOR_TARGET_URL") or "http://127.0.0.1:5000")


def builder_for(via: str, transfer: BankTransfer, *, sepay_id: int | None = None, rng: random.Random):
    keys, bank_private, _ = sender_keys()
    if via == "payos":
        if not keys.payos_checksum_key:
            raise click.UsageError("no payOS checksum key configured (PAYOS_CHECKSUM_KEY)")
        return payos_builder(transfer, keys.payos_checksum_key, order_code=rng.randint(10_000, 2**31 - 1))
    if via == "sepay":
        if not (keys.sepay_api_key or keys.sepay_hmac_secret):
            raise click.UsageError("no SePay key configured (SEPAY_API_KEY or SEPAY_HMAC_SECRET)")
        return sepay_builder(transfer, sepay_id=sepay_id or rng.randint(100_000, 2**31 - 1),
                             api_key=keys.sepay_api_key, hmac_secret=keys.sepay_hmac_secret)
    if via == "bankdirect":
        return bankdirect_builder(transfer, bank_private)
    raise click.UsageError(f"--via must be one of {', '.join(VIAS)}")


def payer(rng: random.Random) -> dict[str, str]:
    banks = [b.bin for b in all_banks() if b.bin.startswith("970")]
    return {"counter_account": contents.account_number(rng), "counter_name": contents.payer_name(rng),
            "counter_bank": rng.choice(banks)}


def book(account: str, bank_bin: str, amount: int, content: str, *, when: datetime | None = None,
         rng: random.Random, direction: str = IN) -> BankTransfer:
    """The simulated bank books a transfer on the collection account."""
    books = ledger()
    when = when or utcnow()
    transfer = BankTransfer(account=account, bank_ref=books.new_bank_ref(bank_bin, when), amount=amount,
                            direction=direction, booked_at=when, content=content, bank_bin=bank_bin, **payer(rng))
    return books.record(transfer)


def send(via: str, transfer: BankTransfer, *, url: str | None, in_process: bool, time_scale: float,
         max_attempts: int | None, rng: random.Random, quiet: bool = False):
    _, _, service_public = sender_keys()
    result = deliver(via, builder_for(via, transfer, rng=rng), transport_for(url, in_process),
                     time_scale=time_scale, max_attempts=max_attempts, service_public_key=service_public)
    if not quiet:
        for attempt in result.attempts:
            click.echo(f"  attempt {attempt.number} (+{attempt.scheduled_after:.0f}s): HTTP {attempt.status} "
                       f"{attempt.code or ''} {attempt.verdict} {attempt.note or ''}".rstrip())
        click.echo(f"delivery: {result.outcome}")
    return result


@click.group("bank")
def bank_cli() -> None:
    """The bank simulator (demo and tests): citizens' transfers, callbacks, statements, load."""


_common = [
    click.option("--url", help="The service's base URL (default: SIMULATOR_TARGET_URL or http://127.0.0.1:5000)."),
    click.option("--in-process", is_flag=True, help="Deliver to this app in-process instead of over HTTP."),
    click.option("--time-scale", type=float, default=1.0, show_default=True,
                 help="Multiplies the retry schedule's waits (0: retry at once)."),
    click.option("--max-attempts", type=int, help="Stop retrying after this many attempts."),
    click.option("--seed", type=int, help="Make the payer and the content's alterations repeatable."),
]


def common(function):
    for option in reversed(_common):
        function = option(function)
    return function


@bank_cli.command("pay")
@click.argument("reference")
@click.option("--via", type=click.Choice(VIAS), required=True, help="Which channel tells the service.")
@click.option("--amount", type=int, help="Pay another amount than the QR asks (default: the QR's amount).")
@click.option("--content", help="The transfer content as the bank delivers it (default: the QR's purpose, "
                                "altered the way banks alter it).")
@click.option("--pattern", help=f"The alteration: one of {', '.join(contents.NAMES)} (default: random).")
@click.option("--no-deliver", is_flag=True, help="Book the transfer but never send its callback (a lost webhook).")
@click.option("--at", "at", help="When the bank booked it (ISO 8601 with offset; default: now).")
@common
@with_appcontext
def pay(reference: str, via: str, amount: int | None, content: str | None, pattern: str | None, no_deliver: bool,
        at: str | None, url: str | None, in_process: bool, time_scale: float, max_attempts: int | None,
        seed: int | None) -> None:
    """A citizen pays payment request REFERENCE by scanning its VietQR code."""
    from payments.requests import get_request

    rng = random.Random(seed)
    try:
        request = get_request(db.session, reference)
    except ServiceError as exc:
        click.echo(cli_text(exc), err=True)
        sys.exit(1)
    try:
        qr = decode(request.qr_payload)  # what the banking app reads
    except VietQRError as exc:
        click.echo(f"error: the request's QR payload does not decode: {exc}", err=True)
        sys.exit(1)
    db.session.rollback()
    if amount is not None and amount <= 0:
        raise click.BadParameter("must be a positive whole number of đồng", param_hint="--amount")
    paid = amount if amount is not None else qr.amount
    if content is None:
        try:
            content, applied = contents.alter(qr.purpose or "", pattern, rng)
        except ValueError as exc:
            raise click.BadParameter(str(exc), param_hint="--pattern") from None
        click.echo(f"content ({'+'.join(applied)}): {content!r}")
    when = parse_iso(at) if at else None
    transfer = book(qr.account, qr.bin, paid, content, when=when, rng=rng)
    click.echo(f"booked {transfer.bank_ref}: {paid} đ to {qr.account} at {qr.bin}")
    if no_deliver:
        click.echo("callback not sent (--no-deliver): only the statement will show it")
        return
    result = send(via, transfer, url=url, in_process=in_process, time_scale=time_scale, max_attempts=max_attempts,
                  rng=rng)
    sys.exit(0 if result.outcome in ("delivered", "duplicate") else 2)


@bank_cli.command("transfer")
@click.option("--account", required=True, help="The credited (or debited) account.")
@click.option("--bank", "bank_bin", required=True, help="The BIN of the bank that holds the account.")
@click.option("--amount", type=int, required=True)
@click.option("--content", default="", help="The content exactly as the bank delivers it.")
@click.option("--out", "money_out", is_flag=True, help="Money out of the account (a debit).")
@click.option("--via", type=click.Choice(VIAS), help="Send a callback through this channel (default: none).")
@click.option("--at", "at", help="When the bank booked it (ISO 8601 with offset; default: now).")
@common
@with_appcontext
def transfer_command(account: str, bank_bin: str, amount: int, content: str, money_out: bool, via: str | None,
                     at: str | None, url: str | None, in_process: bool, time_scale: float, max_attempts: int | None,
                     seed: int | None) -> None:
    """Any movement on an account: a transfer with no reference, money out, a wrong account."""
    rng = random.Random(seed)
    if amount <= 0:
        raise click.BadParameter("must be a positive whole number of đồng", param_hint="--amount")
    transfer = book(account, bank_bin, amount, content, when=parse_iso(at) if at else None, rng=rng,
                    direction="out" if money_out else IN)
    click.echo(f"booked {transfer.bank_ref}: {'-' if money_out else '+'}{amount} đ on {account}")
    if via:
        result = send(via, transfer, url=url, in_process=in_process, time_scale=time_scale,
                      max_attempts=max_attempts, rng=rng)
        sys.exit(0 if result.outcome in ("delivered", "duplicate") else 2)


@bank_cli.command("resend")
@click.argument("account")
@click.argument("bank_ref")
@click.option("--via", type=click.Choice(VIAS), required=True)
@common
@with_appcontext
def resend(account: str, bank_ref: str, via: str, url: str | None, in_process: bool, time_scale: float,
           max_attempts: int | None, seed: int | None) -> None:
    """Send the callback of a transfer already booked (again, or through another channel)."""
    found = [t for t in ledger().all_transfers(account) if t.bank_ref == bank_ref]
    if not found:
        click.echo(f"error: no transfer {bank_ref} on {account} in the simulated bank", err=True)
        sys.exit(1)
    result = send(via, found[0], url=url, in_process=in_process, time_scale=time_scale, max_attempts=max_attempts,
                  rng=random.Random(seed))
    sys.exit(0 if result.outcome in ("delivered", "duplicate") else 2)


@bank_cli.command("statement")
@click.argument("account")
@click.option("--date", "day", required=True, help="The Indochina day, YYYY-MM-DD.")
@click.option("--format", "fmt", type=click.Choice(["camt053", "mt940", "xlsx", "csv"]), required=True)
@click.option("--layout", type=click.Choice(["vietcombank", "vietinbank", "bidv"]), default="vietcombank",
              show_default=True, help="For xlsx and csv: which bank's export.")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path))
@click.option("--bank", "bank_bin", help="The BIN of the account's bank (default: from the collection account).")
@with_appcontext
def statement(account: str, day: str, fmt: str, layout: str, out: Path, bank_bin: str | None) -> None:
    """Write ACCOUNT's statement of one day as its bank would, from the simulated bank's books."""
    from sqlalchemy import select

    from simulator.statement_files import write_statement
    from payments.models import CollectionAccount

    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise click.BadParameter("YYYY-MM-DD", param_hint="--date") from None
    if bank_bin is None:
        bank_bin = db.session.scalar(select(CollectionAccount.bank_bin).where(CollectionAccount.number == account))
        db.session.rollback()  # SQLite: hold no lock while writing the file
        if bank_bin is None:
            raise click.UsageError(f"{account} is not a collection account of the service: give --bank")
    books = ledger()
    transfers = books.transfers(account, when, when)
    with out.open("wb") as handle:
        write_statement(fmt, handle, account=account, bank_bin=bank_bin, day_from=when, day_to=when,
                        opening_balance=books.balance_before(account, when), transfers=transfers, layout=layout)
    click.echo(f"wrote {out}: {len(transfers)} entries of {account} on {when} ({fmt}"
               + (f", {layout}" if fmt in ("xlsx", "csv") else "") + ")")


@bank_cli.command("portal-pay")
@click.argument("dossier_code")
@click.option("--no-confirm", is_flag=True, help="Pay, but withhold the confirmation (the status query finds it).")
@click.option("--fail", is_flag=True, help="The payment fails on the platform (no money moves).")
@click.option("--bank-callback", type=click.Choice(VIAS), help="Also send the bank's own callback of the transfer.")
@common
@with_appcontext
def portal_pay(dossier_code: str, no_confirm: bool, fail: bool, bank_callback: str | None, url: str | None,
               in_process: bool, time_scale: float, max_attempts: int | None, seed: int | None) -> None:
    """A citizen pays DOSSIER_CODE on the national public service portal's payment platform."""
    from bank_adapters.portal import CONTENT_PREFIX
    from payments.agencies import default_account
    from payments.dossiers import find_dossier

    from reconciliation.channels.portal import initialise

    rng = random.Random(seed)
    dossier = find_dossier(db.session, dossier_code)
    if dossier is None:
        click.echo(f"error: no dossier {dossier_code!r}", err=True)
        sys.exit(1)
    try:
        payment = initialise(db.session, dossier, actor="simulator:portal")
        db.session.commit()
    except ServiceError as exc:
        db.session.rollback()
        click.echo(cli_text(exc), err=True)
        sys.exit(1)
    account = default_account(dossier.agency)
    keys, _, _ = sender_keys()
    if not keys.portal_secret:
        raise click.UsageError("no PORTAL_SECRET configured")
    status = "02" if fail else "00"
    if fail:
        transfer = BankTransfer(account=account.number, bank_ref=f"PGF{rng.randint(10**11, 10**12 - 1)}",
                                amount=payment.amount, direction=IN, booked_at=utcnow(),
                                content=CONTENT_PREFIX + dossier.code, bank_bin=account.bank_bin, **payer(rng))
    else:
        transfer = book(account.number, account.bank_bin, payment.amount, CONTENT_PREFIX + dossier.code, rng=rng)
    Platform(platform_dir()).save(PlatformPayment(ref=payment.ref, dossier_code=dossier.code,
                                                  procedure_code=dossier.procedure.code, status=status,
                                                  transfer=transfer_to_json(transfer), confirmed=not no_confirm))
    click.echo(f"platform payment {payment.ref}: {payment.amount} đ for {dossier.code} "
               + ("failed" if fail else f"paid, bank transaction {transfer.bank_ref}"))
    outcome = "delivered"
    if not no_confirm:
        result = deliver("portal", portal_builder(transfer, keys.portal_secret, portal_ref=payment.ref,
                                                  dossier_code=dossier.code, procedure_code=dossier.procedure.code,
                                                  code=status),
                         transport_for(url, in_process), time_scale=time_scale, max_attempts=max_attempts)
        for attempt in result.attempts:
            click.echo(f"  confirmation attempt {attempt.number}: HTTP {attempt.status} {attempt.code or ''} "
                       f"{attempt.verdict}")
        outcome = result.outcome
    else:
        click.echo("confirmation withheld (--no-confirm): the service's status query will find it")
    if bank_callback and not fail:
        send(bank_callback, transfer, url=url, in_process=in_process, time_scale=time_scale,
             max_attempts=max_attempts, rng=rng)
    sys.exit(0 if outcome in ("delivered", "duplicate") else 2)


@bank_cli.command("portal-export")
@click.option("--month", required=True, help="The month YYYY-MM (dossiers whose processing started in it).")
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False),
              help="The unit export to write: .csv (semicolon-separated, as the portal's spreadsheet) or .xlsx "
                   "(with a second sheet of dossiers).")
@click.option("--dossiers-out", type=click.Path(dir_okay=False), help="Also write the per-dossier export (CSV).")
@click.option("--unsynced", multiple=True, metavar="CODE",
              help="A deliberate difference: the portal never received this dossier's events.")
@click.option("--flag", "flags", multiple=True, metavar="CODE=N",
              help="A deliberate difference: the portal holds flag N (0, 1, 2) for this dossier.")
@with_appcontext
def portal_export(month: str, out: str, dossiers_out: str | None, unsynced: tuple[str, ...],
                  flags: tuple[str, ...]) -> None:
    """The national portal's monthly export of the 766 online payment index (item 3.6) per unit,
    computed as the portal would from what it received (simulator/portal_export.py)."""
    from simulator import portal_export as export

    try:
        year, number = (int(x) for x in month.split("-"))
        if not (2000 <= year <= 2100 and 1 <= number <= 12) or len(month) != 7:
            raise ValueError
    except ValueError:
        raise click.BadParameter("a month YYYY-MM", param_hint="--month") from None
    overrides: dict[str, int] = {}
    for item in flags:
        code, _, value = item.rpartition("=")
        if not code or value not in ("0", "1", "2"):
            raise click.BadParameter(f"{item!r}: CODE=0, 1 or 2", param_hint="--flag")
        overrides[code] = int(value)
    dossiers = export.portal_dossiers(db.session, month, unsynced=set(unsynced), flags=overrides)
    units = export.portal_units(db.session, dossiers)
    target = Path(out)
    if target.suffix.lower() == ".xlsx":
        target.write_bytes(export.write_xlsx(units, dossiers, month))
    else:
        target.write_bytes(export.write_units_csv(units))
    if dossiers_out:
        Path(dossiers_out).write_bytes(export.write_dossiers_csv(dossiers))
    numerator, denominator = sum(u.numerator for u in units), sum(u.denominator for u in units)
    click.echo(f"portal export {month}: {len(units)} units, {numerator} of {denominator} dossiers paid online "
               f"-> {target}")


@bank_cli.command("storm")
@click.option("--rate", type=float, required=True, help="Callbacks per second to aim at.")
@click.option("--duration", type=float, required=True, help="Seconds.")
@click.option("--duplicates", type=float, default=0.0, show_default=True,
              help="Share of callbacks that repeat an earlier transfer (0 to 1).")
@click.option("--via", type=click.Choice(VIAS + ("mix",)), default="mix", show_default=True)
@click.option("--account", help="The credited account (default: every active collection account).")
@click.option("--threads", type=int, default=16, show_default=True)
@click.option("--url", help="The service's base URL (default: SIMULATOR_TARGET_URL or http://127.0.0.1:5000).")
@click.option("--seed", type=int)
@click.option("--json-out", type=click.Path(dir_okay=False, path_type=Path), help="Write the figures as JSON.")
@with_appcontext
def storm(rate: float, duration: float, duplicates: float, via: str, account: str | None, threads: int,
          url: str | None, seed: int | None, json_out: Path | None) -> None:
    """Drive load: signed callbacks at RATE per second for DURATION seconds, some of them repeats."""
    from simulator.storm import Storm

    if not 0 <= duplicates <= 1:
        raise click.BadParameter("between 0 and 1", param_hint="--duplicates")
    figures = Storm.from_app(current_app._get_current_object(), url=url, account=account, via=via, seed=seed) \
        .run(rate=rate, duration=duration, duplicates=duplicates, threads=threads)
    for key, value in figures.items():
        click.echo(f"{key}: {value}")
    if json_out:
        json_out.write_text(json.dumps(figures, indent=2), encoding="utf-8")

