"""MT940 statement import on SQLite and PostgreSQL: a statement the fast reader cannot read is
imported through the mt-940 package exactly as its plain twin; a broken one is refused whole
with ``statement_field_unreadable``, naming the line and the field, and nothing is stored."""
from __future__ import annotations

import io
import logging
import re

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from core.errors import ValidationError
from core.refusals import Refusal, refusal_text
from reconciliation.inbound.statement_import import import_statement
from reconciliation.models import BankTransaction

from .test_statement_limits import counts, statement


def quirky(data: bytes) -> bytes:
    """Every entry date written as four spaces (as ASN Bank does): the package reads each entry."""
    changed, n = re.subn(rb"(\n:61:\d{6})\d{4}", rb"\1    ", data)
    assert n >= 2
    return changed


def test_a_statement_read_by_the_package_imports_as_its_plain_twin(seeded, caplog):
    plain = statement("mt940", [8000, 9000, 12000])
    with caplog.at_level(logging.INFO, logger="reconciliation.inbound.statement_import"):
        summary = import_statement(seeded, io.BytesIO(quirky(plain)), filename="asn.sta", actor="test")
    # operations learn of a layout the fast reader does not know yet
    assert any("read in part by the mt-940 package (package)" in r.getMessage() for r in caplog.records)
    assert [section.entries for section in summary.sections] == [3]
    rows = seeded.execute(select(BankTransaction.bank_ref, BankTransaction.amount, BankTransaction.booked_on)
                          .order_by(BankTransaction.amount)).all()
    assert [(ref, amount) for ref, amount, _ in rows] == [("FT26LIM000001", 8000), ("FT26LIM000002", 9000),
                                                         ("FT26LIM000003", 12000)]
    # the plain file is the same transfers: nothing new
    again = import_statement(seeded, io.BytesIO(plain), filename="plain.sta", actor="test")
    assert [(s.entries, s.new_transactions, s.known_transactions) for s in again.sections] == [(3, 0, 3)]
    assert seeded.execute(select(BankTransaction.bank_ref, BankTransaction.amount, BankTransaction.booked_on)
                          .order_by(BankTransaction.amount)).all() == rows


def test_a_broken_field_is_refused_with_its_line_and_field(app, seeded):
    data = statement("mt940", [8000, 9000])
    lines = data.decode().split("\n")
    at = [i for i, line in enumerate(lines) if line.startswith(":61:")][1]
    lines[at] = re.sub(r"C9000,", "C90,0,0", lines[at])
    with pytest.raises(ValidationError) as refused:
        import_statement(seeded, io.BytesIO("\n".join(lines).encode()), filename="s.sta", actor="test")
    exc = refused.value
    assert exc.code == Refusal.STATEMENT_FIELD_UNREADABLE and exc.status == 422
    assert (exc.params["line"], exc.params["field"]) == (at + 1, ":61:")
    assert exc.params["problem"] == (f"line {at + 1}, field :61:: amount '90,0,0' is not a number "
                                     "(digits and a decimal comma)")
    with app.test_request_context():
        with force_locale("vi"):
            assert refusal_text(exc).startswith(f"Không đọc được sao kê ở dòng {at + 1}, trường :61:.")
        with force_locale("en"):
            assert refusal_text(exc).startswith(f"The statement cannot be read at line {at + 1}, field :61:.")
    assert counts(seeded) == (0, 0, 0, 0)
