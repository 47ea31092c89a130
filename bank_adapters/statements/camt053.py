"""ISO 20022 camt.053 (BankToCustomerStatement), versions 001.02 and later, read as a stream.

lxml's ``iterparse`` hands over each ``Ntry`` when it is complete; the entry is read, then
cleared and detached from its ``Stmt`` (with everything before it), so memory stays flat
whatever the number of entries. The ``Stmt`` header (account, period, balances) precedes
the entries in every version of the schema and is read when the first entry (or the end of
an empty ``Stmt``) arrives.

Why lxml: on the same 100,000 entries, walking each entry took 27 µs with lxml's
``iterparse`` (tag filter: Python sees only ``Ntry`` and ``Stmt``) against 57 µs with the
standard library's ``iterparse`` through defusedxml (which hands every element to Python);
bare parsing is 8-11 µs per entry. The whole reader runs at about 30 µs per entry (see
``bench/bench_statement_parse.py``). defusedxml is not needed: lxml is configured below.

Uploads are untrusted: the parser resolves no entities, loads no DTD and reaches no network,
and a document with a document type declaration is refused outright (that is where entity
bombs and external entities live; no bank statement needs one). The prolog (what precedes
the root element) must fit in the first 64 KiB, so the check cannot be padded past.

Versions differ in a few places, all read: ``Sts`` is text up to .07 and ``Sts/Cd`` from
.08; a party's name is ``Dbtr/Nm`` up to .07 and ``Dbtr/Pty/Nm`` from .08; a bank is
``BIC`` in .02 and ``BICFI`` later.

Amounts are ISO decimals (``1500000`` or ``1500000.00``): the ``.`` is always a decimal
point here, never a thousands separator.
"""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import BinaryIO, Iterator

from lxml import etree

from core.clock import ICT

from ..transfers import IN, OUT, BankTransfer
from .detect import camt_version, decode_head
from .model import (
    SectionEnd, SectionStart, SectionTally, StatementEntry, StatementError, SyntheticRefs,
    entry_amount, ict_moment, midnight_ict,
)

_AMOUNT = re.compile(r"^\s*(\d+)(?:\.(\d+))?\s*$")
_NOT_PROVIDED = {"NOTPROVIDED", "NOT PROVIDED", "NONREF"}
_PENDING = {"PDNG", "INFO", "FUTR"}
_LOCAL: dict[str, str] = {}


def _local(tag: object) -> str:
    """``{namespace}Name`` → ``Name`` (cached: a file has a few dozen distinct tags)."""
    name = _LOCAL.get(tag)  # type: ignore[call-overload]
    if name is None:
        if not isinstance(tag, str):  # an entity reference left unresolved, a comment
            return ""
        name = _LOCAL[tag] = tag[tag.rfind("}") + 1:]
    return name


def _text(element) -> str:
    return (element.text or "").strip()


def _flatten(element, prefix: str, out: dict[str, list]) -> None:
    """Leaves under ``element`` by path of local names; ``Pty`` (camt.053.001.08+) is dropped
    from paths so that ``Dbtr/Pty/Nm`` and ``Dbtr/Nm`` read alike."""
    for child in element:
        name = _local(child.tag)
        if not name:
            continue
        path = prefix if name == "Pty" else f"{prefix}{name}/"
        if len(child):
            _flatten(child, path, out)
        else:
            out.setdefault(path[:-1], []).append(child)


def read_camt053(stream: BinaryIO, head: bytes) -> Iterator[SectionStart | StatementEntry | SectionEnd]:
    _check_prolog(decode_head(head) or "")
    reader = _Reader()
    events = etree.iterparse(stream, events=("end",), tag=("{*}Ntry", "{*}Stmt"), resolve_entities=False,
                             no_network=True, load_dtd=False, remove_comments=True, remove_pis=True,
                             huge_tree=False)
    try:
        for _, element in events:
            if reader.sections == 0 and reader.stmt is None:
                _check_document(element)
            if element.tag[-5:] == "}Ntry":
                stmt = element.getparent()
                if stmt is not reader.stmt:
                    yield reader.section_start(stmt, element)
                yield reader.entry(element, stmt)
            else:
                if element is not reader.stmt:
                    yield reader.section_start(element, None)
                yield reader.statement_end(element)
    except etree.XMLSyntaxError as exc:
        raise StatementError(f"camt.053: the XML is malformed: {exc.msg}", where=f"line {exc.lineno}") from None
    if reader.sections == 0:
        raise StatementError("camt.053: the document holds no Stmt")


_DTD_REFUSED = ("camt.053: a document type declaration (DTD) is not allowed in an uploaded statement "
                "(entity expansion and external entities are refused)")


_PROLOG_ITEM = re.compile(r"\s*(?:<\?.*?\?>|<!--.*?-->)", re.DOTALL)


