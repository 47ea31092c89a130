"""What the statement readers refuse, and the exact words they refuse it with: a finance
officer must be able to open the file at the place the message names."""
from __future__ import annotations

import io
from datetime import date
from pathlib import Path

import pytest

from bank_adapters.statements import (
    SectionEnd, StatementEntry, StatementError, balance_proof, detect_format, read_statement,
)
from bank_adapters.statements.labels import role_of
from bank_adapters.statements.tabular import read_tabular

FIXTURES = Path(__file__).parent / "fixtures" / "statements"


def read_all(data: bytes, **kwargs):
    return list(read_statement(io.BytesIO(data), **kwargs))


def error_of(data: bytes, **kwargs) -> str:
    with pytest.raises(StatementError) as caught:
        read_all(data, **kwargs)
    return str(caught.value)


def fixture(name: str) -> bytes:
    return (FIXTURES / name).read_bytes()


@pytest.mark.parametrize("name, message", [
    ("camt053_fraction.xml", "line 13 (entry 2), AcctSvcrRef FT2: amount '1500000.50' is not a whole number of đồng"),
    ("camt053_usd.xml", "line 13 (entry 2), AcctSvcrRef FT2: amount '250.00' in currency 'USD': only VND is read"),
    ("camt053_entity_bomb.xml", "camt.053: a document type declaration (DTD) is not allowed in an uploaded "
                                "statement (entity expansion and external entities are refused)"),
    ("camt053_external_entity.xml", "camt.053: a document type declaration (DTD) is not allowed in an uploaded "
                                    "statement (entity expansion and external entities are refused)"),
    ("camt054_notification.xml", "XML in namespace camt.054.001.02, not a camt.053 statement (only "
                                 "BankToCustomerStatement, camt.053.001.02 and later, is read)"),
    ("mt940_fraction.sta", "line 7, field :61:: amount '1500000,50' is not a whole number of đồng"),
    ("mt940_usd.sta", "line 4, field :60F:: balance in currency USD: only VND statements are read"),
    ("fraction.csv", "line 5: credit amount '1.500.000,5' is not a whole number of đồng"),
    ("usd.csv", "line 3: currency USD: only VND statements are read"),
    ("no_header.csv", "line 1: no header row (with date, debit, credit and description columns) in the 4 rows "
                      "of this title block"),
    ("garbage.bin", "unrecognised file: not a camt.053 XML, MT940, xlsx, xls or CSV statement (binary content "
                    "that is neither a zip nor an OLE2 file)"),
])
def test_malformed_fixture_files(name, message):
    assert error_of(fixture(name)) == message


def test_entries_before_a_fault_are_yielded_then_the_fault_stops_the_file():
    events = []
    with pytest.raises(StatementError, match="entry 2"):
        for event in read_statement(io.BytesIO(fixture("camt053_fraction.xml"))):
            events.append(event)
    assert [e.transfer.bank_ref for e in events if isinstance(e, StatementEntry)] == ["FT1"]


def test_a_truncated_xml_file_names_the_line():
    assert error_of(fixture("camt053_truncated.xml")).startswith(
        "line 65: camt.053: the XML is malformed: Premature end of data in tag Ntry")


def test_the_entity_bomb_is_refused_even_when_the_dtd_is_past_the_first_bytes():
    padded = fixture("camt053_entity_bomb.xml").replace(
        b'<?xml version="1.0" encoding="UTF-8"?>\n',
        b'<?xml version="1.0" encoding="UTF-8"?>\n<!--' + b" " * 70_000 + b"-->\n")
    assert b"<!DOCTYPE" not in padded[:65536]
    assert error_of(padded, fmt="camt053") == (
        "camt.053: no root element in the first 64 KiB (an over-long prolog is refused)")


def test_external_entity_content_never_reaches_a_transfer():
    with pytest.raises(StatementError):
        for event in read_statement(io.BytesIO(fixture("camt053_external_entity.xml")), fmt="camt053"):
            assert not (isinstance(event, StatementEntry) and "root:" in event.transfer.content)


CAMT_HEAD = (b'<?xml version="1.0"?><Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.02">'
             b"<BkToCstmrStmt><Stmt><Acct><Id><Othr><Id>113000012345</Id></Othr></Id></Acct>")
CAMT_TAIL = b"</Stmt></BkToCstmrStmt></Document>"


def camt(entry: bytes) -> bytes:
    return CAMT_HEAD + b"\n" + entry + CAMT_TAIL


