"""The MT940 reader on real banks' layouts (tests/bank_adapters/data/mt940/, see its README):
every file reads, with the entries, balances and sums the ``mt-940`` package gives; the fast
path reads the plain files and the package what the fast reader cannot; a broken file is
refused naming its line and field."""
from __future__ import annotations

import io
from datetime import date
from decimal import Decimal
from pathlib import Path

import mt940
import pytest

from bank_adapters.statements import (
    SectionEnd, SectionStart, StatementEntry, StatementError, balance_proof, detect_format, read_statement,
)
from bank_adapters.statements.mt940_fields import account_of

CORPUS = Path(__file__).parent / "data" / "mt940"

# file: the path that reads each of its statements
PATHS = {
    "abnamro_header_lines.sta": ["fast", "fast"],
    "asn_envelope_spaces_entry_date.sta": ["package", "fast"],
    "betterplace_utf8_reference.sta": ["fast", "fast"],
    "bil_multiline.sta": ["fast"],
    "bom_no_final_newline.sta": ["fast"],
    "cr_only.sta": ["fast"],
    "crlf_plain.sta": ["fast"],
    "gvc_counterparty.sta": ["fast"],
    "ing_envelope_lines.sta": ["fast", "fast"],
    "ing_ibp_header.sta": ["fast"],
    "knab_amount_no_comma.sta": ["fast", "fast"],
    "mbank_collect_details.sta": ["fast"],
    "postfinance_62M_60M.sta": ["fast", "fast"],
    "rabobank_940_header.sta": ["fast", "fast", "fast"],
    "raphaelm_ns_intermediate.sta": ["fast", "fast", "fast"],
    "sberbank_non_swift.sta": ["fast"],
    "sns_supplementary.sta": ["fast", "fast"],
    "sparkasse_february_30.sta": ["fast+package"],
    "sparkasse_split_tag.sta": ["package"],
    "swift_envelope_inline.sta": ["fast", "fast"],
    "transaction_details_wrapped.sta": ["package"],
    "triodos.sta": ["fast"],
    "vn_bank_extras.sta": ["fast"],
    "whitespace_no_refs.sta": ["fast"],
    "wrapped_timestamp.sta": ["fast"],
}


def read(name: str):
    with open(CORPUS / name, "rb") as stream:
        events = list(read_statement(stream))
    starts = [e for e in events if isinstance(e, SectionStart)]
    entries = [e for e in events if isinstance(e, StatementEntry)]
    ends = [e for e in events if isinstance(e, SectionEnd)]
    return starts, entries, ends


def _int(amount: Decimal) -> int:
    assert amount == amount.to_integral_value()
    return int(amount)


def _ref(value: str | None) -> str | None:
    value = (value or "").strip()
    return None if value.upper() in ("", "NONREF") else value


def package_view(data: bytes) -> list[dict]:
    """Each statement as the mt-940 package reads the whole file (lines split as Python does)."""
    text = data.decode("utf-8-sig").replace("\r\n", "\n").replace("\r", "\n")
    view = []
    for statement in mt940.parse_statements(text, options=mt940.Options.all()):
        data_ = statement.data
        opening = next((data_[k] for k in ("final_opening_balance", "opening_balance", "intermediate_opening_balance")
                        if k in data_), None)
        closing = next((data_[k] for k in ("final_closing_balance", "closing_balance", "intermediate_closing_balance")
                        if k in data_), None)
        amounts = [_int(t.data["amount"].amount) for t in statement]
        view.append({
            "account": account_of(data_["account_identification"], 0)[0],
            "opening": None if opening is None else _int(opening.amount.amount),
            "closing": None if closing is None else _int(closing.amount.amount),
            "credits": sum(a for a in amounts if a > 0), "debits": -sum(a for a in amounts if a < 0),
            "entries": [(_int(t.data["amount"].amount), t.data["date"], t.data.get("entry_date") or t.data["date"],
                         _ref(t.data.get("bank_reference")), _ref(t.data.get("customer_reference")))
                        for t in statement],
        })
    return view


def our_view(name: str) -> list[dict]:
    starts, entries, ends = read(name)
    view = []
    for start, end in zip(starts, ends):
        mine = [e for e in entries if e.section_index == start.index]
        view.append({
            "account": start.account, "opening": end.opening_balance, "closing": end.closing_balance,
            "credits": end.credits, "debits": end.debits,
            "entries": [(e.transfer.amount if e.transfer.direction == "in" else -e.transfer.amount,
                         e.transfer.value_date, e.booking_date, None if e.synthetic_ref else e.transfer.bank_ref,
                         e.transfer.extra.get("customer_ref")) for e in mine],
        })
    return view


