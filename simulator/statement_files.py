"""Statement files as the banks write them, for the simulator, the tests and the benchmarks.

:func:`write_statement` writes one file holding one or more sections (accounts), in any of
the shapes ``bank_adapters.statements`` reads, streaming: a million transfers take the same
memory as ten. The closing balance is always ``opening + credits − debits`` of the booked
transfers, so what is written passes the readers' balance proof; camt.053 and two of the
Excel layouts write the closing balance above the entries, so ``transfers`` is iterated twice
(pass a list, or any object whose ``__iter__`` starts over; a one-shot iterator is refused).

What each shape carries, i.e. what reading a written file gives back (everything else of a
:class:`BankTransfer` is lost by the format, as it is with real banks):

============================  ==============================================================
shape                         carries
============================  ==============================================================
``camt053`` (.02, .04, .08)   everything but ``balance_after``: time to the microsecond
                              (``BookgDt/DtTm``, or ``Dt`` for 00:00 ICT), value date, BIN
                              (``Acct/Svcr/.../ClrSysMmbId``), counterparty, its bank, the
                              virtual account, reversal (``RvslInd``), pending (``PDNG``)
``mt940``                     booking date only (``booked_at`` = 00:00 ICT), value date (the
                              booking date when None), reversal (``RC``/``RD``); pending
                              transfers are left out (MT940 lists booked entries)
xlsx/csv ``vietcombank``      time to the second, reference; pending left out
xlsx/csv ``vietcombank-en``   time to the second; no reference column (the reader makes
                              ``NOREF-...`` references)
xlsx/csv ``vietinbank``       time to the second, reference, running balance
xlsx/csv ``bidv``             booking date only, reference (``SỐ BÚT TOÁN``), running balance
============================  ==============================================================

Layouts (statements.md, "Excel and CSV statement exports"), each with what makes it hard:

- ``vietcombank``: ``SAO KÊ TÀI KHOẢN / STATEMENT OF ACCOUNT``; header ``STT | Ngày giao
  dịch | Số tham chiếu | Số tiền ghi nợ | Số tiền ghi có | Mô tả``; opening balance above the
  entries, ``Tổng cộng / Total`` and the closing balance below; xlsx amounts are number cells
  shown ``#,##0``, CSV amounts ``1.500.000``.
- ``vietcombank-en``: the other Vietcombank labels, ``Ngày GD/Date | Ghi nợ/Debit | Ghi
  có/Credit | Diễn giải/Narrative``, no reference column; account, period and balances
  written inside one cell each (``Tài khoản / Account: ...``); xlsx dates are Excel date
  cells, CSV amounts ``1,500,000`` (quoted under a ``,`` delimiter).
- ``vietinbank``: ``LỊCH SỬ GIAO DỊCH - TRANSACTION HISTORY``; accounting date and
  transaction date-time, both balances above the entries, amounts as text ``1,500,000``
  even in xlsx, running balance, ``Số giao dịch / Transaction number`` as the reference.
- ``bidv``: ``BÁO CÁO CHI TIẾT SỐ DƯ TÀI KHOẢN``; all-capitals labels, the date written only
  on the first line of each day (fill down), ``CỘNG PHÁT SINH``, then ``DƯ ĐẦU`` and ``DƯ
  CUỐI`` below the entries. ``SỐ BÚT TOÁN`` (BIDV's journal entry number) is taken as the
  bank reference: it is the only per-line reference BIDV's export gives. Whether BIDV's
  webhooks quote the same number is not known here; if they do not, the same transfer seen
  by webhook and statement will not share a key (see the report).
"""
from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta, timezone
from typing import Any, BinaryIO, Callable, Iterable, Iterator, Sequence

from core.clock import ICT

from bank_adapters.transfers import IN, BankTransfer

FORMATS = ("camt053", "mt940", "xlsx", "csv")
LAYOUTS = ("vietcombank", "vietcombank-en", "vietinbank", "bidv")
CAMT_VERSIONS = ("001.02", "001.04", "001.08")
MT940_WIDTH = 65
USTRD_MAX = 140
XLSX_MAX_ROWS = 1_048_576