@pytest.mark.parametrize("entry, message", [
    (b'<Ntry><Amt Ccy="VND">1000</Amt><CdtDbtInd>CRDX</CdtDbtInd><BookgDt><Dt>2026-11-25</Dt></BookgDt>'
     b"<AcctSvcrRef>R1</AcctSvcrRef></Ntry>", "line 2 (entry 1): CdtDbtInd 'CRDX' is neither CRDT nor DBIT, AcctSvcrRef R1"),
    (b'<Ntry><Amt Ccy="VND">1000</Amt><CdtDbtInd>CRDT</CdtDbtInd><Sts>RJCT</Sts>'
     b"<BookgDt><Dt>2026-11-25</Dt></BookgDt></Ntry>", "line 2 (entry 1): entry status 'RJCT' is not BOOK or PDNG"),
    (b'<Ntry><Amt Ccy="VND">1000</Amt><CdtDbtInd>CRDT</CdtDbtInd></Ntry>', "line 2 (entry 1): entry without BookgDt"),
    (b'<Ntry><Amt Ccy="VND">1.500</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-25</Dt></BookgDt></Ntry>',
     "line 2 (entry 1): amount '1.500' is not a whole number of đồng"),  # a decimal point, never a thousands mark
    (b'<Ntry><Amt Ccy="VND">1,500</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-25</Dt></BookgDt></Ntry>',
     "line 2 (entry 1): amount '1,500' is not a decimal number"),
    (b'<Ntry><Amt Ccy="VND">1000</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>25/11/2026</Dt></BookgDt></Ntry>',
     "line 2 (entry 1): '25/11/2026' is not an ISO 8601 date"),
    (b'<Ntry><Amt Ccy="VND">1000</Amt><CdtDbtInd>CRDT</CdtDbtInd><BookgDt><Dt>2026-11-25</Dt></BookgDt>'
     b"<NtryDtls><TxDtls/><TxDtls/></NtryDtls></Ntry>",
     "line 2 (entry 1): a batch entry of 2 transactions (several TxDtls) is not supported"),
])
def test_camt053_entry_faults(entry, message):
    assert error_of(camt(entry)) == message


def test_camt053_without_a_balance_is_read_but_cannot_be_proved():
    events = read_all(camt(b'<Ntry><Amt Ccy="VND">1000</Amt><CdtDbtInd>CRDT</CdtDbtInd>'
                           b"<BookgDt><Dt>2026-11-25</Dt></BookgDt></Ntry>"))
    [end] = [e for e in events if isinstance(e, SectionEnd)]
    proof = balance_proof(end)
    assert not proof.ok and proof.difference is None
    assert proof.message == ("account 113000012345: the statement has no opening and no closing balance, "
                             "so it cannot be proved")
    # no AcctSvcrRef: a reference is made from the entry, and said to be made
    [entry] = [e for e in events if isinstance(e, StatementEntry)]
    assert entry.synthetic_ref and entry.transfer.bank_ref.startswith("NOREF-")


def test_old_and_unknown_xml_are_refused_by_detection():
    assert error_of(CAMT_HEAD.replace(b"001.02", b"001.01") + CAMT_TAIL) == (
        "camt.053 version 001.01 is too old: 001.02 and later are read")
    assert error_of(b"<?xml version='1.0'?><root/>") == (
        "XML, but not a camt.053 statement: no urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN namespace at its start")
    assert detect_format(CAMT_HEAD.replace(b"001.02", b"001.13")) == "camt053"


def test_html_saved_as_xls_is_named_for_what_it_is():
    message = error_of(b"<html><body><table><tr><td>Ngay</td></tr></table></body></html>")
    assert message.startswith("the file is an HTML page (some banks save one under an .xls name)")


def test_an_empty_file():
    assert error_of(b"") == "the file is empty"


MT = b":20:S1\n:25:113000012345\n:60F:C261124VND1000,\n"


