"""The simulator's statement writers against the readers: what is written is read back, in
every shape and layout, to what that shape can carry (the table in
``simulator/statement_files.py``), with balances that prove. Also: the MT940
reader against the ``mt-940`` package, and memory that stays flat whatever the file size."""
from __future__ import annotations

import dataclasses
import io
import tracemalloc
from datetime import date, datetime, time, timedelta, timezone
from pathlib import Path

import mt940
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from simulator.statement_files import (
    SectionSpec, mt940_writable, ustrd_parts, write_statement,
)
from bank_adapters.statements import (
    SectionEnd, SectionStart, StatementEntry, balance_proof, detect_format, read_statement,
)
from bank_adapters.transfers import BankTransfer
from core.clock import ICT

UTC = timezone.utc
ACCOUNT = "113000012345"
BIN = "970415"
DAY_FROM, DAY_TO = date(2026, 11, 25), date(2026, 11, 27)
FIXTURES = Path(__file__).parent / "fixtures" / "statements"

CASES = [
    ("camt053", {"version": "001.02"}), ("camt053", {"version": "001.04"}), ("camt053", {"version": "001.08"}),
    ("mt940", {}),
    ("xlsx", {"layout": "vietcombank"}), ("xlsx", {"layout": "vietcombank-en"}),
    ("xlsx", {"layout": "vietinbank"}), ("xlsx", {"layout": "bidv"}),
    ("csv", {"layout": "vietcombank"}), ("csv", {"layout": "vietcombank-en", "csv_delimiter": ";"}),
    ("csv", {"layout": "vietinbank", "csv_delimiter": "\t", "csv_encoding": "utf-16"}),
    ("csv", {"layout": "bidv", "csv_encoding": "utf-8"}),
]
CASE_IDS = [f"{fmt}-{'-'.join(str(v) for v in kw.values())}" for fmt, kw in CASES]


def midnight(day: date) -> datetime:
    return datetime.combine(day, time.min, tzinfo=ICT).astimezone(UTC)


def carried(transfers, fmt: str, layout: str | None, account: str, bank_bin: str | None, opening: int):
    """What reading a written file must give back: each shape keeps what it can carry."""
    expected = []
    balance = opening
    for t in transfers:
        day = t.booked_at.astimezone(ICT).date()
        if fmt == "camt053":
            expected.append(dataclasses.replace(t, account=account, bank_bin=bank_bin, balance_after=None))
            continue
        if t.pending:
            continue  # MT940 and the exports list booked entries only
        balance += t.amount if t.direction == "in" else -t.amount
        plain = dict(account=account, bank_bin=None, counter_account=None, counter_name=None, counter_bank=None,
                     virtual_account=None, balance_after=None)
        if fmt == "mt940":
            expected.append(dataclasses.replace(t, **plain, booked_at=midnight(day), value_date=t.value_date or day))
            continue
        booked = midnight(day) if layout == "bidv" else t.booked_at.replace(microsecond=0)
        expected.append(dataclasses.replace(
            t, **plain | {"balance_after": balance if layout in ("vietinbank", "bidv") else None},
            booked_at=booked, value_date=None, reversal=False))
    return expected


def write(fmt: str, transfers, opening: int = 125_000_000, **kwargs) -> bytes:
    out = io.BytesIO()
    write_statement(fmt, out, account=ACCOUNT, bank_bin=BIN, day_from=DAY_FROM, day_to=DAY_TO,
                    opening_balance=opening, transfers=transfers, **kwargs)
    return out.getvalue()


def read(data: bytes):
    events = list(read_statement(io.BytesIO(data)))
    return ([e for e in events if isinstance(e, SectionStart)], [e for e in events if isinstance(e, StatementEntry)],
            [e for e in events if isinstance(e, SectionEnd)])


def check_round_trip(fmt: str, kwargs: dict, transfers: list[BankTransfer], opening: int) -> None:
    data = write(fmt, transfers, opening, **kwargs)
    assert detect_format(data[:65536]) == ("camt053" if fmt == "camt053" else fmt)
    starts, entries, ends = read(data)
    layout = kwargs.get("layout")
    bank_bin = BIN if fmt == "camt053" else None
    expected = carried(transfers, fmt, layout, ACCOUNT, bank_bin, opening)
    got = [e.transfer for e in entries]
    if layout == "vietcombank-en":  # no reference column: the reader makes one per line
        assert all(e.synthetic_ref and e.transfer.bank_ref.startswith("NOREF-") for e in entries)
        assert len({t.bank_ref for t in got}) == len(got)
        got = [dataclasses.replace(t, bank_ref="-") for t in got]
        expected = [dataclasses.replace(t, bank_ref="-") for t in expected]
    else:
        assert not any(e.synthetic_ref for e in entries)
    assert got == expected
    assert [e.booking_date for e in entries] == [t.booked_at.astimezone(ICT).date() for t in expected]
    booked = [t for t in transfers if not t.pending]
    credits = sum(t.amount for t in booked if t.direction == "in")
    debits = sum(t.amount for t in booked if t.direction == "out")
    [start] = starts
    [end] = ends
    assert start.account == end.account == ACCOUNT
    assert (end.opening_balance, end.closing_balance, end.credits, end.debits) == (
        opening, opening + credits - debits, credits, debits)
    assert end.entries == len(expected)
    assert end.pending == (sum(t.pending for t in transfers) if fmt == "camt053" else 0)
    assert (end.period_start, end.period_end) == (DAY_FROM, DAY_TO)
    assert balance_proof(end).ok