@dataclass(frozen=True)
class SectionSpec:
    """One more account in the same file (``write_statement(..., sections=[...])``)."""

    account: str
    opening_balance: int
    transfers: Iterable[BankTransfer]
    bank_bin: str | None = None
    day_from: date | None = None   # default: the file's
    day_to: date | None = None
    statement_ref: str | None = None


@dataclass(frozen=True)
class _Section:
    index: int
    account: str
    bank_bin: str | None
    day_from: date
    day_to: date
    opening: int
    transfers: Iterable[BankTransfer]
    statement_ref: str
    credits: int
    debits: int

    @property
    def closing(self) -> int:
        return self.opening + self.credits - self.debits

    def booked(self) -> Iterator[BankTransfer]:
        return (t for t in self.transfers if not t.pending)


def write_statement(fmt: str, out: BinaryIO, *, account: str, bank_bin: str | None, day_from: date, day_to: date,
                    opening_balance: int, transfers: Iterable[BankTransfer], layout: str = "vietcombank",
                    sections: Sequence[SectionSpec] = (), version: str = "001.02",
                    csv_delimiter: str = ",", csv_encoding: str = "utf-8-sig",
                    statement_ref: str | None = None, created_at: datetime | None = None) -> None:
    """Write a statement of ``account`` (then of each of ``sections``) to ``out``.

    ``fmt``: ``camt053`` (``version`` 001.02, .04 or .08), ``mt940``, ``xlsx`` or ``csv``
    (``layout`` one of :data:`LAYOUTS`; ``csv_delimiter`` ``,`` ``;`` or tab;
    ``csv_encoding`` ``utf-8-sig``, ``utf-8`` or ``utf-16``)."""
    if fmt not in FORMATS:
        raise ValueError(f"fmt must be one of {', '.join(FORMATS)}, not {fmt!r}")
    if fmt in ("xlsx", "csv") and layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {', '.join(LAYOUTS)}, not {layout!r}")
    specs = [SectionSpec(account, opening_balance, transfers, bank_bin, day_from, day_to, statement_ref),
             *sections]
    prepared = [_prepare(i, spec, day_from, day_to) for i, spec in enumerate(specs)]
    if fmt == "camt053":
        if version not in CAMT_VERSIONS:
            raise ValueError(f"version must be one of {', '.join(CAMT_VERSIONS)}, not {version!r}")
        _write_camt(out, prepared, version, created_at or datetime.now(timezone.utc))
    elif fmt == "mt940":
        _write_mt940(out, prepared)
    elif fmt == "xlsx":
        _write_xlsx(out, prepared, _LAYOUTS[layout])
    else:
        if csv_delimiter not in (",", ";", "\t"):
            raise ValueError("csv_delimiter must be ',', ';' or a tab")
        _write_csv(out, prepared, _LAYOUTS[layout], csv_delimiter, csv_encoding)


def _prepare(index: int, spec: SectionSpec, day_from: date, day_to: date) -> _Section:
    if iter(spec.transfers) is spec.transfers:
        raise TypeError("transfers must be re-iterable (a list, or an object whose __iter__ starts over): "
                        "the closing balance is written before the entries in some shapes")
    credits = debits = 0
    for transfer in spec.transfers:
        if transfer.account != spec.account:
            raise ValueError(f"transfer {transfer.bank_ref} is on account {transfer.account}, "
                             f"not on {spec.account} whose statement this is")
        if transfer.pending:
            continue
        if transfer.direction == IN:
            credits += transfer.amount
        else:
            debits += transfer.amount
    first, last = spec.day_from or day_from, spec.day_to or day_to
    ref = spec.statement_ref or f"STMT{last:%Y%m%d}{index + 1:02d}"
    return _Section(index, spec.account, spec.bank_bin, first, last, spec.opening_balance, spec.transfers, ref,
                    credits, debits)


def _local(moment: datetime) -> datetime:
    """The bank's wall clock (Indochina Time), naive."""
    return moment.astimezone(ICT).replace(tzinfo=None)


def _booking_day(transfer: BankTransfer) -> date:
    return transfer.booked_at.astimezone(ICT).date()