@pytest.mark.parametrize("body, message", [
    (b":61:2611251125X1000,NTRFNONREF//R1\n", "line 4, field :61:: '2611251125X1000,NTRFNONREF//R1' does "
                                             "not read as YYMMDD[MMDD]C|D|RC|RD amount type refs"),
    (b":61:2611251125C1.000,NTRFNONREF//R1\n", "line 4, field :61:: amount '1.000,' is not a number (digits and a "
                                               "decimal comma)"),
    (b":61:2613251125C1000,NTRFNONREF//R1\n", "line 4, field :61:: '261325' is not a YYMMDD date"),
    (b":61:2611251125C0,NTRFNONREF//R1\n", "line 4, field :61:: amount 0: an entry moves money"),
    (b":62F:C26112VND1000,\n", "line 4, field :62F:: balance 'C26112VND1000,' does not read as C|D YYMMDD "
                                 "currency amount"),
    (b":61:2611251125C1000,NTRFNONREF//R1\nstray text\n:62F:C261125VND2000,\n", None),
])
def test_mt940_field_faults(body, message):
    if message is None:  # a second line of :61: is its supplementary details, not a fault
        events = read_all(MT + body)
        [entry] = [e for e in events if isinstance(e, StatementEntry)]
        assert entry.transfer.extra["supplementary"] == "stray text"
        return
    assert error_of(MT + body) == message


def test_mt940_structure_faults():
    assert error_of(b":25:113000012345\n:20:S1\n:61:2611251125C1000,NTRF//R1\n", fmt="mt940") == (
        "line 1: field :25: before the first :20:")
    assert error_of(b":20:S1\n:60F:C261124VND1000,\n:61:2611251125C1000,NTRF//R1\n", fmt="mt940") == (
        "line 3: statement 'S1' has no :25: account before its entries")
    # text after a field's value: the fast reader stops, the mt-940 package reads it (and ignores the text)
    [start, end] = read_all(b":20:S1\n:25:1130\ntext after the account\n", fmt="mt940")
    assert (start.account, end.entries, end.reader) == ("1130", 0, "package")
    assert error_of(b"nothing here\n", fmt="mt940") == "MT940: no :20: statement block in the file"


def test_mt940_without_bank_reference_gets_a_synthetic_one():
    events = read_all(MT + b":61:2611251125C1000,NTRFNONREF\n:86:LE PHI\n:62F:C261125VND2000,\n")
    [entry] = [e for e in events if isinstance(e, StatementEntry)]
    assert entry.synthetic_ref and entry.transfer.bank_ref.startswith("NOREF-")
    assert entry.transfer.extra == {}  # NONREF is no customer reference


# -- Excel / CSV rows -----------------------------------------------------------------------------

TITLE = [["SAO KÊ TÀI KHOẢN / STATEMENT OF ACCOUNT"], ["Số tài khoản / Account number:", "113000012345"],
         ["STT", "Ngày giao dịch", "Số tham chiếu", "Số tiền ghi nợ", "Số tiền ghi có", "Mô tả"]]


def rows_error(rows) -> str:
    numbered = [("S", i, row) for i, row in enumerate(rows, 1)]
    with pytest.raises(StatementError) as caught:
        list(read_tabular(numbered))
    return str(caught.value)


def rows_entries(rows):
    numbered = [("S", i, row) for i, row in enumerate(rows, 1)]
    return [e for e in read_tabular(numbered) if isinstance(e, StatementEntry)]


@pytest.mark.parametrize("row, message", [
    ([1, "32/13/2026", "FT1", None, 1000, "X"], "sheet 'S' row 4: date '32/13/2026' is not a DD/MM/YYYY date"),
    ([1, "25/11/2026", "FT1", 1000, 2000, "X"], "sheet 'S' row 4: both a debit (1000) and a credit (2000) on one line"),
    ([1, "25/11/2026", "FT1", None, None, "X"],
     "sheet 'S' row 4: an entry without an amount (debit and credit both empty or zero)"),
    ([1, "25/11/2026", "FT1", None, "một triệu", "X"], "sheet 'S' row 4: credit amount 'một triệu' is not an amount"),
    ([1, "25/11/2026", "FT1", "1.50.000", None, "X"],
     "sheet 'S' row 4: debit amount '1.50.000' has misplaced thousands separators"),
    ([1, "25/11/2026", "FT1", None, 1500.5, "X"], "sheet 'S' row 4: credit amount '1500.5' is not a whole number of đồng"),
    ([1, None, "FT1", None, 1000, "X"], "sheet 'S' row 4: an entry without a date, and no date above it to fill down"),
    ([1, "25/11/2026", "FT1", None, "-1.000", "X"], "sheet 'S' row 4: a negative credit (-1000)"),
])
def test_unreadable_entry_rows_are_errors_never_dropped(row, message):
    assert rows_error([*TITLE, row]) == message


def test_header_missing_within_forty_rows():
    rows = [["SAO KÊ TÀI KHOẢN / STATEMENT OF ACCOUNT"], *([["ghi chú"]] * 45), TITLE[2]]
    assert rows_error(rows) == ("sheet 'S' row 1: no header row (with date, debit, credit and description columns) "
                                "in the first 40 rows of this section")


