"""Exports of bank transactions, allocations, exceptions and refunds to CSV and XLSX, for a date range
and optionally one account.

- Headers and labels are in the page's language (Vietnamese first, English through the catalogue); amounts are whole đồng written as numbers (XLSX number cells with
  a thousands format; plain digits in CSV), never as formatted text; times are Indochina Time.
- Rows are read in batches by key, each batch its own short read transaction, and written as
  they come: XLSX through XlsxWriter's ``constant_memory`` mode, so a year of a busy account
  takes the memory of one batch, and callbacks are never held up behind an export.
- Text from outside (a transfer's content, a payer's name) is written as text: XLSX string
  cells, and in CSV a leading ``= + - @`` is quoted away so a spreadsheet never runs it as a
  formula.
"""
from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO, Any, Callable, Iterator

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from core.clock import ict_day_bounds, to_ict
from core.vocabulary import N_
from payments.models import CollectionAccount, Dossier, PaymentRequest

from reconciliation.web.finance_forms import ExportFilters
from reconciliation.web.finance_labels import Labels
from reconciliation.models import Allocation, BankTransaction, CashPayment, ReconException, Refund

def _say(text: str) -> str:
    """A header or word of the file in the current language (Vietnamese outside the app)."""
    from flask import has_app_context
    from flask_babel import gettext

    return gettext(text) if has_app_context() else text


BATCH = 2000
XLSX_MAX_ROWS = 1_048_576
KINDS = ("transactions", "allocations", "exceptions", "refunds")
FORMATS = ("csv", "xlsx")


@dataclass(frozen=True)
class Column:
    header: str
    kind: str  # text | money | int | datetime | date | ratio | yesno
    width: int = 14


@dataclass(frozen=True)
class Export:
    kind: str
    sheet: str
    file_stem: str
    columns: tuple[Column, ...]
    rows: Callable[[Session, ExportFilters, Labels], Iterator[tuple]]


def _batches(session: Session, query: Select, key: Callable[[Any], tuple], after: Callable[[tuple], Any]) -> Iterator:
    """Rows of ``query`` in key order, BATCH at a time; the read transaction ends between batches."""
    last: tuple | None = None
    while True:
        page = query if last is None else query.where(after(last))
        rows = session.execute(page.limit(BATCH)).all()
        session.rollback()  # end the read: a writer (a bank's callback) never waits on an export
        if not rows:
            return
        yield from rows
        if len(rows) < BATCH:
            return
        last = key(rows[-1])


def _ict(value: datetime | None) -> datetime | None:
    return to_ict(value).replace(tzinfo=None) if value is not None else None


# --- transactions ------------------------------------------------------------------------------------


def _transaction_rows(session: Session, f: ExportFilters, fin: Labels) -> Iterator[tuple]:
    t = BankTransaction
    query = select(t.id, t.booked_on, t.booked_at, t.bank_ref, t.bank_bin, t.account_number, t.direction, t.amount,
                   t.allocated, t.status, t.disposition, t.content, t.counter_name, t.counter_account, t.counter_bank,
                   t.channels, t.on_statement, t.reversal, t.pending) \
        .where(t.booked_on >= f.day_from, t.booked_on <= f.day_to)
    if f.account:
        query = query.where(t.account_number == f.account)
    query = query.order_by(t.booked_at, t.id)
    for r in _batches(session, query, key=lambda r: (r.booked_at, r.id),
                      after=lambda last: or_(t.booked_at > last[0], and_(t.booked_at == last[0], t.id > last[1]))):
        yield (r.booked_on, _ict(r.booked_at), r.bank_ref, r.bank_bin, r.account_number, fin.direction(r.direction),
               r.amount, r.allocated, r.amount - r.allocated if r.direction == "in" else 0,
               fin.transaction_status(r.status, r.disposition), r.content, r.counter_name, r.counter_account,
               r.counter_bank, ", ".join(fin.channel(c) for c in (r.channels or "").split(",") if c),
               r.on_statement, r.reversal, r.pending)