# -- examples ------------------------------------------------------------------------------------

def sample_transfers() -> list[BankTransfer]:
    base = datetime(2026, 11, 25, 1, 5, 33, tzinfo=UTC)
    return [
        BankTransfer(ACCOUNT, "FT26329000123456", 1_500_000, "in", base,
                     "MBVCB.3278907687.HS7K2M9QXA4 LE PHI CAP GCN.CT tu 0011001234567 NGUYEN VAN AN toi "
                     "113000012345 UBND QUAN BA DINH " * 2 + "HẾT",
                     counter_account="0011001234567", counter_name="NGUYỄN VĂN AN", counter_bank="970436",
                     value_date=date(2026, 11, 25)),
        BankTransfer(ACCOUNT, "FT26329000123457", 250_000, "out", midnight(date(2026, 11, 25)),
                     'Hoàn tiền "HS3QX8Z2KPA" | phí & lệ phí <nhà đất>', counter_name="TRẦN THỊ BÌNH",
                     counter_bank="BFTVVNVX"),
        BankTransfer(ACCOUNT, "FT26329000123458", 65_000, "out", base + timedelta(days=1), "TRA SOAT\nGD CU",
                     reversal=True),
        BankTransfer(ACCOUNT, "FT26329000123459", 20_000, "in", base + timedelta(days=1, hours=3), "HOAN PHI",
                     reversal=True, virtual_account="VQRQ00012345"),
        BankTransfer(ACCOUNT, "FT26329000123460", 300_000, "in", base + timedelta(days=2), "CHO XU LY", pending=True),
        BankTransfer(ACCOUNT, "FT26329000123461", 10_000_000_000, "in", base + timedelta(days=2, hours=5), ""),
    ]


@pytest.mark.parametrize("fmt, kwargs", CASES, ids=CASE_IDS)
def test_round_trip_of_every_shape_and_layout(fmt, kwargs):
    check_round_trip(fmt, kwargs, sample_transfers(), 125_000_000)


@pytest.mark.parametrize("fmt, kwargs", CASES, ids=CASE_IDS)
def test_round_trip_of_an_empty_day_with_an_overdrawn_balance(fmt, kwargs):
    check_round_trip(fmt, kwargs, [], -3_000_000)


@pytest.mark.parametrize("fmt, kwargs", [c for c in CASES if c[0] != "camt053" or c[1]["version"] == "001.08"])
def test_several_accounts_in_one_file(fmt, kwargs):
    other = [BankTransfer("118000067890", "FT9", 800_000, "in", midnight(DAY_TO), "IBFT HS2BCDEFGHJ LE PHI")]
    third = [BankTransfer("0011000998877", "FT8", 5_000, "out", midnight(DAY_FROM), "PHI SMS")]
    data = write(fmt, sample_transfers(), 1_000, sections=[
        SectionSpec("118000067890", -500_000, other, bank_bin="970436", statement_ref="B2"),
        SectionSpec("0011000998877", 0, third, day_from=DAY_TO, day_to=DAY_TO)], **kwargs)
    starts, entries, ends = read(data)
    assert [s.account for s in starts] == [e.account for e in ends] == [ACCOUNT, "118000067890", "0011000998877"]
    assert [e.transfer.account for e in entries if e.section_index > 0] == ["118000067890", "0011000998877"]
    assert [(e.opening_balance, e.closing_balance) for e in ends[1:]] == [(-500_000, 300_000), (0, -5_000)]
    assert ends[2].period_start == DAY_TO
    assert all(balance_proof(end).ok for end in ends)
    if fmt in ("camt053", "mt940"):
        assert starts[1].statement_ref == "B2"
    if fmt == "camt053":
        assert [s.bank_bin for s in starts] == [BIN, "970436", None]