class _Buffered:
    """Collects text and writes it to a binary stream in large UTF-8 chunks."""

    def __init__(self, out: BinaryIO, size: int = 1 << 16) -> None:
        self.out, self.size, self.parts, self.length = out, size, [], 0

    def __call__(self, text: str) -> None:
        self.parts.append(text)
        self.length += len(text)
        if self.length >= self.size:
            self.flush()

    def flush(self) -> None:
        self.out.write("".join(self.parts).encode("utf-8"))
        self.parts, self.length = [], 0


# -- camt.053 ------------------------------------------------------------------------------------

_XML_INVALID = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _x(text: str) -> str:
    """Text for an XML element: escaped, carriage returns kept (``&#13;``), invalid characters refused."""
    if _XML_INVALID.search(text):
        raise ValueError(f"{text!r} holds a control character that XML 1.0 cannot carry")
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#13;")


def ustrd_parts(content: str) -> list[str]:
    """``content`` cut at spaces into parts of at most 140 characters whose join with a space is
    ``content`` again. A stretch of more than 140 characters without a space stays whole
    (longer than the schema's Max140Text, but nothing is lost)."""
    parts = []
    rest = content
    while len(rest) > USTRD_MAX:
        cut = rest.rfind(" ", 1, USTRD_MAX + 1)
        if cut <= 0:
            cut = rest.find(" ", USTRD_MAX + 1)
            if cut <= 0:
                break
        parts.append(rest[:cut])
        rest = rest[cut + 1:]
    parts.append(rest)
    return parts


def _agent(bank: str, version: int) -> str:
    if re.fullmatch(r"\d{6}", bank):
        return f"<ClrSysMmbId><MmbId>{bank}</MmbId></ClrSysMmbId>"
    if re.fullmatch(r"[A-Z]{6}[A-Z0-9]{2}(?:[A-Z0-9]{3})?", bank):
        return f"<{'BIC' if version < 4 else 'BICFI'}>{bank}</{'BIC' if version < 4 else 'BICFI'}>"
    return f"<Nm>{_x(bank)}</Nm>"


def _account_id(account: str) -> str:
    if re.fullmatch(r"[A-Z]{2}\d{2}[A-Z0-9]{10,30}", account):
        return f"<IBAN>{account}</IBAN>"
    return f"<Othr><Id>{_x(account)}</Id></Othr>"


def _camt_when(moment: datetime) -> str:
    local = moment.astimezone(ICT)
    if local.time() == time.min:
        return f"<Dt>{local.date().isoformat()}</Dt>"
    return f"<DtTm>{local.isoformat()}</DtTm>"


def _write_camt(out: BinaryIO, sections: list[_Section], version: str, created_at: datetime) -> None:
    v = int(version.split(".")[1])
    created = created_at.astimezone(ICT).replace(microsecond=0).isoformat()
    w = _Buffered(out)
    w('<?xml version="1.0" encoding="UTF-8"?>\n'
      f'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.{version}">\n<BkToCstmrStmt>\n'
      f"<GrpHdr><MsgId>{_x(sections[0].statement_ref)}</MsgId><CreDtTm>{created}</CreDtTm></GrpHdr>\n")
    for section in sections:
        servicer = (f"<Svcr><FinInstnId><ClrSysMmbId><MmbId>{section.bank_bin}</MmbId></ClrSysMmbId></FinInstnId>"
                    "</Svcr>" if section.bank_bin else "")
        w(f"<Stmt>\n<Id>{_x(section.statement_ref)}</Id><ElctrncSeqNb>{section.index + 1}</ElctrncSeqNb>"
          f"<CreDtTm>{created}</CreDtTm>\n"
          f"<FrToDt><FrDtTm>{section.day_from.isoformat()}T00:00:00+07:00</FrDtTm>"
          f"<ToDtTm>{section.day_to.isoformat()}T23:59:59+07:00</ToDtTm></FrToDt>\n"
          f"<Acct><Id>{_account_id(section.account)}</Id><Ccy>VND</Ccy>{servicer}</Acct>\n")
        for code, amount, day in (("OPBD", section.opening, section.day_from),
                                  ("CLBD", section.closing, section.day_to)):
            w(f"<Bal><Tp><CdOrPrtry><Cd>{code}</Cd></CdOrPrtry></Tp><Amt Ccy=\"VND\">{abs(amount)}</Amt>"
              f"<CdtDbtInd>{'DBIT' if amount < 0 else 'CRDT'}</CdtDbtInd><Dt><Dt>{day.isoformat()}</Dt></Dt></Bal>\n")
        for transfer in section.transfers:
            w(_camt_entry(transfer, v))
        w("</Stmt>\n")
    w("</BkToCstmrStmt>\n</Document>\n")
    w.flush()


