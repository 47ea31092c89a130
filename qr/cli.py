"""``flask qr encode|decode|card``: VietQR from the command line (click only, no Flask app needed)."""
from __future__ import annotations

import json
import sys
import warnings
from datetime import datetime
from pathlib import Path

import click

from core.clock import parse_iso
from core.money import MoneyError, to_vnd

from .banks import lookup
from .vietqr import SERVICE_ACCOUNT, SERVICE_CARD, UnknownBankWarning, VietQR, VietQRError, decode, encode


def _fail(message: str) -> None:
    click.echo(f"error: {message}", err=True)
    sys.exit(1)


def _bin(bank: str) -> str:
    """A BIN as given, or the BIN of a bank named by code or short name."""
    bank = bank.strip()
    if bank.isdigit():
        return bank
    found = lookup(bank)
    if found is None:
        _fail(f"unknown bank {bank!r}: give its 6-digit BIN, code (e.g. ICB) or short name (e.g. VietinBank)")
    return found.bin


def _amount(text: str | None) -> int | None:
    if text is None:
        return None
    try:
        amount = to_vnd(text)
    except MoneyError as exc:
        _fail(f"--amount: {exc}")
    if amount <= 0:
        _fail(f"--amount: must be a positive number of đồng, got {text!r}")
    return amount


def _encode_or_fail(qr: VietQR) -> str:
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UnknownBankWarning)
        try:
            payload = encode(qr)
        except VietQRError as exc:
            _fail(str(exc))
    for warning in caught:
        click.echo(f"warning: {warning.message}", err=True)
    return payload


@click.group("qr")
def qr_cli() -> None:
    """VietQR payloads and printable cards."""


@qr_cli.command("encode")
@click.option("--bank", required=True, help="BIN (e.g. 970415), or bank code / short name.")
@click.option("--account", required=True, help="Account number (or card number with --card).")
@click.option("--amount", help="Amount in đồng; makes a dynamic (one-payment) code.")
@click.option("--purpose", help="Transfer content, at most 25 characters after removing diacritics.")
@click.option("--static", "static", is_flag=True, help="A static code, without an amount.")
@click.option("--card", is_flag=True, help="Transfer to a card number (QRIBFTTC) instead of an account.")
@click.option("--merchant-name", help="Optional beneficiary name (tag 59).")
def encode_command(bank, account, amount, purpose, static, card, merchant_name) -> None:
    """Print the VietQR payload for a transfer."""
    value = _amount(amount)
    if static and value is not None:
        _fail("--static and --amount do not go together: a static code carries no amount")
    qr = VietQR(
        bin=_bin(bank),
        account=account.strip(),
        amount=value,
        purpose=purpose,
        service_code=SERVICE_CARD if card else SERVICE_ACCOUNT,
        merchant_name=merchant_name,
        point_of_initiation="static" if value is None else "dynamic",
    )
    click.echo(_encode_or_fail(qr))


@qr_cli.command("decode")
@click.argument("payload")
def decode_command(payload: str) -> None:
    """Print the fields of a VietQR PAYLOAD as JSON ('-' reads it from standard input)."""
    if payload == "-":
        payload = sys.stdin.read()
    try:
        decoded = decode(payload.strip("\r\n"))
    except VietQRError as exc:
        _fail(str(exc))
    for note in decoded.warnings:  # on stderr: stdout stays the contract's one JSON object
        click.echo(f"warning: {note}", err=True)
    click.echo(json.dumps(decoded.to_dict(), ensure_ascii=False))


@qr_cli.command("card")
@click.option("--bank", required=True, help="BIN, code or short name of the collecting bank.")
@click.option("--account", required=True)
@click.option("--holder", required=True, help="Account holder's name, as the bank knows it.")
@click.option("--amount", help="Amount in đồng (omit for a static card).")
@click.option("--content", "content", help="Transfer content (the QR's purpose), ≤ 25 characters.")
@click.option("--dossier", "dossier_code", help="Dossier code, e.g. 000.00.12.H26-261125-0001.")
@click.option("--procedure", "procedure_name", help="Procedure name.")
@click.option("--agency", "agency_name", help="Collecting agency.")
@click.option("--valid-until", help="ISO 8601 time with offset, e.g. 2026-11-26T17:00:00+07:00.")
@click.option("--layout", type=click.Choice(["a6", "receipt80"]), default="a6", show_default=True)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False, path_type=Path),
              help="Output file; .pdf or .png.")
def card_command(bank, account, holder, amount, content, dossier_code, procedure_name, agency_name,
                 valid_until, layout, out: Path) -> None:
    """Write a printable VietQR card (A6 or 80 mm receipt) as PDF or PNG."""
    from .card import CardInfo, render_card

    fmt = out.suffix.lower().lstrip(".")
    if fmt not in ("pdf", "png"):
        _fail(f"--out must end in .pdf or .png, got {out.name!r}")
    value = _amount(amount)
    bin_ = _bin(bank)
    qr = VietQR(bin=bin_, account=account.strip(), amount=value, purpose=content or None,
                point_of_initiation="static" if value is None else "dynamic")
    payload = _encode_or_fail(qr)
    until: datetime | None = None
    if valid_until:
        try:
            until = parse_iso(valid_until)
        except ValueError as exc:
            _fail(f"--valid-until: {exc}")
    info = CardInfo(
        payload=payload,
        bank_bin=bin_,
        account=qr.account,
        account_holder=holder,
        amount=value,
        transfer_content=decode(payload).purpose,
        dossier_code=dossier_code,
        procedure_name=procedure_name,
        agency_name=agency_name,
        valid_until=until,
    )
    try:
        data = render_card(info, layout=layout, fmt=fmt)
    except ValueError as exc:
        _fail(str(exc))
    out.write_bytes(data)
    click.echo(f"wrote {out} ({layout}, {fmt.upper()}, {len(data):,} bytes)")