def _check_prolog(text: str) -> None:
    """What comes before the root element (declaration, comments, processing instructions)
    must fit in the head that was read, and hold no document type declaration."""
    position = 1 if text.startswith("\ufeff") else 0
    while True:
        item = _PROLOG_ITEM.match(text, position)
        if item is None or item.end() == position:
            break
        position = item.end()
    rest = text[position:].lstrip()
    if rest.startswith("<!") and not rest.startswith(("<!--", "<![")):
        raise StatementError(_DTD_REFUSED)
    if not rest.startswith("<") or rest.startswith("<!") or rest.startswith("<?"):
        raise StatementError("camt.053: no root element in the first 64 KiB (an over-long prolog is refused)")


def _check_document(element) -> None:
    tree = element.getroottree()
    if tree.docinfo.doctype:
        raise StatementError(_DTD_REFUSED)
    root = tree.getroot()
    version = camt_version(root.tag if isinstance(root.tag, str) else "")
    if version is None or version < "001.02":
        raise StatementError(f"camt.053: the root element {root.tag!r} is not a camt.053.001.02+ Document")


class _Reader:
    def __init__(self) -> None:
        self.sections = 0
        self.stmt = None              # the Stmt element whose entries are streaming
        self.header: dict = {}
        self.tally = SectionTally(-1, "")
        self.ordinal = 0              # entries so far in the file
        self.refs = SyntheticRefs()

    def section_start(self, stmt, ntry) -> SectionStart:
        if stmt is None or _local(stmt.tag) != "Stmt":
            raise StatementError("camt.053: an Ntry outside a Stmt", where=f"line {ntry.sourceline}")
        self.stmt = stmt
        header = self.header = _statement_header(stmt)
        self.tally = SectionTally(self.sections, header["account"])
        self.sections += 1
        return SectionStart(self.tally.index, header["account"], "VND", header["ref"], header["bank_bin"],
                            header["from"], header["to"], header["opening"])

    def statement_end(self, stmt) -> SectionEnd:
        header = self.header
        end = self.tally.end(header["opening"], header["closing"], header["from"], header["to"])
        self.stmt = None
        stmt.clear()
        parent = stmt.getparent()
        if parent is not None:
            while stmt.getprevious() is not None:
                del parent[0]
        return end

    def entry(self, ntry, stmt) -> StatementEntry:
        self.ordinal += 1
        line = ntry.sourceline or 0
        transfer, booking, synthetic = self._transfer(ntry, f"line {line} (entry {self.ordinal})", line)
        self.tally.add(transfer)
        ntry.clear()
        while ntry.getprevious() is not None:
            del stmt[0]
        return StatementEntry(self.tally.index, line, transfer, booking, synthetic)

    def _transfer(self, ntry, where: str, line: int) -> tuple[BankTransfer, date, bool]:
        header = self.header
        amount_el = indicator = reversal = status = booking = value = ref = None
        extra_info = ""
        details = []
        for child in ntry:
            name = _LOCAL.get(child.tag) or _local(child.tag)
            if name == "Amt":
                amount_el = child
            elif name == "CdtDbtInd":
                indicator = child.text
            elif name == "RvslInd":
                reversal = _text(child).lower() in ("true", "1")
            elif name == "Sts":
                status = _text(child[0]) if len(child) else _text(child)
            elif name == "BookgDt":
                booking = child
            elif name == "ValDt":
                value = child
            elif name == "AcctSvcrRef":
                ref = _text(child)
            elif name == "NtryDtls":
                details.extend(tx for tx in child if _local(tx.tag) == "TxDtls")
            elif name == "AddtlNtryInf":
                extra_info = child.text or ""
        ref_hint = f", AcctSvcrRef {ref}" if ref else ""
        if amount_el is None:
            raise StatementError(f"entry without Amt{ref_hint}", where=where)
        amount = entry_amount(_amount(amount_el, f"{where}{ref_hint}"), line=line, where=where)
        indicator = (indicator or "").strip()
        if indicator not in ("CRDT", "DBIT"):
            raise StatementError(f"CdtDbtInd {indicator!r} is neither CRDT nor DBIT{ref_hint}", where=where)
        if status is None:
            status = "BOOK"
        if status != "BOOK" and status not in _PENDING:
            raise StatementError(f"entry status {status!r} is not BOOK or PDNG{ref_hint}", where=where)
        if booking is None:
            raise StatementError(f"entry without BookgDt{ref_hint}", where=where)
        booked_at, booking_day = _date_or_time(booking, where)
        value_day = _date_or_time(value, where)[1] if value is not None else None
        if len(details) > 1:
            raise StatementError(f"a batch entry of {len(details)} transactions (several TxDtls) is not "
                                 f"supported{ref_hint}", where=where)
        tx = _details(details[0]) if details else _NO_DETAILS
        direction = IN if indicator == "CRDT" else OUT
        ustrd = tx["Ustrd"]
        content = " ".join(ustrd) if ustrd else (tx["AddtlTxInf"] or extra_info)
        content = content.strip()
        ref = ref or tx["AcctSvcrRef"]
        # The counterparty is the payer of a credit and the payee of a debit.
        other, ours = ("Dbtr", "Cdtr") if direction == IN else ("Cdtr", "Dbtr")
        counter_name = tx[other] or tx[f"Ultmt{other}"]
        account = header["account"]
        virtual = tx[f"{ours}Acct"]
        if virtual == account:
            virtual = None
        synthetic = not ref
        if not ref:
            ref = self.refs.make(account, booking_day, amount, direction, content)
        extra = {}
        end_to_end = tx["EndToEndId"]
        if end_to_end and end_to_end.upper() not in _NOT_PROVIDED:
            extra["end_to_end_id"] = end_to_end
        if status != "BOOK":
            extra["status"] = status
        transfer = BankTransfer(
            account=account, bank_ref=ref, amount=amount, direction=direction, booked_at=booked_at,
            content=content, bank_bin=header["bank_bin"], counter_account=tx[f"{other}Acct"],
            counter_name=counter_name, counter_bank=tx[f"{other}Agt"], virtual_account=virtual,
            value_date=value_day, reversal=bool(reversal), pending=status != "BOOK", extra=extra)
        return transfer, booking_day, synthetic