def test_header_without_an_account_unless_the_caller_names_it():
    rows = [["SAO KÊ TÀI KHOẢN"], TITLE[2], [1, "25/11/2026", "FT1", None, 1000, "X"]]
    assert rows_error(rows) == ('sheet \'S\' row 2: header row found, but no account number ("Số tài khoản / '
                                'Account number: ...") in the title block above it')
    numbered = [("S", i, row) for i, row in enumerate(rows, 1)]
    [entry] = [e for e in read_tabular(numbered, account="0011000998877") if isinstance(e, StatementEntry)]
    assert entry.transfer.account == "0011000998877"


def test_a_second_opening_balance_in_one_section_is_an_error():
    rows = [*TITLE[:2], ["Số dư đầu kỳ / Opening balance:", 100], TITLE[2], [1, "25/11/2026", "FT1", None, 1000, "X"],
            ["Số dư đầu kỳ / Opening balance:", 999]]
    assert rows_error(rows) == ("sheet 'S' row 6: a second opening balance (999) for account 113000012345, which "
                                "already has 100; a new account's section must start with its title block")


def test_rows_that_are_not_entries():
    rows = [*TITLE,
            [1, "25/11/2026", "FT1", None, "1.000", "CONG TY ABC NOP LE PHI"],  # "Công ty": not a total
            [None, "Cộng ngày 25/11/2026", None, "0", "1.000", None],         # a daily total
            [2, "25/11/2026", "FT2", "2,000", None, "Tổng hợp phí"],            # "Tổng hợp": not a total
            ["TỔNG CỘNG", None, None, "2.000", "1.000"],
            [None, "Người lập biểu", None, "Kế toán trưởng", "Giám đốc"],       # signatures under amounts
            ["Ghi chú: sao kê có giá trị như bản gốc"]]
    entries = rows_entries(rows)
    assert [(e.transfer.bank_ref, e.transfer.direction, e.transfer.amount, e.transfer.content) for e in entries] == [
        ("FT1", "in", 1000, "CONG TY ABC NOP LE PHI"), ("FT2", "out", 2000, "Tổng hợp phí")]


def test_currency_cells():
    rows = [TITLE[0], ["Loại tiền / Currency:", "Việt Nam Đồng"], *TITLE[1:], [1, "25/11/2026", "FT1", None, 1, "X"]]
    assert len(rows_entries(rows)) == 1
    rows[1] = ["Loại tiền / Currency:", "USD (Đô la Mỹ)"]
    assert rows_error(rows) == "sheet 'S' row 2: currency USD: only VND statements are read"


def test_amount_spellings():
    rows = [*TITLE] + [[i, "25/11/2026", f"FT{i}", None, amount, "X"] for i, amount in enumerate(
        ["1.500.000", "1,500,000", "1500000", 1500000, 1500000.0, "1.500.000 VND", "1500000.00", " 1 500 000 ₫"], 1)]
    assert [e.transfer.amount for e in rows_entries(rows)] == [1_500_000] * 8


def test_date_spellings():
    rows = [*TITLE] + [[i, when, f"FT{i}", None, 1000, "X"] for i, when in enumerate(
        ["25/11/2026", "25-11-2026", "25.11.2026", "2026-11-25", "5/1/2026", "25/11/2026 7:05", date(2026, 11, 25)], 1)]
    assert [e.booking_date for e in rows_entries(rows)] == [date(2026, 11, 25)] * 4 + [date(2026, 1, 5)] + [
        date(2026, 11, 25)] * 2


@pytest.mark.parametrize("label, role", [
    ("Ngày GD/Date", "booking_date"), ("Số tiền ghi có", "credit"), ("Có / Credit", "credit"), ("GHI CÓ", "credit"),
    ("ghi co", "credit"), ("Nợ / Debit", "debit"), ("NỢ", "debit"), ("STT / No.", "seq"), ("No.", "seq"),
    ("Số dư TK / Account balance", "balance"), ("Số giao dịch / Transaction number", "ref"),
    ("SỐ BÚT TOÁN", "ref"), ("Ngày phát sinh / Transaction date", "txn_date"), ("Diễn giải/Narrative", "description"),
    ("Số tài khoản đối ứng", "counter_account"), ("Số dư đầu kỳ / Opening balance", None), ("Co", None),
])
def test_header_labels(label, role):
    assert role_of(label) == role