TRANSACTIONS = Export("transactions", N_("Giao dịch"), "giao-dich", (
    Column(N_("Ngày hạch toán"), "date", 12),
    Column(N_("Thời điểm (giờ Việt Nam)"), "datetime", 19),
    Column(N_("Mã giao dịch ngân hàng"), "text", 22),
    Column(N_("Mã ngân hàng (BIN)"), "text", 10),
    Column(N_("Tài khoản"), "text", 16),
    Column(N_("Chiều"), "text", 9),
    Column(N_("Số tiền (đồng)"), "money", 15),
    Column(N_("Đã phân bổ (đồng)"), "money", 15),
    Column(N_("Chưa phân bổ (đồng)"), "money", 15),
    Column(N_("Trạng thái"), "text", 16),
    Column(N_("Nội dung chuyển khoản"), "text", 50),
    Column(N_("Người chuyển"), "text", 24),
    Column(N_("Tài khoản người chuyển"), "text", 18),
    Column(N_("Ngân hàng người chuyển"), "text", 12),
    Column(N_("Kênh báo"), "text", 18),
    Column(N_("Có trên sao kê"), "yesno", 8),
    Column(N_("Bút toán đảo"), "yesno", 8),
    Column(N_("Chờ hạch toán"), "yesno", 8),
), _transaction_rows)


# --- allocations -------------------------------------------------------------------------------------


def _allocation_rows(session: Session, f: ExportFilters, fin: Labels) -> Iterator[tuple]:
    a, t = Allocation, BankTransaction
    start, end = ict_day_bounds(f.day_from)[0], ict_day_bounds(f.day_to)[1]
    query = (select(a.id, a.created_at, Dossier.code, PaymentRequest.reference, a.amount, a.payment_channel,
                    a.transaction_id, t.bank_ref, t.account_number, CashPayment.receipt_number, a.rule, a.confidence,
                    a.created_by, a.reversed_at, a.reversed_by, a.reverse_reason)
             .join(Dossier, a.dossier_id == Dossier.id)
             .outerjoin(PaymentRequest, a.payment_request_id == PaymentRequest.id)
             .outerjoin(t, a.transaction_id == t.id)
             .outerjoin(CashPayment, a.cash_payment_id == CashPayment.id)
             .where(a.created_at >= start, a.created_at < end))
    if f.account:
        query = query.where(t.account_number == f.account)
    query = query.order_by(a.id)
    for r in _batches(session, query, key=lambda r: (r.id,), after=lambda last: a.id > last[0]):
        yield (r.id, _ict(r.created_at), r.code, r.reference, r.amount, fin.payment_channel(r.payment_channel),
               _say(N_("Chuyển khoản")) if r.transaction_id else _say(N_("Tiền mặt")), r.bank_ref, r.account_number, r.receipt_number,
               fin.rule(r.rule), r.confidence, fin.actor(r.created_by), _ict(r.reversed_at), fin.actor(r.reversed_by),
               r.reverse_reason)


ALLOCATIONS = Export("allocations", N_("Phân bổ"), "phan-bo", (
    Column(N_("Mã phân bổ"), "int", 10),
    Column(N_("Thời điểm phân bổ (giờ Việt Nam)"), "datetime", 19),
    Column(N_("Mã hồ sơ"), "text", 26),
    Column(N_("Mã thanh toán"), "text", 14),
    Column(N_("Số tiền (đồng)"), "money", 15),
    Column(N_("Hình thức thanh toán"), "text", 24),
    Column(N_("Nguồn tiền"), "text", 12),
    Column(N_("Mã giao dịch ngân hàng"), "text", 22),
    Column(N_("Tài khoản nhận"), "text", 16),
    Column(N_("Số biên lai tiền mặt"), "text", 14),
    Column(N_("Quy tắc ghép"), "text", 30),
    Column(N_("Mức chắc chắn"), "ratio", 9),
    Column(N_("Người hoặc quy tắc thực hiện"), "text", 22),
    Column(N_("Đã gỡ lúc (giờ Việt Nam)"), "datetime", 19),
    Column(N_("Người gỡ"), "text", 16),
    Column(N_("Lý do gỡ"), "text", 30),
), _allocation_rows)


# --- exceptions --------------------------------------------------------------------------------------


def _exception_rows(session: Session, f: ExportFilters, fin: Labels) -> Iterator[tuple]:
    e, t = ReconException, BankTransaction
    start, end = ict_day_bounds(f.day_from)[0], ict_day_bounds(f.day_to)[1]
    query = (select(e.id, e.reason, e.status, e.created_at, e.deadline, e.owner, e.amount, t.bank_ref,
                    t.account_number, CollectionAccount.number.label("exception_account"), t.amount.label("t_amount"),
                    t.content, t.counter_name, Dossier.code, e.detail, e.resolved_at, e.resolved_by, e.resolution)
             .outerjoin(t, e.transaction_id == t.id)
             .outerjoin(Dossier, e.dossier_id == Dossier.id)
             .outerjoin(CollectionAccount, e.account_id == CollectionAccount.id)
             .where(e.created_at >= start, e.created_at < end))
    if f.account:
        query = query.where(or_(t.account_number == f.account, CollectionAccount.number == f.account))
    query = query.order_by(e.id)
    for r in _batches(session, query, key=lambda r: (r.id,), after=lambda last: e.id > last[0]):
        owner = fin.actor(r.owner if r.owner is None or ":" in r.owner else f"user:{r.owner}")
        yield (r.id, fin.reason(r.reason), fin.exception_status(r.status), _ict(r.created_at), r.deadline, owner,
               r.amount or r.t_amount, r.bank_ref, r.account_number or r.exception_account, r.t_amount, r.content,
               r.counter_name, r.code, r.detail, _ict(r.resolved_at), fin.actor(r.resolved_by),
               fin.resolution(r.resolution))