_DETAIL_KEYS = ("Ustrd", "AddtlTxInf", "AcctSvcrRef", "EndToEndId", "Dbtr", "Cdtr", "UltmtDbtr", "UltmtCdtr",
                "DbtrAcct", "CdtrAcct", "DbtrAgt", "CdtrAgt")
_NO_DETAILS: dict = dict.fromkeys(_DETAIL_KEYS)
_PARTIES = {"Dbtr", "Cdtr", "UltmtDbtr", "UltmtCdtr"}
_ACCOUNTS = {"DbtrAcct", "CdtrAcct"}
_AGENTS = {"DbtrAgt", "CdtrAgt"}


def _details(tx) -> dict:
    """What the service reads of a ``TxDtls``, by walking only the branches it needs."""
    found = dict(_NO_DETAILS)
    for part in tx:
        name = _LOCAL.get(part.tag) or _local(part.tag)
        if name == "RmtInf":
            found["Ustrd"] = [u.text or "" for u in part if _local(u.tag) == "Ustrd"]
        elif name == "Refs":
            for child in part:
                key = _local(child.tag)
                if key in ("AcctSvcrRef", "EndToEndId"):
                    found[key] = _text(child) or None
        elif name == "RltdPties":
            for child in part:
                key = _LOCAL.get(child.tag) or _local(child.tag)
                if key in _PARTIES:
                    found[key] = _party_name(child)
                elif key in _ACCOUNTS:
                    found[key] = _account_id(child)
        elif name == "RltdAgts":
            for child in part:
                key = _LOCAL.get(child.tag) or _local(child.tag)
                if key in _AGENTS:
                    found[key] = _agent_id(child)
        elif name == "AddtlTxInf":
            found["AddtlTxInf"] = part.text or ""
    return found


def _party_name(party) -> str | None:
    """``Nm`` of a party (``Pty/Nm`` from camt.053.001.08)."""
    for child in party:
        name = _LOCAL.get(child.tag) or _local(child.tag)
        if name == "Nm":
            return _text(child) or None
        if name == "Pty":
            return _party_name(child)
    return None


def _account_id(account) -> str | None:
    """``Id/IBAN`` or ``Id/Othr/Id`` of an account."""
    for child in account:
        if (_LOCAL.get(child.tag) or _local(child.tag)) == "Id":
            for scheme in child:
                name = _LOCAL.get(scheme.tag) or _local(scheme.tag)
                if name == "IBAN":
                    return _text(scheme) or None
                if name == "Othr":
                    return _child_text(scheme, "Id")
    return None


_AGENT_RANK = {"ClrSysMmbId": 0, "BICFI": 1, "BIC": 2, "Nm": 3}


def _agent_id(agent) -> str | None:
    """A bank: its clearing member id (the BIN), else its BIC, else its name."""
    best: tuple[int, str] | None = None
    for child in agent:
        if (_LOCAL.get(child.tag) or _local(child.tag)) != "FinInstnId":
            continue
        for field in child:
            name = _LOCAL.get(field.tag) or _local(field.tag)
            rank = _AGENT_RANK.get(name)
            if rank is None:
                continue
            value = _child_text(field, "MmbId") if name == "ClrSysMmbId" else (_text(field) or None)
            if value and (best is None or rank < best[0]):
                best = (rank, value)
    return best[1] if best else None