def test_the_corpus_has_every_variant():
    assert sorted(p.name for p in CORPUS.glob("*.sta") if not p.name.startswith("broken_")) == sorted(PATHS)
    assert len(PATHS) >= 20


@pytest.mark.parametrize("name", sorted(PATHS))
def test_every_file_reads_as_the_mt940_package_reads_it(name):
    data = (CORPUS / name).read_bytes()
    assert detect_format(data[:65536]) == "mt940"
    ours, theirs = our_view(name), package_view(data)
    assert ours == theirs
    assert sum(len(s["entries"]) for s in ours) >= 1


@pytest.mark.parametrize("name", sorted(PATHS))
def test_the_plain_files_take_the_fast_path_the_others_the_package(name):
    starts, entries, ends = read(name)
    assert [end.reader for end in ends] == PATHS[name]
    assert all(balance_proof(end).ok for end in ends), [balance_proof(end).message for end in ends]
    assert [start.index for start in starts] == [end.index for end in ends] == list(range(len(ends)))


def test_the_package_resumes_at_the_entry_the_fast_reader_could_not_read():
    starts, entries, ends = read("sparkasse_february_30.sta")
    first, second = entries
    # read by the fast path, yielded before the fault
    assert (first.line_no, first.transfer.value_date, first.transfer.amount) == (6, date(2024, 2, 29), 250_000)
    assert first.transfer.counter_account == "0011001234567" and first.transfer.counter_name == "NGUYEN VAN AN"
    # 30 February, read by the package as the month's last day; the line is the :61:'s
    assert (second.line_no, second.transfer.value_date, second.booking_date) == (9, date(2024, 2, 29), date(2024, 3, 1))
    assert (second.transfer.direction, second.transfer.amount) == ("out", 6_000)
    assert second.transfer.content == ("805?00ENTGELTABSCHLUSS?106666?20Pauschalen?3012345678?1122334\n45566")
    assert ends[0].closing_balance == 1_444_000 and ends[0].period_end == date(2024, 3, 1)


def test_a_statement_read_by_the_package_from_its_start_and_the_next_one_fast():
    starts, entries, ends = read("asn_envelope_spaces_entry_date.sta")
    assert [(s.account, s.opening_balance) for s in starts] == [("113000012345", 4_442_900),
                                                                ("113000012345", 3_792_900)]
    refund = entries[0]
    assert (refund.line_no, refund.transfer.value_date, refund.booking_date) == (6, date(2026, 11, 25),
                                                                              date(2026, 11, 25))
    assert refund.transfer.content == "0011001234567 nguyen van an\nHoan tien ho so HS3QX8Z2KPA"
    assert refund.transfer.extra == {"customer_ref": "0011001234567", "supplementary": "nguyen van an"}
    assert [e.line_no for e in entries[1:]] == [21, 29]


def test_a_tag_cut_over_two_lines_and_an_amount_on_the_next_line():
    starts, [entry], ends = read("sparkasse_split_tag.sta")
    assert (entry.line_no, entry.transfer.direction, entry.transfer.amount) == (5, "in", 300_000)
    assert entry.transfer.counter_name == "TRAN THI BINH" and "HS7K2M9QXA4" in entry.transfer.content


def test_envelope_header_lines_and_structured_details_on_the_fast_path():
    starts, entries, ends = read("ing_envelope_lines.sta")
    assert [(s.account, s.statement_ref) for s in starts] == [("113000012345", "P261125000009999"),
                                                              ("113000012345", "P261126000009999")]
    fee = entries[0].transfer
    assert (fee.bank_ref, fee.counter_account, fee.counter_name) == ("00000000000001", "0011001234567",
                                                                    "NGUYEN VAN AN")
    assert fee.extra == {"customer_ref": "5200150700013379", "supplementary": "/TRCD/00108/"}
    assert entries[1].transfer.counter_name == "TRAN THI BINH"
    starts, entries, ends = read("swift_envelope_inline.sta")
    assert [s.bank_bin for s in starts] == ["970415", "970415"]
    assert entries[0].transfer.content == ("MBVCB.3278907687.HS7K2M9QXA4 LE PHI CAP GCN.CT tu 0011001234567 "
                                           "NGUYEN VAN AN toi 113000012345 UBND QUAN BA DINH")
    assert [e.line_no for e in entries] == [6, 9, 18]


