"""Which of the statement shapes a file is, from its first bytes (never from its name:
finance officers rename files, and banks name them anything).

- ``xlsx``: a zip archive (Office Open XML); ``xls``: an OLE2 compound file (BIFF8).
- ``camt053``: XML whose root is in a ``camt.053.001.NN`` namespace, NN >= 02.
- ``mt940``: text in a SWIFT envelope (``{1:...}{2:O940...}``), or with a ``:20:`` field and
  another statement field (``:25:``, ``:28C:``, ``:60F:``, ``:61:``, ``:NS:``...) at the start of
  a line, whatever comes first (bank header lines, ``:940:``) and whatever the line ends
  (LF, CRLF or CR); also any text with two or more SWIFT fields, so that an MT940 file the
  reader refuses is refused as MT940 (naming its line and field), never read as a CSV.
- ``csv``: any other UTF-8 or UTF-16 text; whether it really is a statement is decided by
  finding its header row.

Also recognised, to refuse them with a useful message: other ISO 20022 messages (camt.052,
camt.054, pain...), other XML, and the HTML pages some banks save under an ``.xls`` name.
"""
from __future__ import annotations

import codecs
import re

from .model import StatementError

ZIP_MAGIC = b"PK\x03\x04"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
CAMT053_NS = re.compile(r"urn:iso:std:iso:20022:tech:xsd:camt\.053\.001\.(\d{2})")
_ANY_ISO_NS = re.compile(r"urn:iso:std:iso:20022:tech:xsd:([a-z]{4}\.\d{3}\.\d{3}\.\d{2})")
_MT940_START = re.compile(r"^(?:\{4:)?:20:", re.MULTILINE)
_MT940_MORE = re.compile(r"^:(25P?|28C?|60[FM]?|61|62[FM]?|86|NS):", re.MULTILINE)
_SWIFT_ENVELOPE = re.compile(r"\{1:[A-Z0-9]*\}\s*\{2:[IO]940")
_SWIFT_FIELD = re.compile(r"^:(\d{2}[A-Z]?|NS):", re.MULTILINE)


def text_encoding(head: bytes) -> str | None:
    """The text encoding a byte-order mark announces, else UTF-8 if the head decodes as it."""
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A character cut by the end of the head is fine; anything earlier is not UTF-8.
        if exc.start < len(head) - 3 or exc.reason != "unexpected end of data":
            return None
    return "utf-8"


def decode_head(head: bytes) -> str | None:
    encoding = text_encoding(head)
    if encoding is None:
        return None
    return head.decode(encoding, errors="ignore")


def camt_version(text: str) -> str | None:
    match = CAMT053_NS.search(text)
    return f"001.{match.group(1)}" if match else None


def detect_format(head: bytes) -> str:
    """``'camt053' | 'mt940' | 'xlsx' | 'xls' | 'csv'`` for the first bytes of a file."""
    if not head:
        raise StatementError("the file is empty")
    if head.startswith(ZIP_MAGIC):
        return "xlsx"
    if head.startswith(OLE2_MAGIC):
        return "xls"
    text = decode_head(head)
    if text is None and looks_like_mt940(head.decode("latin-1")):
        return "mt940"  # in an 8-bit code page: the reader refuses it, naming the line
    if text is None or "\x00" in text:
        raise StatementError("unrecognised file: not a camt.053 XML, MT940, xlsx, xls or CSV statement "
                             "(binary content that is neither a zip nor an OLE2 file)")
    start = text.lstrip("\ufeff \t\r\n")[:512].lower()
    if start.startswith(("<!doctype html", "<html", "<table", "<meta")) or (
            start.startswith("<?xml") and "<html" in start):
        raise StatementError("the file is an HTML page (some banks save one under an .xls name), "
                             "not a statement: open it and save it as .xlsx, or download the CSV export")
    if start.startswith("<"):
        version = camt_version(text)
        if version is None:
            other = _ANY_ISO_NS.search(text)
            if other:
                raise StatementError(f"XML in namespace {other.group(1)}, not a camt.053 statement "
                                     "(only BankToCustomerStatement, camt.053.001.02 and later, is read)")
            raise StatementError("XML, but not a camt.053 statement: no "
                                 "urn:iso:std:iso:20022:tech:xsd:camt.053.001.NN namespace at its start")
        if version < "001.02":
            raise StatementError(f"camt.053 version {version} is too old: 001.02 and later are read")
        return "camt053"
    if looks_like_mt940(text):
        return "mt940"
    return "csv"


def looks_like_mt940(text: str) -> bool:
    lines = "\n".join(line.strip() for line in text.replace("\r\n", "\n").replace("\r", "\n").split("\n"))
    if _SWIFT_ENVELOPE.search(lines):
        return True
    if _MT940_START.search(lines) and _MT940_MORE.search(lines):
        return True
    return len(set(_SWIFT_FIELD.findall(lines))) >= 2