def _child_text(element, *path: str) -> str | None:
    """The stripped text at ``path`` (local names) below ``element``, or None."""
    for name in path:
        for child in element:
            if _local(child.tag) == name:
                element = child
                break
        else:
            return None
    return _text(element) or None


def _statement_header(stmt) -> dict:
    where = f"line {stmt.sourceline}"
    header: dict = {"ref": None, "account": None, "bank_bin": None, "from": None, "to": None,
                    "opening": None, "closing": None}
    fallback_opening = None
    for child in stmt:
        name = _local(child.tag)
        if name == "Id":
            header["ref"] = _text(child) or None
        elif name == "FrToDt":
            for part in child:
                key = {"FrDtTm": "from", "ToDtTm": "to", "FrDt": "from", "ToDt": "to"}.get(_local(part.tag))
                if key:
                    header[key] = _day(_text(part), where)
        elif name == "Acct":
            fields: dict[str, list] = {}
            _flatten(child, "", fields)
            account = fields.get("Id/IBAN") or fields.get("Id/Othr/Id")
            if account:
                header["account"] = _text(account[0])
            currency = fields.get("Ccy")
            if currency and _text(currency[0]) != "VND":
                raise StatementError(f"account currency {_text(currency[0])}: only VND statements are read",
                                     where=where)
            member = fields.get("Svcr/FinInstnId/ClrSysMmbId/MmbId")
            if member and re.fullmatch(r"\d{6}", _text(member[0])):
                header["bank_bin"] = _text(member[0])
        elif name == "Bal":
            code, balance = _balance(child)
            if code == "OPBD":
                header["opening"] = balance
            elif code == "PRCD":
                fallback_opening = balance
            elif code == "CLBD":
                header["closing"] = balance
    if header["opening"] is None:
        header["opening"] = fallback_opening
    if not header["account"]:
        raise StatementError("Stmt without Acct/Id (IBAN or Othr/Id)", where=where)
    return header


def _balance(bal) -> tuple[str | None, int]:
    where = f"line {bal.sourceline} (Bal)"
    fields: dict[str, list] = {}
    _flatten(bal, "", fields)
    code_el = fields.get("Tp/CdOrPrtry/Cd") or fields.get("Tp/CdOrPrtry/Prtry")
    code = _text(code_el[0]) if code_el else None
    amount_el = fields.get("Amt")
    if not amount_el:
        raise StatementError(f"balance {code} without Amt", where=where)
    amount = _amount(amount_el[0], where, zero_ok=True)
    indicator = _text(fields["CdtDbtInd"][0]) if fields.get("CdtDbtInd") else "CRDT"
    if indicator not in ("CRDT", "DBIT"):
        raise StatementError(f"balance {code}: CdtDbtInd {indicator!r} is neither CRDT nor DBIT", where=where)
    return code, -amount if indicator == "DBIT" else amount


def _amount(element, where: str, *, zero_ok: bool = False) -> int:
    currency = element.get("Ccy")
    text = element.text or ""
    if currency != "VND":
        raise StatementError(f"amount {text.strip()!r} in currency {currency!r}: only VND is read", where=where)
    match = _AMOUNT.match(text)
    if not match:
        raise StatementError(f"amount {text.strip()!r} is not a decimal number", where=where)
    whole, fraction = match.groups()
    if fraction and fraction.strip("0"):
        raise StatementError(f"amount '{text.strip()}' is not a whole number of đồng", where=where)
    amount = int(whole)
    if amount == 0 and not zero_ok:
        raise StatementError("amount 0: an entry moves money", where=where)
    return amount


def _date_or_time(element, where: str) -> tuple[datetime, date]:
    """``<Dt>`` (00:00 Indochina Time of that day) or ``<DtTm>`` (an offset-less time is ICT)."""
    for child in element:
        name = _local(child.tag)
        text = _text(child)
        if name == "Dt":
            day = _day(text, where)
            return midnight_ict(day), day
        if name == "DtTm":
            moment = _moment(text, where)
            return moment, moment.astimezone(ICT).date()
    raise StatementError(f"{_local(element.tag)} without Dt or DtTm", where=where)


def _moment(text: str, where: str) -> datetime:
    try:
        return ict_moment(datetime.fromisoformat(text))
    except ValueError:
        raise StatementError(f"{text!r} is not an ISO 8601 date-time", where=where) from None


def _day(text: str, where: str) -> date:
    try:
        if "T" in text:
            return _moment(text, where).astimezone(ICT).date()
        return date.fromisoformat(text[:10])
    except ValueError:
        raise StatementError(f"{text!r} is not an ISO 8601 date", where=where) from None

