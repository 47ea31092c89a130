"""The statement readers on hand-written files of every shape (tests/bank_adapters/fixtures/
statements/): every field the specification lists, read to the exact value."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone
from pathlib import Path

import pytest

from bank_adapters.statements import (
    SectionEnd, SectionStart, StatementEntry, balance_proof, detect_format, read_statement,
)
from bank_adapters.statements import sources
from bank_adapters.statements.tabular import read_tabular

FIXTURES = Path(__file__).parent / "fixtures" / "statements"
UTC = timezone.utc


def read(name: str):
    with open(FIXTURES / name, "rb") as stream:
        events = list(read_statement(stream))
    starts = [e for e in events if isinstance(e, SectionStart)]
    entries = [e for e in events if isinstance(e, StatementEntry)]
    ends = [e for e in events if isinstance(e, SectionEnd)]
    # Events come in order: start, its entries, its end, for each section.
    index = -1
    for event in events:
        if isinstance(event, SectionStart):
            assert event.index == index + 1
            index = event.index
        else:
            assert event.section_index == index if isinstance(event, StatementEntry) else event.index == index
    return starts, entries, ends


def by_ref(entries):
    return {e.transfer.bank_ref: e for e in entries}


@pytest.mark.parametrize("name, fmt", [
    ("camt053_001_02.xml", "camt053"), ("camt053_001_04.xml", "camt053"), ("camt053_001_08.xml", "camt053"),
    ("mt940_two_blocks.sta", "mt940"), ("vcb.xlsx", "xlsx"), ("vcb.xls", "xls"), ("vcb_semicolon.csv", "csv"),
    ("bidv_utf16.csv", "csv"), ("vietinbank_comma.csv", "csv"),
])
def test_the_format_is_told_from_the_content(name, fmt):
    assert detect_format((FIXTURES / name).read_bytes()[:65536]) == fmt


# -- camt.053 -------------------------------------------------------------------------------------

def test_camt053_001_02_two_statements_every_field():
    starts, entries, ends = read("camt053_001_02.xml")
    assert starts == [
        SectionStart(0, "113000012345", "VND", "STMT-113000012345-20261125", "970415", date(2026, 11, 25),
                     date(2026, 11, 25), 125_000_000),
        SectionStart(1, "VN12BFTV0011001234567", "VND", "STMT-VN-20261125", None, date(2026, 11, 25),
                     date(2026, 11, 25), -2_000_000),
    ]
    refs = by_ref(entries)
    credit = refs["FT26329000123456"].transfer
    assert credit.account == "113000012345" and credit.bank_bin == "970415"
    assert credit.amount == 1_500_000 and credit.direction == "in"
    assert credit.booked_at == datetime(2026, 11, 25, 7, 5, 33, tzinfo=UTC)
    assert credit.value_date == date(2026, 11, 25)
    # two Ustrd parts joined with a space
    assert credit.content == ("MBVCB.3278907687.HS7K2M9QXA4 LE PHI CAP GCN.CT tu 0011001234567 "
                              "NGUYEN VAN AN toi 113000012345 UBND QUAN BA DINH")
    assert (credit.counter_name, credit.counter_account, credit.counter_bank) == (
        "NGUYEN VAN AN", "0011001234567", "BFTVVNVX")
    assert "end_to_end_id" not in credit.extra  # NOTPROVIDED is no id
    assert refs["FT26329000123456"].line_no == 37 and refs["FT26329000123456"].booking_date == date(2026, 11, 25)

    debit = refs["FT26329000123457"].transfer
    assert (debit.direction, debit.amount, debit.counter_name, debit.counter_account) == (
        "out", 250_000, "TRAN THI BINH", "19031234567890")
    assert debit.booked_at == datetime(2026, 11, 24, 17, 0, tzinfo=UTC)  # 00:00 ICT of the booking date

    reversal = refs["FT26329000123458"].transfer
    assert reversal.reversal and reversal.direction == "out" and reversal.amount == 65_000  # "65000.00"
    assert reversal.value_date == date(2026, 11, 24)

    pending = refs["FT26329000123459"].transfer
    assert pending.pending and not credit.pending

    assert ends[0] == SectionEnd(0, "113000012345", 125_000_000, 126_185_000, 1_500_000, 315_000, 4, 1,
                                 date(2026, 11, 25), date(2026, 11, 25))
    assert ends[1] == SectionEnd(1, "VN12BFTV0011001234567", -2_000_000, -1_000_000, 1_000_000, 0, 1, 0,
                                 date(2026, 11, 25), date(2026, 11, 25))
    assert all(balance_proof(end).ok for end in ends)
    assert refs["FT26329000200001"].transfer.account == "VN12BFTV0011001234567"


def test_camt053_001_04_transaction_amount_bicfi_end_to_end_and_escaped_content():
    starts, entries, ends = read("camt053_001_04.xml")
    assert starts[0].bank_bin == "970436"
    # FrDtTm/ToDtTm given in UTC are the Indochina days they fall on
    assert (starts[0].period_start, starts[0].period_end) == (date(2026, 11, 26), date(2026, 11, 26))
    [entry] = entries
    t = entry.transfer
    assert t.bank_ref == "5213.261126.081500"
    assert t.booked_at == datetime(2026, 11, 26, 1, 15, tzinfo=UTC)  # DtTm without offset is ICT
    assert t.content == 'CT nhanh 247 den: HS9ABCDEFGH Lệ phí trước bạ & phí "thẩm định" <nhà đất>'
    assert (t.counter_name, t.counter_bank, t.virtual_account) == ("Lê Hoàng Cường", "VTCBVNVX", "VQRQ00012345")
    assert t.extra["end_to_end_id"] == "E2E-HS9ABCDEFGH"
    assert balance_proof(ends[0]).ok and ends[0].opening_balance == 0


def test_camt053_001_08_status_code_party_and_previous_closing_as_opening():
    starts, entries, ends = read("camt053_001_08.xml")
    assert starts[0].opening_balance == 10_000_000  # PRCD
    booked, pending = entries
    assert booked.transfer.counter_name == "PHAM MINH DUC"  # Dbtr/Pty/Nm
    assert booked.transfer.counter_bank == "970436"
    assert booked.transfer.booked_at == datetime(2026, 11, 27, 2, 30, 12, 250000, tzinfo=UTC)
    assert pending.transfer.pending and pending.transfer.content == "PHI DICH VU THANG 11"  # AddtlNtryInf
    assert (ends[0].credits, ends[0].debits, ends[0].pending) == (450_000, 0, 1)
    assert balance_proof(ends[0]).ok


def test_camt053_broken_balance_is_read_and_its_proof_fails_by_the_difference():
    _, entries, ends = read("camt053_broken_balance.xml")
    assert len(entries) == 2
    proof = balance_proof(ends[0])
    assert not proof.ok and proof.expected_closing == 10_450_000 and proof.difference == -100_000
    assert "10.350.000" in proof.message and "difference -100.000 đ" in proof.message


# -- MT940 ----------------------------------------------------------------------------------------

def test_mt940_two_blocks_reversals_and_multi_line_details():
    starts, entries, ends = read("mt940_two_blocks.sta")
    assert [(s.account, s.statement_ref, s.bank_bin, s.opening_balance) for s in starts] == [
        ("113000012345", "STMT20261125", None, 125_000_000),   # ICBVVNVX/...: a BIC, not a BIN
        ("118000067890", "STMT20261125B", "970415", -500_000),  # :60M: D = overdrawn
    ]
    refs = by_ref(entries)
    first = refs["FT26329000123456"]
    assert first.line_no == 6 and first.booking_date == date(2026, 11, 25)
    # a 65-character :86: line was cut by the bank: joined as is
    assert first.transfer.content == ("MBVCB.3278907687.HS7K2M9QXA4 LE PHI CAP GCN.CT tu 0011001234567 "
                                      "NGUYEN VAN AN toi 113000012345 UBND QUAN BA DINH")
    assert first.transfer.booked_at == datetime(2026, 11, 24, 17, 0, tzinfo=UTC)
    # a shorter line ended with a line break: kept
    assert refs["FT26329000123457"].transfer.content == "HOAN TIEN HS3QX8Z2KPA\nTHEO QD 123/QD-UBND"
    assert refs["FT26329000123457"].transfer.extra["customer_ref"] == "HS3QX8Z2KPA"
    rc = refs["FT26329000123458"].transfer
    assert (rc.direction, rc.reversal, rc.value_date) == ("out", True, date(2026, 11, 24))
    assert rc.extra["supplementary"] == "TRA SOAT"
    rd = refs["FT26329000123459"].transfer
    assert (rd.direction, rd.reversal) == ("in", True)
    no_details = refs["FT26329000123460"]
    assert no_details.transfer.content == "" and no_details.booking_date == date(2026, 11, 25)
    assert ends[0] == SectionEnd(0, "113000012345", 125_000_000, 128_205_000, 3_520_000, 315_000, 5, 0,
                                 date(2026, 11, 25), date(2026, 11, 25))
    assert ends[1].closing_balance == 300_000 and balance_proof(ends[1]).ok
    assert refs["FT26329000300001"].transfer.bank_bin == "970415"


# -- Excel and CSV --------------------------------------------------------------------------------

def test_vietcombank_xlsx_first_label_variant():
    starts, entries, ends = read("vcb.xlsx")
    assert starts == [SectionStart(0, "0011000998877", "VND", None, None, date(2026, 11, 25), date(2026, 11, 25),
                                   5_000_000)]
    assert [(e.line_no, e.transfer.bank_ref, e.transfer.direction, e.transfer.amount) for e in entries] == [
        (10, "5213.251126.080102", "in", 1_500_000),
        (11, "5213.251126.102000", "in", 250_000),
        (12, "FT26329000000777", "out", 11_000),
    ]
    assert entries[0].transfer.booked_at == datetime(2026, 11, 25, 1, 1, 2, tzinfo=UTC)
    assert entries[1].transfer.content == "Lệ phí hộ tịch HS3QX8Z2KPA"
    assert ends == [SectionEnd(0, "0011000998877", 5_000_000, 6_739_000, 1_750_000, 11_000, 3, 0,
                               date(2026, 11, 25), date(2026, 11, 25))]


def test_vietcombank_xlsx_second_label_variant_has_no_reference_column():
    starts, entries, ends = read("vcb_en.xlsx")
    assert starts[0].opening_balance == 6_739_000  # "Số dư đầu kỳ / Opening balance: 6.739.000 VND"
    assert all(e.synthetic_ref and e.transfer.bank_ref.startswith("NOREF-") for e in entries)
    # two identical lines are two transfers: the key counts occurrences
    assert entries[0].transfer.bank_ref != entries[1].transfer.bank_ref
    assert entries[0].transfer.booked_at == datetime(2026, 11, 26, 2, 0, 5, tzinfo=UTC)  # Excel date-time cell
    assert entries[2].transfer.booked_at == datetime(2026, 11, 25, 17, 0, tzinfo=UTC)  # Excel date cell
    assert (ends[0].closing_balance, balance_proof(ends[0]).ok) == (7_719_000, True)
    # the same file read again gives the same references
    assert [e.transfer.bank_ref for e in read("vcb_en.xlsx")[1]] == [e.transfer.bank_ref for e in entries]


def test_vietinbank_xlsx_text_amounts_repeated_header_and_transaction_time():
    starts, entries, ends = read("vietinbank.xlsx")
    assert starts[0].opening_balance == 125_000_000
    assert [e.transfer.bank_ref for e in entries] == ["FT26329000123456", "FT26329000123460", "FT26329000123461"]
    first = entries[0].transfer
    assert first.content == "CT nhanh 247 den: HS7K2M9QXA4 LE PHI\nCAP GCN"
    assert first.booked_at == datetime(2026, 11, 25, 7, 5, 33, tzinfo=UTC)  # "Ngày phát sinh" time
    assert entries[0].booking_date == date(2026, 11, 25)                   # "Ngày hạch toán"
    assert [e.transfer.balance_after for e in entries] == [126_500_000, 126_600_000, 126_535_000]
    # closing balance from above the entries, signature line below them ignored
    assert ends[0] == SectionEnd(0, "113000012345", 125_000_000, 126_535_000, 1_600_000, 65_000, 3, 0,
                                 date(2026, 11, 25), date(2026, 11, 25))


def test_bidv_xlsx_fill_down_dates_totals_and_balances_below_the_entries():
    starts, entries, ends = read("bidv.xlsx")
    assert starts[0].opening_balance is None  # not yet seen: it is below the entries
    assert [(e.transfer.bank_ref, e.booking_date) for e in entries] == [
        ("1001", date(2026, 11, 25)), ("1002", date(2026, 11, 25)), ("1003", date(2026, 11, 25)),
        ("1004", date(2026, 11, 26))]
    assert ends[0] == SectionEnd(0, "12010000123456", 10_000_000, 11_450_000, 1_500_000, 50_000, 4, 0,
                                 date(2026, 11, 25), date(2026, 11, 26))


def test_two_accounts_in_one_sheet_and_a_sheet_of_notes():
    starts, entries, ends = read("two_accounts.xlsx")
    assert [s.account for s in starts] == ["113000012345", "118000067890"]
    assert [(e.section_index, e.transfer.account, e.transfer.bank_ref) for e in entries] == [
        (0, "113000012345", "FT001"), (1, "118000067890", "FT002"), (1, "118000067890", "FT003")]
    assert [(end.opening_balance, end.closing_balance) for end in ends] == [(1_000_000, 1_200_000), (0, 200_000)]
    assert all(balance_proof(end).ok for end in ends)


def test_xls_date_and_number_cells():
    starts, entries, ends = read("vcb.xls")
    assert starts[0].account == "0011000998877"
    assert entries[0].transfer.booked_at == datetime(2026, 11, 25, 1, 1, 2, tzinfo=UTC)
    assert entries[1].transfer.bank_ref == "5213251126"  # a number cell, without ".0"
    assert entries[1].transfer.content == "Phí SMS"
    assert balance_proof(ends[0]).ok


@pytest.mark.parametrize("name", ["vcb.xlsx", "vcb_en.xlsx", "vietinbank.xlsx", "bidv.xlsx", "two_accounts.xlsx"])
def test_both_xlsx_engines_read_the_same(name):
    path = FIXTURES / name
    with open(path, "rb") as stream:
        assert sources.xlsx_engine(stream) == "calamine"  # small files: the fast engine
        calamine = list(read_tabular(sources.xlsx_rows(stream, "calamine")))
    with open(path, "rb") as stream:
        openpyxl = list(read_tabular(sources.xlsx_rows(stream, "openpyxl")))
    assert calamine == openpyxl and len(calamine) >= 3


def test_csv_semicolon_bom_quoted_content_and_footer():
    starts, entries, ends = read("vcb_semicolon.csv")
    assert (starts[0].period_start, starts[0].period_end) == (date(2026, 11, 25), date(2026, 11, 26))
    assert entries[1].transfer.content == 'IBFT HS3QX8Z2KPA; LE PHI "HO TICH"'
    assert [e.line_no for e in entries] == [10, 11, 12]
    assert ends[0].closing_balance == 6_700_000 and balance_proof(ends[0]).ok


def test_csv_comma_multi_line_content_and_counterparty_columns():
    _, entries, ends = read("vietinbank_comma.csv")
    first, second = entries
    assert first.transfer.content == "CT nhanh 247 den: HS7K2M9QXA4 LE PHI\nCAP GCN"  # CRLF inside quotes → \n
    assert (first.transfer.counter_name, first.transfer.counter_account) == ("NGUYEN VAN AN", "0011001234567")
    assert second.line_no == 12  # the quoted content spans lines 10 and 11
    assert (second.transfer.counter_name, second.transfer.counter_account) == (None, None)
    assert balance_proof(ends[0]).ok


def test_csv_utf16_tab_separated_with_fill_down():
    _, entries, ends = read("bidv_utf16.csv")
    assert [e.booking_date.day for e in entries] == [25, 25, 25, 26]
    assert [e.transfer.balance_after for e in entries] == [10_200_000, 10_500_000, 10_450_000, 11_450_000]
    assert ends[0].opening_balance == 10_000_000 and balance_proof(ends[0]).ok


def test_csv_labels_without_diacritics_and_lower_case():
    starts, entries, ends = read("vcb_en_noref.csv")
    assert starts[0].opening_balance == 1_000_000
    assert len({e.transfer.bank_ref for e in entries}) == 3
    assert balance_proof(ends[0]).ok


def test_csv_two_accounts_and_broken_balance():
    _, _, ends = read("two_accounts.csv")
    assert [e.account for e in ends] == ["113000012345", "118000067890"]
    _, _, [end] = read("broken_balance.csv")
    proof = balance_proof(end)
    assert (proof.ok, proof.expected_closing, proof.difference) == (False, 1_200_000, 50_000)


def test_the_reader_takes_a_stream_that_cannot_seek():
    class Pipe(io.RawIOBase):
        def __init__(self, data: bytes) -> None:
            self.data = io.BytesIO(data)

        def readable(self) -> bool:
            return True

        def readinto(self, buffer) -> int:
            chunk = self.data.read(min(len(buffer), 1000))
            buffer[: len(chunk)] = chunk
            return len(chunk)

        def seekable(self) -> bool:
            return False

    for name in ("camt053_001_02.xml", "mt940_two_blocks.sta", "vcb.xlsx", "vcb_semicolon.csv", "vcb.xls"):
        data = (FIXTURES / name).read_bytes()
        piped = list(read_statement(Pipe(data)))
        assert piped == list(read_statement(io.BytesIO(data))) and piped