def test_camt053_written_amount_styles_and_long_contents():
    assert ustrd_parts("a" * 100 + " " + "b" * 100) == ["a" * 100, "b" * 100]
    assert ustrd_parts("x" * 248) == ["x" * 248]  # no space: kept whole rather than changed
    long_words = " ".join(["LEPHI"] * 60)
    assert all(len(p) <= 140 for p in ustrd_parts(long_words)) and " ".join(ustrd_parts(long_words)) == long_words


def test_writers_refuse_what_they_cannot_write_faithfully():
    once = iter(sample_transfers())
    with pytest.raises(TypeError, match="re-iterable"):
        write("mt940", once)
    with pytest.raises(ValueError, match="reads as a field"):
        write("mt940", [BankTransfer(ACCOUNT, "R", 1, "in", midnight(DAY_FROM), "LE PHI\n:20:X")])
    with pytest.raises(ValueError, match="a multiple of 65"):
        write("mt940", [BankTransfer(ACCOUNT, "R", 1, "in", midnight(DAY_FROM), "A" * 65 + "\nB")])
    with pytest.raises(ValueError, match="control character"):
        write("camt053", [BankTransfer(ACCOUNT, "R", 1, "in", midnight(DAY_FROM), "A\x07B")])
    with pytest.raises(ValueError, match="layout"):
        write("xlsx", [], layout="techcombank")
    with pytest.raises(ValueError, match="version"):
        write("camt053", [], version="001.03")
    assert mt940_writable("A" * 65 + "B\nC") and not mt940_writable("-}")
    # what the reader drops or reads as a field or a message's end
    assert not any(mt940_writable(c) for c in ("A\n\nB", "A\n  \nB", "-}{5:{CHK:1}}", ":NS:22X", "}"))
    with pytest.raises(ValueError, match="not on 113000012345"):
        write("csv", [BankTransfer("999", "R", 1, "in", midnight(DAY_FROM), "X")])


def test_the_same_lines_without_references_keep_their_keys_in_a_later_export():
    day = midnight(DAY_FROM)
    first = [BankTransfer(ACCOUNT, "x1", 500_000, "in", day, "HS7K2M9QXA4 LE PHI"),
             BankTransfer(ACCOUNT, "x2", 500_000, "in", day, "HS7K2M9QXA4 LE PHI")]
    later = [BankTransfer(ACCOUNT, "x0", 20_000, "out", day, "PHI SMS"), *first,
             BankTransfer(ACCOUNT, "x3", 500_000, "in", day, "HS7K2M9QXA4 LE PHI")]
    refs_first = [e.transfer.bank_ref for e in read(write("csv", first, layout="vietcombank-en"))[1]]
    refs_later = [e.transfer.bank_ref for e in read(write("xlsx", later, layout="vietcombank-en"))[1]]
    assert refs_first[0] != refs_first[1]
    # the first two identical lines keep their keys; the third occurrence is a new transfer
    assert refs_later[1:3] == refs_first and refs_later[3] not in refs_first


# -- property: read(write(x)) == x ---------------------------------------------------------------

VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyáàảãạắằẳẵặấầẩẫậéèẻẽẹếềểễệíìỉĩịóòỏõọốồổỗộớờởỡợúùủũụứừửữựýỳỷỹỵ"
CONTENT_ALPHABET = (VIETNAMESE + VIETNAMESE.upper() + "0123456789" + "      .,;:/-_()|&<>\"'#+%=@?!*\n")


@st.composite
def transfer_lists(draw, with_pending: bool = True):
    count = draw(st.integers(0, 8))
    refs = draw(st.lists(st.text("ABCDEFGHJKLMNPQRSTUVWXYZ0123456789.-", min_size=1, max_size=20),
                         min_size=count, max_size=count, unique=True))
    transfers = []
    for ref in refs:
        content = draw(st.text(CONTENT_ALPHABET, max_size=248)).strip()
        moment = draw(st.datetimes(datetime(2026, 11, 25), datetime(2026, 11, 27, 23, 59, 59)))
        if draw(st.booleans()):
            moment = datetime.combine(moment.date(), time.min)  # date-only entries are common
        booked_at = moment.replace(tzinfo=ICT).astimezone(UTC)
        name = draw(st.none() | st.text(CONTENT_ALPHABET.replace("\n", ""), min_size=1, max_size=40).map(str.strip))
        transfers.append(BankTransfer(
            account=ACCOUNT, bank_ref=ref, amount=draw(st.integers(1, 10**12)),
            direction=draw(st.sampled_from(["in", "out"])), booked_at=booked_at, content=content,
            counter_account=draw(st.none() | st.from_regex(r"[0-9]{6,19}", fullmatch=True)),
            counter_name=name or None,
            counter_bank=draw(st.none() | st.sampled_from(["970436", "BFTVVNVX", "ICBVVNVX001", "Vietcombank"])),
            virtual_account=draw(st.none() | st.from_regex(r"VQR[A-Z0-9]{5,12}", fullmatch=True)),
            value_date=draw(st.none() | st.dates(date(2026, 11, 20), date(2026, 11, 30))),
            reversal=draw(st.booleans()), pending=with_pending and draw(st.booleans())))
    return transfers