def _camt_entry(t: BankTransfer, v: int) -> str:
    indicator = "CRDT" if t.direction == IN else "DBIT"
    status = "PDNG" if t.pending else "BOOK"
    parts = [f'<Ntry><Amt Ccy="VND">{t.amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>']
    if t.reversal:
        parts.append("<RvslInd>true</RvslInd>")
    parts.append(f"<Sts><Cd>{status}</Cd></Sts>" if v >= 8 else f"<Sts>{status}</Sts>")
    parts.append(f"<BookgDt>{_camt_when(t.booked_at)}</BookgDt>")
    if t.value_date is not None:
        parts.append(f"<ValDt><Dt>{t.value_date.isoformat()}</Dt></ValDt>")
    parts.append(f"<AcctSvcrRef>{_x(t.bank_ref)}</AcctSvcrRef>")
    family = "RCDT" if t.direction == IN else "ICDT"
    parts.append(f"<BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>{family}</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>"
                 "</BkTxCd><NtryDtls><TxDtls>")
    end_to_end = t.extra.get("end_to_end_id")
    parts.append(f"<Refs><AcctSvcrRef>{_x(t.bank_ref)}</AcctSvcrRef>"
                 f"{f'<EndToEndId>{_x(end_to_end)}</EndToEndId>' if end_to_end else ''}</Refs>")
    if v >= 4:
        parts.append(f'<Amt Ccy="VND">{t.amount}</Amt><CdtDbtInd>{indicator}</CdtDbtInd>')
    party = (lambda name: f"<Pty><Nm>{_x(name)}</Nm></Pty>") if v >= 8 else (lambda name: f"<Nm>{_x(name)}</Nm>")

    def acct(tag: str, number: str | None) -> str:
        return f"<{tag}><Id>{_account_id(number)}</Id></{tag}>" if number else ""

    if t.direction == IN:   # the counterparty paid us: it is the debtor
        related = ((f"<Dbtr>{party(t.counter_name)}</Dbtr>" if t.counter_name else "")
                   + acct("DbtrAcct", t.counter_account) + acct("CdtrAcct", t.virtual_account))
        agent = f"<DbtrAgt><FinInstnId>{_agent(t.counter_bank, v)}</FinInstnId></DbtrAgt>" if t.counter_bank else ""
    else:
        related = (acct("DbtrAcct", t.virtual_account)
                   + (f"<Cdtr>{party(t.counter_name)}</Cdtr>" if t.counter_name else "")
                   + acct("CdtrAcct", t.counter_account))
        agent = f"<CdtrAgt><FinInstnId>{_agent(t.counter_bank, v)}</FinInstnId></CdtrAgt>" if t.counter_bank else ""
    if related:
        parts.append(f"<RltdPties>{related}</RltdPties>")
    if agent:
        parts.append(f"<RltdAgts>{agent}</RltdAgts>")
    if t.content:
        parts.append("<RmtInf>" + "".join(f"<Ustrd>{_x(p)}</Ustrd>" for p in ustrd_parts(t.content)) + "</RmtInf>")
    parts.append("</TxDtls></NtryDtls></Ntry>\n")
    return "".join(parts)


# -- MT940 ---------------------------------------------------------------------------------------

_MT_TAG_LIKE = re.compile(r"^:(?:\d{2}[A-Z]?|NS):")
_MT_ENVELOPE = re.compile(r"^(?:-\}?(?:\{5:.*)?|\{\d:.*|\}+)\s*$")