EXCEPTIONS = Export("exceptions", N_("Cần xử lý"), "can-xu-ly", (
    Column(N_("Mã mục"), "int", 8),
    Column(N_("Lý do"), "text", 28),
    Column(N_("Trạng thái"), "text", 11),
    Column(N_("Tạo lúc (giờ Việt Nam)"), "datetime", 19),
    Column(N_("Hạn xử lý"), "date", 12),
    Column(N_("Người phụ trách"), "text", 14),
    Column(N_("Số tiền liên quan (đồng)"), "money", 15),
    Column(N_("Mã giao dịch ngân hàng"), "text", 22),
    Column(N_("Tài khoản"), "text", 16),
    Column(N_("Số tiền giao dịch (đồng)"), "money", 15),
    Column(N_("Nội dung chuyển khoản"), "text", 50),
    Column(N_("Người chuyển"), "text", 24),
    Column(N_("Mã hồ sơ"), "text", 26),
    Column(N_("Chi tiết"), "text", 50),
    Column(N_("Xử lý lúc (giờ Việt Nam)"), "datetime", 19),
    Column(N_("Người xử lý"), "text", 16),
    Column(N_("Cách xử lý"), "text", 40),
), _exception_rows)

# --- refunds -----------------------------------------------------------------------------------------


def _refund_rows(session: Session, f: ExportFilters, fin: Labels) -> Iterator[tuple]:
    r_, t = Refund, BankTransaction
    start, end = ict_day_bounds(f.day_from)[0], ict_day_bounds(f.day_to)[1]
    query = (select(r_.id, r_.requested_at, r_.amount, r_.status, r_.reason, Dossier.code, t.bank_ref,
                    t.account_number, r_.beneficiary_bank, r_.beneficiary_account, r_.beneficiary_name,
                    r_.requested_by, r_.decided_at, r_.decided_by, r_.decision_note, r_.paid_at, r_.payout_ref)
             .outerjoin(t, r_.transaction_id == t.id)
             .outerjoin(Dossier, r_.dossier_id == Dossier.id)
             .where(r_.requested_at >= start, r_.requested_at < end))
    if f.account:
        query = query.where(t.account_number == f.account)
    query = query.order_by(r_.id)
    for r in _batches(session, query, key=lambda r: (r.id,), after=lambda last: r_.id > last[0]):
        yield (r.id, _ict(r.requested_at), r.amount, fin.refund_status(r.status), r.reason, r.code, r.bank_ref,
               r.account_number, r.beneficiary_bank, r.beneficiary_account, r.beneficiary_name,
               fin.actor(r.requested_by), _ict(r.decided_at), fin.actor(r.decided_by), r.decision_note,
               _ict(r.paid_at), r.payout_ref)


REFUNDS = Export("refunds", N_("Hoàn trả"), "hoan-tra", (
    Column(N_("Mã đề nghị"), "int", 10),
    Column(N_("Đề nghị lúc (giờ Việt Nam)"), "datetime", 19),
    Column(N_("Số tiền hoàn (đồng)"), "money", 15),
    Column(N_("Trạng thái"), "text", 18),
    Column(N_("Lý do"), "text", 40),
    Column(N_("Mã hồ sơ"), "text", 26),
    Column(N_("Mã giao dịch ngân hàng"), "text", 22),
    Column(N_("Tài khoản nhận tiền"), "text", 16),
    Column(N_("Ngân hàng người nhận (BIN)"), "text", 10),
    Column(N_("Tài khoản người nhận"), "text", 18),
    Column(N_("Tên người nhận"), "text", 24),
    Column(N_("Người đề nghị"), "text", 20),
    Column(N_("Duyệt hoặc từ chối lúc (giờ Việt Nam)"), "datetime", 19),
    Column(N_("Người duyệt"), "text", 20),
    Column(N_("Ghi chú duyệt"), "text", 30),
    Column(N_("Chuyển trả lúc (giờ Việt Nam)"), "datetime", 19),
    Column(N_("Mã lệnh chuyển trả"), "text", 22),
), _refund_rows)