@pytest.mark.parametrize("fmt, kwargs", CASES, ids=CASE_IDS)
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(transfers=transfer_lists(), opening=st.integers(-10**12, 10**12))
def test_property_read_of_write_is_what_the_shape_carries(fmt, kwargs, transfers, opening):
    if fmt == "mt940":
        assume(all(mt940_writable(t.content) for t in transfers))
    check_round_trip(fmt, kwargs, transfers, opening)


# -- MT940 against the mt-940 package ------------------------------------------------------------

def reference_mt940(data: bytes):
    """(account, signed amount, value date, booking date, bank ref) per entry, by mt-940 5.1.1."""
    rows = []
    for statement in mt940.parse_statements(data.decode(), options=mt940.Options.all()):
        account = statement.data["account_identification"].rpartition("/")[2]
        for transaction in statement:
            d = transaction.data
            rows.append((account, int(d["amount"].amount), d["date"], d.get("entry_date") or d["date"],
                         d["bank_reference"]))
    return rows


def ours_mt940(data: bytes):
    return [(e.transfer.account, e.transfer.amount if e.transfer.direction == "in" else -e.transfer.amount,
             e.transfer.value_date, e.booking_date, e.transfer.bank_ref) for e in read(data)[1]]


def test_mt940_agrees_with_the_mt940_package_on_the_fixture():
    data = (FIXTURES / "mt940_two_blocks.sta").read_bytes()
    assert ours_mt940(data) == reference_mt940(data) and len(ours_mt940(data)) == 6


@settings(max_examples=30, deadline=None)
@given(transfers=transfer_lists(with_pending=False))
def test_mt940_agrees_with_the_mt940_package_on_written_files(transfers):
    assume(all(mt940_writable(t.content) for t in transfers))
    data = write("mt940", transfers)
    assert ours_mt940(data) == reference_mt940(data)


# -- bounded memory ------------------------------------------------------------------------------

class ManyTransfers:
    def __init__(self, count: int) -> None:
        self.count = count

    def __iter__(self):
        start = midnight(DAY_FROM)
        for i in range(self.count):
            yield BankTransfer(ACCOUNT, f"FT{i:014d}", 1000 + i, "in" if i % 7 else "out",
                               start + timedelta(seconds=i), f"MBVCB.{i}.HS7K2M9QXA4 LE PHI CAP GCN.CT tu "
                               f"0011001234567 NGUYEN VAN AN toi {ACCOUNT}", counter_name="NGUYEN VAN AN")


@pytest.mark.parametrize("fmt, kwargs", [("camt053", {}), ("mt940", {}), ("csv", {"layout": "vietinbank"})])
def test_reading_holds_one_entry_at_a_time(tmp_path, fmt, kwargs):
    path = tmp_path / "big"
    with open(path, "wb") as out:
        write_statement(fmt, out, account=ACCOUNT, bank_bin=BIN, day_from=DAY_FROM, day_to=DAY_TO,
                        opening_balance=0, transfers=ManyTransfers(20_000), **kwargs)
    size = path.stat().st_size
    tracemalloc.start()
    try:
        count = 0
        with open(path, "rb") as stream:
            for event in read_statement(stream):
                count += isinstance(event, StatementEntry)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 20_000
    # about a megabyte of buffers, whatever the size of the file (here 3 to 11 MB)
    assert peak < 2_000_000 < size, (peak, size)


CHILD = """
import resource, sys
from bank_adapters.statements import read_statement
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
with open(sys.argv[1], "rb") as stream:
    count = sum(1 for _ in read_statement(stream))
print(count, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before)
"""


def test_camt053_tree_is_freed_as_it_streams(tmp_path):
    """lxml's tree lives outside Python's allocator: measured as resident memory of a process."""
    import subprocess
    import sys

    path = tmp_path / "big.xml"
    with open(path, "wb") as out:
        write_statement("camt053", out, account=ACCOUNT, bank_bin=BIN, day_from=DAY_FROM, day_to=DAY_TO,
                        opening_balance=0, transfers=ManyTransfers(60_000))
    result = subprocess.run([sys.executable, "-c", CHILD, str(path)], capture_output=True, text=True, check=True,
                            cwd=Path(__file__).resolve().parents[2])
    count, grown_kb = map(int, result.stdout.split())
    assert count == 60_002  # entries, a start and an end
    # the whole tree would be well over 100 MB; streamed, a few MB
    assert grown_kb < 16_000 < path.stat().st_size / 1024, (grown_kb, path.stat().st_size)