def mt940_lines(content: str) -> list[str]:
    """The ``:86:`` lines of ``content``: its own line breaks kept, longer lines cut at 65.

    Raises ValueError for a content that MT940 cannot carry so that it reads back the same
    (a line that would read as a field tag or the end of a message, a blank line, which readers
    drop as banks pad with them, a carriage return, or a line break right after a line of
    exactly 65 characters, which reads as a cut)."""
    if "\r" in content:
        raise ValueError("MT940 cannot carry a carriage return in a content")
    lines: list[str] = []
    logical = content.split("\n")
    for number, text in enumerate(logical):
        chunks = [text[i:i + MT940_WIDTH] for i in range(0, len(text), MT940_WIDTH)] or [""]
        if len(chunks[-1]) == MT940_WIDTH and number < len(logical) - 1:
            raise ValueError(f"MT940 cannot carry a line break after a line of {len(text)} characters "
                             f"(a multiple of {MT940_WIDTH} reads as the bank's cut)")
        lines.extend(chunks)
    for line in lines:
        if _MT_TAG_LIKE.match(line) or _MT_ENVELOPE.match(line):
            raise ValueError(f"MT940 cannot carry a content line {line!r}: it reads as a field or message end")
        if len(lines) > 1 and not line.strip():
            raise ValueError("MT940 cannot carry a blank line in a content: readers drop it")
    return lines


def mt940_writable(content: str) -> bool:
    try:
        mt940_lines(content)
    except ValueError:
        return False
    return True


def _swift_amount(amount: int) -> str:
    return f"{amount},"


def _write_mt940(out: BinaryIO, sections: list[_Section]) -> None:
    w = _Buffered(out)
    for section in sections:
        opening, closing = section.opening, section.closing
        w(f":20:{section.statement_ref}\r\n:25:{section.account}\r\n:28C:{section.index + 1:05d}/1\r\n"
          f":60F:{'D' if opening < 0 else 'C'}{section.day_from - timedelta(days=1):%y%m%d}VND"
          f"{_swift_amount(abs(opening))}\r\n")
        for t in section.booked():
            if "\n" in t.bank_ref or "\r" in t.bank_ref:
                raise ValueError(f"bank reference {t.bank_ref!r} holds a line break")
            booking = _booking_day(t)
            value = t.value_date or booking
            mark = ("RD" if t.direction == IN else "RC") if t.reversal else ("C" if t.direction == IN else "D")
            customer = t.extra.get("customer_ref") or "NONREF"
            w(f":61:{value:%y%m%d}{booking:%m%d}{mark}{_swift_amount(t.amount)}NTRF{customer}//{t.bank_ref}\r\n")
            if t.content:
                lines = mt940_lines(t.content)
                w(":86:" + "\r\n".join(lines) + "\r\n")
        w(f":62F:{'D' if closing < 0 else 'C'}{section.day_to:%y%m%d}VND{_swift_amount(abs(closing))}\r\n")
    w.flush()


# -- Excel and CSV layouts -----------------------------------------------------------------------

@dataclass(frozen=True)
class _Amount:
    value: int


@dataclass(frozen=True)
class _When:
    moment: datetime     # naive, Indochina Time
    with_time: bool


Cell = Any  # str | int | _Amount | _When | None


@dataclass(frozen=True)
class _Layout:
    name: str
    sheet: str
    rows: Callable[[_Section], Iterator[list[Cell]]]
    separator: str            # thousands separator in text amounts: "." "," or ""
    xlsx_amount_text: bool    # amounts written as text even in xlsx
    xlsx_date_cells: bool     # dates written as Excel date cells in xlsx

    def amount_text(self, value: int) -> str:
        text = f"{value:,}"
        return text.replace(",", self.separator)


def _day_text(day: date) -> str:
    return f"{day:%d/%m/%Y}"


def _moment(t: BankTransfer) -> _When:
    local = _local(t.booked_at).replace(microsecond=0)
    return _When(local, local.time() != time.min)