def test_several_86_fields_unknown_tags_and_non_swift_fields():
    _, entries, _ = read("rabobank_940_header.sta")
    assert entries[0].transfer.content == "Hoan tra\nKHONG DONG Y TRICH NO\nPHI DICH VU THANG 11\n20095731"
    assert entries[0].transfer.extra == {"customer_ref": "0121470966", "supplementary": "NGUYEN VAN AN"}
    _, [entry], _ = read("wrapped_timestamp.sta")
    assert entry.transfer.content.endswith("?24/PL 25-11-2026T16\n:26:37 Fo?25lgenr. 007")
    _, entries, _ = read("sberbank_non_swift.sta")
    assert [(e.transfer.amount, e.transfer.content) for e in entries] == [(2_402_000, ""), (3_460_000, "")]
    _, entries, _ = read("gvc_counterparty.sta")
    assert entries[0].transfer.counter_name == "Cuc Thue Thanh Pho Ha Noi Phong Thu Thue"
    assert entries[0].transfer.counter_account == "VN99700500000000012345"


def test_line_endings_and_a_byte_order_mark_read_alike():
    reference = our_view("crlf_plain.sta")
    assert our_view("cr_only.sta") == reference == our_view("bom_no_final_newline.sta")
    _, entries, _ = read("cr_only.sta")
    assert [e.line_no for e in entries] == [5, 8, 10]
    utf16 = (CORPUS / "crlf_plain.sta").read_bytes().decode().encode("utf-16")
    assert detect_format(utf16) == "mt940"
    events = list(read_statement(io.BytesIO(utf16)))
    assert [(e.transfer.bank_ref, e.transfer.amount) for e in events if isinstance(e, StatementEntry)] == [
        (entry[3], abs(entry[0])) for entry in reference[0]["entries"]]


@pytest.mark.parametrize("name, message", [
    ("broken_amount.sta", "line 7, field :61:: amount '12,3,4' is not a number (digits and a decimal comma)"),
    ("broken_balance_date.sta", "line 7, field :62F:: '240230' is not a YYMMDD date"),
    ("broken_fraction_after_fallback.sta", "line 5, field :61:: amount '6000.50' is not a whole number of đồng"),
    ("broken_usd_after_fallback.sta", "line 6, field :62F:: balance in currency USD: only VND statements are read"),
    ("broken_entries_before_20.sta", "line 1: field :25: before the first :20:"),
])
def test_a_broken_file_is_refused_naming_its_line_and_field(name, message):
    data = (CORPUS / name).read_bytes()
    assert detect_format(data[:65536]) == "mt940"
    with pytest.raises(StatementError) as refused:
        list(read_statement(io.BytesIO(data)))
    assert str(refused.value) == message


def test_the_package_is_not_trusted_where_it_would_misread_an_amount():
    # mt-940 reads "1.000," as 1 đồng (the rest as a customer reference): no type code follows, refused
    data = b":20:S1\n:25:113000012345\n:60F:C261124VND0,\n:61:2602300301C1.000,NTRF//R1\n:62F:C261125VND1000,\n"
    with pytest.raises(StatementError, match=r"^line 4, field :61:: '2602300301C1.000,NTRF//R1' does not read"):
        list(read_statement(io.BytesIO(data)))


def test_the_detector_never_sends_mt940_to_the_csv_reader():
    no_20 = b"HEADER\r940\r:25:113000012345\r:61:2611251125C1000,NTRF//R1\r"
    assert detect_format(no_20) == "mt940"
    with pytest.raises(StatementError, match="field :25: before the first :20:"):
        list(read_statement(io.BytesIO(no_20)))
    assert detect_format(b"{1:F01ICBVVNVXAXXX0000000000}{2:O9401200261125ICBVVNVXAXXX0000000000N}{4:\n") == "mt940"
    assert detect_format("Ngày;Số tham chiếu;Ghi có;Mô tả\n25/11/2026;FT1;1000;:20: x\n".encode()) == "csv"


def _quirky_statement(count: int) -> bytes:
    """``count`` entries, each with its entry date written as four spaces: each read by the package."""
    lines = [":20:ASN", ":25:113000012345", ":60F:C261124VND0,"]
    for i in range(count):
        lines += [f":61:261125    C{1000 + i},NTRFHS{i:09d}//FT{i:014d}", f":86:LE PHI HS{i:09d}"]
    total = sum(1000 + i for i in range(count))
    lines += [f":62F:C261125VND{total},", ":86:/SUM/THONG TIN CHO CHU TAI KHOAN", "-"]
    return "\n".join(lines).encode()


def test_the_package_reads_one_entry_at_a_time_so_the_statement_still_streams():
    data = _quirky_statement(3000)
    stream = io.BytesIO(data)
    events = read_statement(stream)
    first = next(e for e in events if isinstance(e, StatementEntry))
    assert first.transfer.bank_ref == "FT00000000000000" and stream.tell() < len(data) / 10
    rest = list(events)
    entries = [first] + [e for e in rest if isinstance(e, StatementEntry)]
    [end] = [e for e in rest if isinstance(e, SectionEnd)]
    assert (end.reader, end.entries, len(entries)) == ("package", 3000, 3000) and balance_proof(end).ok
    # the :86: after the closing balance is for the account owner, not the last entry's content
    assert entries[-1].transfer.content == "LE PHI HS000002999"
    assert [e.line_no for e in entries[:2]] == [4, 6]