EXPORTS = {x.kind: x for x in (TRANSACTIONS, ALLOCATIONS, EXCEPTIONS, REFUNDS)}


# --- writers -----------------------------------------------------------------------------------------

_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def csv_cell(kind: str, value: Any) -> str:
    if value is None:
        return ""
    if kind == "yesno":
        return _say(N_("Có")) if value else _say(N_("Không"))
    if kind == "datetime":
        return value.strftime("%Y-%m-%d %H:%M:%S")
    if kind == "date":
        return value.isoformat()
    if kind in ("money", "int"):
        return str(int(value))
    if kind == "ratio":
        return f"{float(value):.2f}"
    text = str(value)
    return "'" + text if text.startswith(_FORMULA_START) else text


def write_csv(out: IO[bytes], export: Export, rows: Iterator[tuple]) -> int:
    """UTF-8 with a byte-order mark (spreadsheets then read the Vietnamese right), comma-separated."""
    text = io.TextIOWrapper(out, encoding="utf-8-sig", newline="", write_through=True)
    writer = csv.writer(text)
    writer.writerow([_say(c.header) for c in export.columns])
    count = 0
    for row in rows:
        writer.writerow([csv_cell(c.kind, v) for c, v in zip(export.columns, row)])
        count += 1
    text.flush()
    text.detach()  # leave ``out`` open for the caller
    return count


def write_xlsx(out: IO[bytes], export: Export, rows: Iterator[tuple]) -> int:
    import xlsxwriter

    book = xlsxwriter.Workbook(out, {"constant_memory": True, "strings_to_numbers": False,
                                     "strings_to_formulas": False, "strings_to_urls": False})
    header = book.add_format({"bold": True, "text_wrap": True, "valign": "top", "bg_color": "#EEF2F6",
                              "border": 1})
    formats = {"money": book.add_format({"num_format": "#,##0"}), "int": book.add_format({"num_format": "0"}),
               "datetime": book.add_format({"num_format": "dd/mm/yyyy hh:mm:ss"}),
               "date": book.add_format({"num_format": "dd/mm/yyyy"}), "ratio": book.add_format({"num_format": "0%"})}
    columns = export.columns
    sheets = 0
    sheet = None
    row_index = 0
    count = 0

    def new_sheet():
        nonlocal sheets
        sheets += 1
        ws = book.add_worksheet(_say(export.sheet) if sheets == 1 else f"{_say(export.sheet)} ({sheets})")
        for i, column in enumerate(columns):
            ws.set_column(i, i, column.width)
        ws.freeze_panes(1, 0)
        for i, column in enumerate(columns):
            ws.write_string(0, i, _say(column.header), header)
        return ws

    sheet = new_sheet()
    row_index = 1
    for row in rows:
        if row_index >= XLSX_MAX_ROWS:
            sheet.autofilter(0, 0, row_index - 1, len(columns) - 1)
            sheet = new_sheet()
            row_index = 1
        for i, (column, value) in enumerate(zip(columns, row)):
            if value is None:
                continue
            if column.kind in ("money", "int"):
                sheet.write_number(row_index, i, int(value), formats[column.kind])
            elif column.kind == "ratio":
                sheet.write_number(row_index, i, float(value), formats["ratio"])
            elif column.kind == "datetime":
                sheet.write_datetime(row_index, i, value, formats["datetime"])
            elif column.kind == "date":
                sheet.write_datetime(row_index, i, datetime.combine(value, datetime.min.time())
                                     if isinstance(value, date) and not isinstance(value, datetime) else value,
                                     formats["date"])
            elif column.kind == "yesno":
                sheet.write_string(row_index, i, _say(N_("Có")) if value else _say(N_("Không")))
            else:
                sheet.write_string(row_index, i, str(value))
        row_index += 1
        count += 1
    sheet.autofilter(0, 0, max(row_index - 1, 1), len(columns) - 1)
    book.close()
    return count


def export(session: Session, kind: str, fmt: str, filters: ExportFilters, out: IO[bytes],
           labels: Labels | None = None) -> int:
    """Write one export to ``out`` (a binary file); returns the number of rows written.
    The labels are whatever locale is active: the finance page forces Vietnamese."""
    spec = EXPORTS[kind]
    rows = spec.rows(session, filters, labels or Labels())
    return write_xlsx(out, spec, rows) if fmt == "xlsx" else write_csv(out, spec, rows)


def file_name(kind: str, fmt: str, filters: ExportFilters) -> str:
    account = f"_{filters.account}" if filters.account else ""
    return f"{EXPORTS[kind].file_stem}{account}_{filters.day_from.isoformat()}_{filters.day_to.isoformat()}.{fmt}"