def _vietcombank(s: _Section) -> Iterator[list[Cell]]:
    yield ["NGÂN HÀNG TMCP NGOẠI THƯƠNG VIỆT NAM - VIETCOMBANK"]
    yield ["SAO KÊ TÀI KHOẢN / STATEMENT OF ACCOUNT"]
    yield ["Số tài khoản / Account number:", s.account]
    yield ["Loại tiền / Currency:", "VND"]
    yield ["Từ ngày / From:", _When(datetime.combine(s.day_from, time.min), False), "Đến ngày / To:",
           _When(datetime.combine(s.day_to, time.min), False)]
    yield ["Số dư đầu kỳ / Opening balance:", _Amount(s.opening)]
    yield []
    yield ["STT", "Ngày giao dịch", "Số tham chiếu", "Số tiền ghi nợ", "Số tiền ghi có", "Mô tả"]
    for number, t in enumerate(s.booked(), 1):
        amount = _Amount(t.amount)
        yield [number, _moment(t), t.bank_ref, None if t.direction == IN else amount,
               amount if t.direction == IN else None, t.content]
    yield ["Tổng cộng / Total", None, None, _Amount(s.debits), _Amount(s.credits), None]
    yield ["Số dư cuối kỳ / Closing balance:", _Amount(s.closing)]


def _vietcombank_en(s: _Section) -> Iterator[list[Cell]]:
    layout = _LAYOUTS["vietcombank-en"]
    yield ["VIETCOMBANK"]
    yield ["SAO KÊ TÀI KHOẢN / STATEMENT OF ACCOUNT"]
    yield [f"Tài khoản / Account: {s.account}"]
    yield [f"Kỳ sao kê / Period: {_day_text(s.day_from)} - {_day_text(s.day_to)}"]
    yield [f"Số dư đầu kỳ / Opening balance: {layout.amount_text(s.opening)} VND"]
    yield ["Ngày GD/Date", "Ghi nợ/Debit", "Ghi có/Credit", "Diễn giải/Narrative"]
    for t in s.booked():
        amount = _Amount(t.amount)
        yield [_moment(t), None if t.direction == IN else amount, amount if t.direction == IN else None, t.content]
    yield ["Cộng / Total", _Amount(s.debits), _Amount(s.credits)]
    yield [f"Số dư cuối kỳ / Closing balance: {layout.amount_text(s.closing)} VND"]


def _vietinbank(s: _Section) -> Iterator[list[Cell]]:
    yield ["NGÂN HÀNG TMCP CÔNG THƯƠNG VIỆT NAM - VIETINBANK"]
    yield ["LỊCH SỬ GIAO DỊCH - TRANSACTION HISTORY"]
    yield ["Số tài khoản / Account number", s.account]
    yield ["Loại tiền / Currency", "VND"]
    yield ["Từ ngày / From date", _day_text(s.day_from), "Đến ngày / To date", _day_text(s.day_to)]
    yield ["SỐ DƯ ĐẦU KỲ / OPENING BALANCE", _Amount(s.opening)]
    yield ["SỐ DƯ CUỐI KỲ / CLOSING BALANCE", _Amount(s.closing)]
    yield []
    yield ["STT / No.", "Ngày hạch toán / Accounting date", "Ngày phát sinh / Transaction date",
           "Mô tả giao dịch / Transaction description", "Nợ / Debit", "Có / Credit", "Số dư TK / Account balance",
           "Số giao dịch / Transaction number"]
    balance = s.opening
    for number, t in enumerate(s.booked(), 1):
        balance += t.amount if t.direction == IN else -t.amount
        amount = _Amount(t.amount)
        local = _local(t.booked_at).replace(microsecond=0)
        yield [number, _When(datetime.combine(local.date(), time.min), False), _When(local, True), t.content,
               None if t.direction == IN else amount, amount if t.direction == IN else None, _Amount(balance),
               t.bank_ref]
    yield ["TỔNG CỘNG / TOTAL", None, None, None, _Amount(s.debits), _Amount(s.credits), None, None]