def test_the_fast_path_takes_over_again_after_an_entry_the_package_read():
    data = (b":20:S1\n:25:113000012345\n:60F:C261124VND0,\n"
            b":61:2611251125C1000,NTRF//FT1\n:86:A\n"
            b":61:261125    C2000,NTRF//FT2\n:86:B\n"
            b":61:2611251125C3000,NTRF//FT3\n:86:C\n:62F:C261125VND6000,\n")
    events = list(read_statement(io.BytesIO(data)))
    entries = [e for e in events if isinstance(e, StatementEntry)]
    assert [(e.line_no, e.transfer.bank_ref, e.transfer.content) for e in entries] == [
        (4, "FT1", "A"), (6, "FT2", "B"), (8, "FT3", "C")]
    assert events[-1].reader == "fast+package" and balance_proof(events[-1]).ok


def test_the_package_is_not_trusted_with_a_balance_it_would_cut_short():
    # mt-940 reads "1500000.50" as 1500000 (it stops at the dot)
    data = b":20:S1\n:25:113000012345\n:60F:C261124VND0,\n:61:261125    C1000,NTRF//R1\n:62F:C261125VND1000.50\n"
    with pytest.raises(StatementError) as refused:
        list(read_statement(io.BytesIO(data)))
    assert str(refused.value) == ("line 5, field :62F:: balance 'C261125VND1000.50' does not read as C|D YYMMDD "
                                  "currency amount")


def test_mt940_in_an_8_bit_code_page_is_refused_as_mt940_naming_the_line():
    data = ":20:S1\n:25:113000012345\n:60F:C261124VND0,\n:61:2611251125C1000,NTRF//R1\n:86:Tranzakciós díj\n".encode(
        "iso-8859-2")
    assert detect_format(data) == "mt940"
    with pytest.raises(StatementError, match=r"^line 5: MT940: the text is not UTF-8"):
        list(read_statement(io.BytesIO(data)))
    # past the first chunk the decoder reads ahead: still the line of the fault
    body = "".join(f":61:2611251125C{1000 + i},NTRF//R{i}\r\n:86:LE PHI {i}\r\n" for i in range(1500))
    data = (":20:S1\r\n:25:113000012345\r\n:60F:C261124VND0,\r\n" + body + ":86:díj\r\n").encode("iso-8859-2")
    with pytest.raises(StatementError, match=r"^line 3004: MT940: the text is not UTF-8"):
        list(read_statement(io.BytesIO(data)))


def test_content_lines_that_only_look_like_an_envelope_stay_content():
    data = (b":20:S1\n:25:113000012345\n:60F:C261124VND0,\n:61:2611251125C1000,NTRF//R1\n"
            b":86:LE PHI\n-abc\n}abc\n{abc\n:62F:C261125VND1000,\n-}{5:{CHK:0123456789AB}}\n")
    events = list(read_statement(io.BytesIO(data)))
    [entry] = [e for e in events if isinstance(e, StatementEntry)]
    assert entry.transfer.content == "LE PHI\n-abc\n}abc\n{abc" and events[-1].reader == "fast"


def test_the_package_is_not_trusted_where_it_would_merge_two_entries():
    # ":" then "61:..." is a tag to mt-940; a :61: without a type code it merges into the next entry
    data = (b":20:S1\n:25:113000012345\n:60F:C261124VND0,\n:61:2611251125C5000\n:\n"
            b"61:2611251125C2000,NTRF//R3\n:62F:C261125VND7000,\n")
    with pytest.raises(StatementError) as refused:
        list(read_statement(io.BytesIO(data)))
    assert str(refused.value) == "line 4, field :61:: 2 entries, but the mt-940 package reads 1"
    # the second, without a type code, is refused naming the line of its tag
    data = (b":20:S1\n:25:113000012345\n:60F:C261124VND0,\n:61:2611251125C1000,NTRF//R1\n:86:A\n:\n"
            b"61:2611251125C5000\n:61:2611251125C2000,NTRF//R3\n:62F:C261125VND8000,\n")
    with pytest.raises(StatementError) as refused:
        list(read_statement(io.BytesIO(data)))
    assert str(refused.value) == ("line 6, field :61:: '2611251125C5000' does not read as YYMMDD[MMDD]C|D|RC|RD "
                                  "amount type refs")
