"""The labels of Vietnamese banks' Excel/CSV statements, recognised with or without
diacritics, in any case, with the English beside them (``Ngày GD/Date``, ``Có / Credit``,
``GHI CÓ``, ``Số tiền ghi có``).

A label is folded (diacritics and case removed, ``Đ`` → ``d``, punctuation → spaces) and
split on ``/`` and line breaks into its parts (``ngay gd``, ``date``); a column's role is the
strongest role any part names. Folding loses one distinction that matters: ``Nợ`` (debit)
and ``No.`` (the row number) both fold to ``no``, so a bare ``no`` is a debit only when the
original says ``ợ``; likewise ``co`` is a credit only when it says ``ó``.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

# Roles of header columns, strongest first when a label's parts name several.
TXN_DATE = "txn_date"          # when the transaction happened (VietinBank "Ngày phát sinh")
VALUE_DATE = "value_date"
BOOKING_DATE = "booking_date"  # when it was booked: the statement's date column
REF = "ref"
DEBIT = "debit"
CREDIT = "credit"
BALANCE = "balance"
COUNTER_ACCOUNT = "counter_account"
COUNTER_NAME = "counter_name"
COUNTER_BANK = "counter_bank"
DESCRIPTION = "description"
SEQ = "seq"

_ROLE_PHRASES: list[tuple[str, tuple[str, ...]]] = [
    # Counterparty columns first: "Số tài khoản đối ứng" must not read as an account or a reference.
    (COUNTER_ACCOUNT, ("tai khoan doi ung", "tk doi ung", "so tk doi ung", "counter account",
                       "counterparty account", "corresponsive account", "remitter account")),
    (COUNTER_NAME, ("ten doi ung", "ten tai khoan doi ung", "ten tk doi ung", "counterparty name",
                    "counter name", "corresponsive name", "remitter name", "ten nguoi chuyen")),
    (COUNTER_BANK, ("ngan hang doi ung", "counterparty bank", "remitter bank")),
    (TXN_DATE, ("ngay phat sinh", "transaction date", "thoi gian giao dich", "transaction time")),
    (VALUE_DATE, ("ngay gia tri", "value date")),
    (BOOKING_DATE, ("ngay hach toan", "accounting date", "posting date", "ngay hieu luc", "effective date",
                    "ngay giao dich", "ngay gd", "ngay ghi so", "tnx date", "txn date", "trans date", "ngay",
                    "date")),
    (BALANCE, ("so du", "balance", "account balance", "running balance")),
    (DEBIT, ("ghi no", "so tien ghi no", "debit", "debit amount", "phat sinh no", "tien ra", "withdrawal",
             "withdrawals")),
    (CREDIT, ("ghi co", "so tien ghi co", "credit", "credit amount", "phat sinh co", "tien vao", "deposit",
              "deposits")),
    (REF, ("so tham chieu", "tham chieu", "reference", "reference no", "ref no", "ref", "so giao dich",
           "ma giao dich", "transaction number", "transaction no", "transaction id", "so but toan", "but toan",
           "so ct", "so chung tu", "doc no", "ma gd", "so gd", "so ref", "trace no")),
    (DESCRIPTION, ("mo ta", "mo ta giao dich", "dien giai", "noi dung", "noi dung chi tiet", "noi dung giao dich",
                   "description", "transaction description", "narrative", "details", "transactions in detail",
                   "remark", "remarks", "trich yeu")),
    (SEQ, ("stt", "no", "so thu tu", "seq")),
]
_PHRASE_ROLE = {phrase: role for role, phrases in _ROLE_PHRASES for phrase in phrases}
_ROLE_RANK = {role: rank for rank, (role, _) in enumerate(_ROLE_PHRASES)}

TOTAL_LABELS = ("tong cong", "tong", "cong", "total", "cong phat sinh", "tong phat sinh", "tong so", "grand total",
                "sum", "cong ngay", "tong cong phat sinh")
OPENING_LABELS = ("so du dau ky", "so du dau", "du dau ky", "du dau", "opening balance", "beginning balance",
                  "so du dau ngay", "so du ky truoc")
CLOSING_LABELS = ("so du cuoi ky", "so du cuoi", "du cuoi ky", "du cuoi", "closing balance", "ending balance",
                  "so du cuoi ngay")
ACCOUNT_LABELS = ("so tai khoan", "tai khoan", "so tk", "account number", "account no", "account")
_NOT_ACCOUNT = ("ten tai khoan", "account name", "loai tai khoan", "account type", "chu tai khoan",
                "account holder", "tai khoan doi ung", "ten tk")
TITLE_LABELS = ("sao ke tai khoan", "statement of account", "account statement", "lich su giao dich",
                "transaction history", "bao cao chi tiet so du tai khoan", "sao ke giao dich", "bank statement")
CURRENCY_LABELS = ("loai tien", "currency", "don vi tien", "tien te", "ccy", "don vi tinh")
PERIOD_LABELS = ("tu ngay", "from date", "from", "ky sao ke", "period", "thoi gian", "den ngay", "to date")

_SEPARATORS = re.compile(r"[^0-9a-z/\n]+")


@lru_cache(maxsize=4096)
def fold(text: str) -> str:
    """Lower-case, no diacritics, ``đ`` → ``d``, runs of other characters → one space."""
    text = text.replace("đ", "d").replace("Đ", "D")
    text = "".join(ch for ch in unicodedata.normalize("NFD", text) if not unicodedata.combining(ch))
    return _SEPARATORS.sub(" ", text.lower()).strip()


def parts(label: str) -> list[str]:
    return [part.strip() for part in re.split(r"[/\n]", fold(label)) if part.strip()]


@lru_cache(maxsize=1024)
def role_of(label: str) -> str | None:
    """The role a header cell names, or None."""
    raw = unicodedata.normalize("NFC", label).lower()
    best: str | None = None
    for part in parts(label):
        if part == "no":      # "Nợ" is the debit column, "No." the row number
            role = DEBIT if "ợ" in raw else SEQ
        elif part == "co":    # "Có" is the credit column; a bare "co" says nothing
            role = CREDIT if "ó" in raw else None
        elif "doi ung" in part:  # the counterparty: "(Số) tài khoản / TK / tên ... đối ứng"
            role = COUNTER_NAME if part.startswith("ten") else (
                COUNTER_BANK if "ngan hang" in part else COUNTER_ACCOUNT)
        else:
            role = _PHRASE_ROLE.get(part)
        if role is None:
            continue
        if best is None or _ROLE_RANK[role] < _ROLE_RANK[best]:
            best = role
    return best


def starts_with(folded: str, labels: tuple[str, ...]) -> str | None:
    """The label ``folded`` starts with (as whole words), if any."""
    for label in labels:
        if folded == label or folded.startswith(label + " ") or folded.startswith(label + "/"):
            return label
    return None


def is_total(folded: str) -> bool:
    head = re.split(r"\s*/\s*", folded, maxsplit=1)[0]
    return head in TOTAL_LABELS or starts_with(folded, ("tong cong", "cong phat sinh", "tong phat sinh",
                                                         "grand total", "cong ngay")) is not None


def balance_kind(folded: str) -> str | None:
    """``'opening'`` / ``'closing'`` for a balance row's label."""
    if starts_with(folded, OPENING_LABELS):
        return "opening"
    if starts_with(folded, CLOSING_LABELS):
        return "closing"
    return None


def is_account_label(folded: str) -> bool:
    if any(folded.startswith(label) for label in _NOT_ACCOUNT):
        return False
    return starts_with(folded, ACCOUNT_LABELS) is not None


def is_title(folded: str) -> bool:
    return any(label in folded for label in TITLE_LABELS)