def _bidv(s: _Section) -> Iterator[list[Cell]]:
    yield ["NGÂN HÀNG TMCP ĐẦU TƯ VÀ PHÁT TRIỂN VIỆT NAM"]
    yield ["BÁO CÁO CHI TIẾT SỐ DƯ TÀI KHOẢN"]
    yield [f"Tài khoản: {s.account} - VND"]
    yield [f"Từ ngày {_day_text(s.day_from)} đến ngày {_day_text(s.day_to)}"]
    yield []
    yield ["NGÀY HIỆU LỰC", "SỐ BÚT TOÁN", "GHI NỢ", "GHI CÓ", "SỐ DƯ", "MÔ TẢ"]
    balance = s.opening
    previous: date | None = None
    for t in s.booked():
        balance += t.amount if t.direction == IN else -t.amount
        day = _booking_day(t)
        shown = None if day == previous else _When(datetime.combine(day, time.min), False)
        previous = day
        amount = _Amount(t.amount)
        yield [shown, t.bank_ref, None if t.direction == IN else amount, amount if t.direction == IN else None,
               _Amount(balance), t.content]
    yield ["CỘNG PHÁT SINH", None, _Amount(s.debits), _Amount(s.credits), None, None]
    yield ["DƯ ĐẦU", None, None, None, _Amount(s.opening), None]
    yield ["DƯ CUỐI", None, None, None, _Amount(s.closing), None]


_LAYOUTS = {
    "vietcombank": _Layout("vietcombank", "Sao ke", _vietcombank, ".", False, False),
    "vietcombank-en": _Layout("vietcombank-en", "Statement", _vietcombank_en, ",", False, True),
    "vietinbank": _Layout("vietinbank", "Lich su giao dich", _vietinbank, ",", True, False),
    "bidv": _Layout("bidv", "BAO CAO", _bidv, "", False, True),
}


def _section_rows(sections: list[_Section], layout: _Layout) -> Iterator[list[Cell]]:
    for section in sections:
        if section.index:
            yield []
            yield []
        yield from layout.rows(section)


def _text_cell(layout: _Layout, cell: Cell) -> str:
    if cell is None:
        return ""
    if isinstance(cell, _Amount):
        return layout.amount_text(cell.value)
    if isinstance(cell, _When):
        return f"{cell.moment:%d/%m/%Y %H:%M:%S}" if cell.with_time else _day_text(cell.moment.date())
    return str(cell)


def _write_csv(out: BinaryIO, sections: list[_Section], layout: _Layout, delimiter: str, encoding: str) -> None:
    text = io.TextIOWrapper(out, encoding=encoding, newline="", write_through=False)
    try:
        writer = csv.writer(text, delimiter=delimiter, lineterminator="\r\n")
        for row in _section_rows(sections, layout):
            writer.writerow([_text_cell(layout, cell) for cell in row])
        text.flush()
    finally:
        text.detach()


def _write_xlsx(out: BinaryIO, sections: list[_Section], layout: _Layout) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_numbers": False,
                                         "strings_to_formulas": False, "strings_to_urls": False})
    sheet = workbook.add_worksheet(layout.sheet)
    amount_format = workbook.add_format({"num_format": "#,##0"})
    date_format = workbook.add_format({"num_format": "dd/mm/yyyy"})
    time_format = workbook.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"})
    for row_index, row in enumerate(_section_rows(sections, layout)):
        if row_index >= XLSX_MAX_ROWS:
            raise ValueError(f"an xlsx sheet holds at most {XLSX_MAX_ROWS} rows")
        for col, cell in enumerate(row):
            if cell is None:
                continue
            if isinstance(cell, _Amount):
                if layout.xlsx_amount_text:
                    sheet.write_string(row_index, col, layout.amount_text(cell.value))
                else:
                    sheet.write_number(row_index, col, cell.value, amount_format)
            elif isinstance(cell, _When):
                if layout.xlsx_date_cells:
                    sheet.write_datetime(row_index, col, cell.moment, time_format if cell.with_time else date_format)
                else:
                    sheet.write_string(row_index, col, _text_cell(layout, cell))
            elif isinstance(cell, int):
                sheet.write_number(row_index, col, cell)
            else:
                sheet.write_string(row_index, col, str(cell))
    workbook.close()
