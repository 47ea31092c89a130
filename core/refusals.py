"""Refusals with a code: why a rule said no, named once and told in each audience's language.

A rule raises a ``ServiceError`` (``core.errors``) with a stable ``code`` from ``Refusal`` and
the parameters that explain it (amounts in đồng, days, references). This module is the one
table that turns a code and its parameters into a sentence, Vietnamese first and English
through the message catalogue, for the pages, the CLI and the API (whose problem bodies carry
the code itself, for machines). Pages never guess a reason from the state again: they show
``refusal_text(exc)``.

A refusal without an entry here keeps the ``detail`` it was raised with: only the generic codes
(one per kind of answer) and ``request_gone`` (raised with its Vietnamese sentence already) have
none. ``tests/reconciliation/test_refusals.py`` checks that every other code is raised somewhere
and has its sentence in both languages.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Callable, Mapping

from flask_babel import force_locale, gettext, ngettext

from .money import format_vnd
from .vocabulary import ExceptionStatus, RefundStatus, RequestStatus, label

if TYPE_CHECKING:
    from .errors import ServiceError


class Refusal(StrEnum):
    """Every refusal's stable name (the problem body's ``code``)."""

    # Generic: one per kind of answer, for what has no name of its own.
    BAD_REQUEST = "bad_request"
    INVALID = "invalid"
    NOT_FOUND = "not_found"
    CONFLICT = "conflict"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    TOO_MANY_REQUESTS = "too_many_requests"
    DATABASE_UNAVAILABLE = "database_unavailable"
    DUPLICATE_KEY = "duplicate_key"
    CONCURRENT_CHANGE = "concurrent_change"
    # Dossiers and payment requests (CONTRACT.md names the first four).
    DOSSIER_EXISTS = "dossier_exists"
    NOTHING_DUE = "nothing_due"
    REQUEST_PAID = "request_paid"
    INVALID_DOSSIER = "invalid_dossier"
    INVALID_REQUEST = "invalid_request"
    INVALID_STATUS = "invalid_status"
    INVALID_CANCEL = "invalid_cancel"
    REQUEST_CANCELLED = "request_cancelled"
    AMOUNT_OVER_AVAILABLE = "amount_over_available"
    REQUEST_GONE = "request_gone"
    # Money in: allocations and the day they belong to.
    DAY_CLOSED = "day_closed"
    DAY_ALREADY_CLOSED = "day_already_closed"
    DAY_NOT_CLOSED = "day_not_closed"
    DAY_NOT_OVER = "day_not_over"
    DAY_IN_FUTURE = "day_in_future"
    DAY_NOT_COVERED = "day_not_covered"
    DAY_BLOCKED = "day_blocked"
    MONEY_OUT = "money_out"
    NOT_OUR_ACCOUNT = "not_our_account"
    OVER_ALLOCATION = "over_allocation"
    NOT_A_POSITIVE_AMOUNT = "not_a_positive_amount"
    REQUEST_OF_ANOTHER_DOSSIER = "request_of_another_dossier"
    UNKNOWN_TARGET = "unknown_target"
    NO_TARGET = "no_target"
    NOTHING_TO_ALLOCATE = "nothing_to_allocate"
    NOTHING_TO_UNDO = "nothing_to_undo"
    ALREADY_REVERSED = "already_reversed"
    STILL_ALLOCATED = "still_allocated"
    ALREADY_NOT_OURS = "already_not_ours"
    REASON_REQUIRED = "reason_required"
    CASH_OVER_DUE = "cash_over_due"
    INVALID_CASH = "invalid_cash"
    # Refunds.
    NOT_ON_STATEMENT = "not_on_statement"
    OPEN_QUESTION = "open_question"
    REFUND_OVER_AVAILABLE = "refund_over_available"
    REFUND_NO_LONGER_AVAILABLE = "refund_no_longer_available"
    REFUND_STATE = "refund_state"
    FOUR_EYES = "four_eyes"
    INVALID_REFUND = "invalid_refund"
    PAYOUT_REF_REQUIRED = "payout_ref_required"
    # The exceptions queue.
    EXCEPTION_SETTLED = "exception_settled"
    DEADLINE_PAST = "deadline_past"
    NOTE_REQUIRED = "note_required"
    # Statements.
    EMPTY_STATEMENT = "empty_statement"
    NOT_A_STATEMENT = "not_a_statement"
    UNREADABLE_STATEMENT = "unreadable_statement"
    STATEMENT_AMOUNT_OUT_OF_RANGE = "statement_amount_out_of_range"
    STATEMENT_FIELD_UNREADABLE = "statement_field_unreadable"
    # Staff accounts and sign-in.
    USER_EXISTS = "user_exists"
    UNKNOWN_USER = "unknown_user"
    INVALID_USERNAME = "invalid_username"
    UNKNOWN_ROLE = "unknown_role"
    NO_ROLE = "no_role"
    LAST_ADMIN = "last_admin"
    PASSWORD_LENGTH = "password_length"
    PASSWORD_COMMON = "password_common"
    PASSWORD_MISMATCH = "password_mismatch"
    PASSWORD_UNCHANGED = "password_unchanged"
    WRONG_PASSWORD = "wrong_password"
    TOO_MANY_ATTEMPTS = "too_many_attempts"
    NOT_FINANCE_OFFICER = "not_finance_officer"
    # Receipts: paper receipts of cash, cancellation and replacement (four eyes), issuance.
    PAPER_RECEIPTS_ENDED = "paper_receipts_ended"
    INVALID_RECEIPT_CHANGE = "invalid_receipt_change"
    RECEIPT_NOT_IN_FORCE = "receipt_not_in_force"
    RECEIPT_CHANGE_PENDING = "receipt_change_pending"
    RECEIPT_CHANGE_DECIDED = "receipt_change_decided"
    RECEIPT_FOUR_EYES = "receipt_four_eyes"
    RECEIPT_NOT_FINANCE_OFFICER = "receipt_not_finance_officer"
    RECEIPT_NOT_ISSUED = "receipt_not_issued"
    # Treasury and land financial obligations.
    REFUND_AFTER_REMITTANCE = "refund_after_remittance"
    INVALID_REMITTANCE = "invalid_remittance"
    REMITTANCE_EXISTS = "remittance_exists"
    OBLIGATION_AS_CHARGE = "obligation_as_charge"
    INVALID_OBLIGATION = "invalid_obligation"
    OBLIGATION_PAID = "obligation_paid"
    NOT_A_LAND_DOSSIER = "not_a_land_dossier"
    # The portal's export of the 766 index (reports.portal_export)
    PORTAL_EXPORT_INVALID = "portal_export_invalid"


def N_(text: str) -> str:
    """Marks a sentence for the catalogue (a keyword pybabel knows); translated when rendered."""
    return text


@dataclass(frozen=True)
class _Entry:
    text: str  # the Vietnamese sentence (the catalogue's msgid), %(name)s for each parameter
    money: tuple[str, ...] = ()  # parameters that are amounts in đồng
    days: tuple[str, ...] = ()  # parameters that are days
    labels: Mapping[str, Callable[[str], str]] | None = None  # parameters shown by their label
    when: tuple[str, Any] | None = None  # (parameter, sentence): said instead when the parameter is not empty


def _refund_status(code: str) -> str:
    return label(RefundStatus, code)


def _request_status(code: str) -> str:
    return label(RequestStatus, code)


def _exception_status(code: str) -> str:
    return label(ExceptionStatus, code)


def _act(code: str) -> str:
    """What a reason is asked for (REASON_REQUIRED's ``act``)."""
    return {"match": gettext("ghép: bạn đã kiểm tra những gì"), "unmatch": gettext("gỡ ghép"),
            "not_ours": gettext("vì sao khoản tiền này không thuộc đơn vị"), "undo": gettext("gỡ khoản phân bổ"),
            "reject_refund": gettext("từ chối đề nghị hoàn tiền"), "refund": gettext("hoàn tiền"),
            "withdraw_refund": gettext("rút đề nghị hoàn tiền"), "refund_failed": gettext("ngân hàng trả lời ra sao"),
            "reopen": gettext("mở lại ngày"), "cancel_request": gettext("hủy yêu cầu thanh toán"),
            "settle": gettext("xử lý: đã giải quyết thế nào"), "cancel_receipts": gettext("hủy biên lai")}.get(code, code)


def _wait(seconds: str) -> str:
    """A wait in whole seconds, for people: "45 giây", "3 phút" (minutes rounded up)."""
    try:
        number = max(int(seconds), 1)
    except ValueError:
        return seconds
    if number < 60:
        return ngettext("%(num)d giây", "%(num)d giây", number)
    return ngettext("%(num)d phút", "%(num)d phút", -(-number // 60))


def _export_where(where: str) -> str:
    """Where a portal export is at fault: ``file``, ``column:<name>``, ``row:<n>`` or ``row:<n>:<column>``."""
    parts = where.split(":", 2)
    if parts[0] == "column" and len(parts) > 1:
        return gettext("cột “%(column)s”", column=parts[1])
    if parts[0] == "row" and len(parts) > 2:
        return gettext("dòng %(row)s, cột “%(column)s”", row=parts[1], column=parts[2])
    if parts[0] == "row" and len(parts) > 1:
        return gettext("dòng %(row)s", row=parts[1])
    return gettext("cả tệp")


def _export_problem(code: str) -> str:
    return {"empty": gettext("không có dòng số liệu nào"),
            "unreadable": gettext("không phải tệp CSV (UTF-8) hay XLSX đọc được"),
            "too_many_rows": gettext("quá nhiều dòng"),
            "missing_column": gettext("thiếu cột này (xem các tên cột được chấp nhận trong hướng dẫn)"),
            "duplicate_column": gettext("cột này có hai lần"),
            "missing_value": gettext("ô này để trống"),
            "too_long": gettext("quá dài"),
            "duplicate_unit": gettext("đơn vị này đã có ở dòng trước"),
            "duplicate_dossier": gettext("hồ sơ này đã có ở dòng trước"),
            "not_a_count": gettext("không phải số nguyên không âm"),
            "not_a_rate": gettext("không phải tỷ lệ từ 0 đến 1 hay phần trăm từ 0 đến 100"),
            "numerator_over_denominator": gettext("tử số lớn hơn mẫu số"),
            "not_a_flag": gettext("cờ thanh toán trực tuyến phải là 0, 1 hoặc 2")}.get(code, code)


R = Refusal
NOTHING_CHANGED = N_("Chưa có gì thay đổi.")

MESSAGES: dict[Refusal, _Entry] = {
    R.DOSSIER_EXISTS: _Entry(N_("Đã có hồ sơ mang mã %(code)s (mã hồ sơ hoặc mã trên Cổng Dịch vụ công).")),
    R.NOTHING_DUE: _Entry(N_("Hồ sơ %(dossier)s không còn khoản nào phải nộp."), when=("open_requests", N_(
        "Số còn phải nộp của hồ sơ %(dossier)s đã nằm trong yêu cầu đang mở %(open_requests)s: in lại thẻ của yêu "
        "cầu đó, hoặc hủy nó trước khi tạo yêu cầu mới."))),
    R.REQUEST_PAID: _Entry(N_("Yêu cầu thanh toán %(reference)s đang ở trạng thái “%(status)s”: không hủy được."),
                           labels={"status": _request_status}),
    R.REQUEST_CANCELLED: _Entry(N_("Yêu cầu thanh toán %(reference)s đã bị hủy trước đó.")),
    R.AMOUNT_OVER_AVAILABLE: _Entry(N_("Số tiền %(amount)s lớn hơn số còn có thể yêu cầu (%(available)s)."),
                                    money=("amount", "available")),
    R.DAY_CLOSED: _Entry(N_("Ngày %(day)s của tài khoản %(account)s đã khóa sổ: mở lại ngày (ghi rõ lý do) rồi mới "
                            "thay đổi phân bổ."), days=("day",)),
    R.DAY_ALREADY_CLOSED: _Entry(N_("Ngày %(day)s của tài khoản %(account)s đã khóa sổ rồi: mở lại ngày (ghi rõ lý "
                                    "do) nếu cần chạy lại; chạy thử thì không cần mở lại."), days=("day",)),
    R.DAY_NOT_CLOSED: _Entry(N_("Ngày %(day)s của tài khoản %(account)s chưa khóa sổ, nên không có gì để mở lại."),
                             days=("day",)),
    R.DAY_NOT_OVER: _Entry(N_("Ngày %(day)s chưa kết thúc (giờ Việt Nam): chỉ khóa sổ được một ngày đã qua."),
                           days=("day",)),
    R.DAY_IN_FUTURE: _Entry(N_("Ngày %(day)s chưa đến (giờ Việt Nam): chưa có gì để đối soát hay khóa sổ."),
                            days=("day",)),
    R.DAY_NOT_COVERED: _Entry(N_("Sao kê của tài khoản %(account)s chưa phủ hết ngày %(day)s: nhập sao kê đến hết "
                                 "ngày rồi mới khóa sổ."), days=("day",)),
    R.DAY_BLOCKED: _Entry(N_("Chưa khóa sổ được ngày %(day)s: còn %(count)s việc phải xử lý (xem danh sách trên "
                             "trang ngày)."), days=("day",)),
    R.MONEY_OUT: _Entry(N_("Đây là giao dịch tiền ra: không phân bổ, đánh dấu hay hoàn được.")),
    R.NOT_OUR_ACCOUNT: _Entry(N_("Tài khoản nhận %(account)s không phải của đơn vị: khoản tiền này không nộp cho hồ "
                                 "sơ nào được — đánh dấu “không thuộc đơn vị” để trả lại.")),
    R.OVER_ALLOCATION: _Entry(N_("Tổng số tiền ghép (%(total)s) lớn hơn số còn lại của giao dịch (%(left)s)."),
                              money=("total", "left")),
    R.NOT_A_POSITIVE_AMOUNT: _Entry(N_("Số tiền phải là số đồng nguyên dương.")),
    R.REQUEST_OF_ANOTHER_DOSSIER: _Entry(N_("Yêu cầu thanh toán %(reference)s không thuộc hồ sơ %(dossier)s.")),
    R.UNKNOWN_TARGET: _Entry(N_("Không có yêu cầu thanh toán hay hồ sơ nào mang mã “%(target)s”.")),
    R.NO_TARGET: _Entry(N_("Nhập mã yêu cầu thanh toán hoặc mã hồ sơ.")),
    R.NOTHING_TO_ALLOCATE: _Entry(N_("Nhập ít nhất một dòng: mã yêu cầu thanh toán hoặc mã hồ sơ, và số tiền.")),
    R.NOTHING_TO_UNDO: _Entry(N_("Giao dịch không có khoản phân bổ nào để gỡ.")),
    R.ALREADY_REVERSED: _Entry(N_("Khoản phân bổ này đã được gỡ trước đó.")),
    R.STILL_ALLOCATED: _Entry(N_("%(allocated)s của khoản tiền đang nộp cho hồ sơ: gỡ ghép trước rồi mới đánh dấu "
                                 "“không thuộc đơn vị”."), money=("allocated",)),
    R.ALREADY_NOT_OURS: _Entry(N_("Giao dịch đã được đánh dấu “không thuộc đơn vị” trước đó.")),
    R.REASON_REQUIRED: _Entry(N_("Nhập lý do %(act)s."), labels={"act": _act}),
    R.CASH_OVER_DUE: _Entry(N_("Số tiền thu (%(amount)s) lớn hơn số còn phải nộp (%(remaining)s): chỉ thu đúng số "
                               "còn phải nộp."), money=("amount", "remaining")),
    R.NOT_ON_STATEMENT: _Entry(N_("Sao kê của ngân hàng chưa có giao dịch %(ref)s: chỉ hoàn tiền khi sao kê đã chứng "
                                  "minh tiền đã về. Nhập sao kê rồi thử lại.")),
    R.OPEN_QUESTION: _Entry(N_("Giao dịch %(ref)s còn một vấn đề chưa xử lý (không có trên sao kê, hoặc các kênh báo "
                               "khác nhau): xử lý trong hàng đợi trước.")),
    R.REFUND_OVER_AVAILABLE: _Entry(N_("Số tiền hoàn (%(amount)s) lớn hơn số còn có thể hoàn (%(available)s) — có "
                                       "thể vừa có một đề nghị hoàn khác cho cùng khoản tiền."),
                                    money=("amount", "available")),
    R.REFUND_NO_LONGER_AVAILABLE: _Entry(N_("Số còn có thể hoàn (%(available)s) ít hơn số đề nghị (%(amount)s): hãy "
                                            "từ chối đề nghị này."), money=("amount", "available")),
    R.REFUND_STATE: _Entry(N_("Đề nghị hoàn tiền số %(id)s đang ở trạng thái “%(status)s”: không làm được việc này "
                              "nữa."), labels={"status": _refund_status}),
    R.FOUR_EYES: _Entry(N_("Nguyên tắc bốn mắt: người đề nghị hoàn tiền không tự duyệt hay từ chối đề nghị của mình. "
                           "Hãy nhờ một cán bộ kế toán khác.")),
    R.PAYOUT_REF_REQUIRED: _Entry(N_("Nhập số tham chiếu của ngân hàng cho khoản đã chuyển trả.")),
    R.EXCEPTION_SETTLED: _Entry(N_("Việc số %(id)s đã ở trạng thái “%(status)s”."),
                                labels={"status": _exception_status}),
    R.DEADLINE_PAST: _Entry(N_("Hạn xử lý đã qua: chọn hôm nay hoặc một ngày sau.")),
    R.NOTE_REQUIRED: _Entry(N_("Nhập nội dung ghi chú.")),
    R.EMPTY_STATEMENT: _Entry(N_("Tệp sao kê trống. Chưa nhập gì.")),
    R.NOT_A_STATEMENT: _Entry(N_("Tệp này không phải sao kê mà hệ thống đọc được (camt.053, MT940, hoặc tệp "
                                 "Excel/CSV sao kê của ngân hàng). Chưa nhập gì.")),
    R.UNREADABLE_STATEMENT: _Entry(N_("Không đọc được sao kê: tệp hỏng hoặc thiếu phần cần thiết. Chưa nhập gì.")),
    R.STATEMENT_FIELD_UNREADABLE: _Entry(N_("Không đọc được sao kê ở dòng %(line)s, trường %(field)s. Chưa nhập gì: "
                                            "sửa tệp rồi tải lên lại.")),
    R.STATEMENT_AMOUNT_OUT_OF_RANGE: _Entry(N_(
        "Sao kê bị từ chối cả tệp: dòng %(line)s có số tiền %(amount)s, vượt quá mức tối đa %(limit)s. Chưa nhập gì: "
        "sửa tệp rồi tải lên lại."), money=("amount", "limit")),
    R.TOO_MANY_REQUESTS: _Entry(N_("Quá nhiều yêu cầu từ địa chỉ của bạn: vui lòng chờ %(wait)s rồi thử lại."),
                                labels={"wait": _wait}),
    R.INVALID_STATUS: _Entry(N_("Trạng thái hồ sơ không phải một trạng thái của Cổng Dịch vụ công quốc gia.")),
    R.INVALID_CANCEL: _Entry(N_("Lý do hủy phải là một đoạn văn bản, tối đa 1.000 ký tự.")),
    R.DATABASE_UNAVAILABLE: _Entry(N_("Hệ thống tạm thời không kết nối được cơ sở dữ liệu nên chưa làm gì cả; không "
                                      "có gì bị thay đổi. Vui lòng thử lại sau vài giây.")),
    R.CONCURRENT_CHANGE: _Entry(N_("Yêu cầu thanh toán vừa được người khác thay đổi cùng lúc: đọc lại rồi thử lại.")),
    R.INVALID_REFUND: _Entry(N_("Đề nghị hoàn tiền chưa hợp lệ: xem các ô được đánh dấu.")),
    R.DUPLICATE_KEY: _Entry(N_("Nội dung gửi lên có khóa “%(key)s” xuất hiện hai lần: mỗi khóa chỉ được có một "
                               "giá trị.")),
    R.REFUND_AFTER_REMITTANCE: _Entry(N_("Tiền của hồ sơ %(dossier)s thu trong tháng %(month)s đã nộp vào ngân sách nhà "
                                         "nước (Kho bạc, chứng từ %(document)s): không chi hoàn từ tài khoản chuyên "
                                         "thu. Việc hoàn trả phải làm theo thủ tục hoàn trả khoản thu ngân sách của "
                                         "Kho bạc.")),
    R.INVALID_REMITTANCE: _Entry(N_("Khoản nộp Kho bạc chưa hợp lệ: xem các ô được đánh dấu.")),
    R.REMITTANCE_EXISTS: _Entry(N_("Chứng từ nộp Kho bạc số %(document)s đã được ghi cho đơn vị này.")),
    R.OBLIGATION_AS_CHARGE: _Entry(N_("“%(name)s” là nghĩa vụ tài chính do cơ quan thuế thông báo và nộp vào ngân "
                                      "sách, không phải khoản phí của đơn vị: ghi thông báo thuế vào hồ sơ thay vì "
                                      "tính vào phí.")),
    R.INVALID_OBLIGATION: _Entry(N_("Thông báo nghĩa vụ tài chính chưa hợp lệ: xem các ô được đánh dấu.")),
    R.OBLIGATION_PAID: _Entry(N_("Nghĩa vụ tài chính số %(id)s đã có chứng từ nộp tiền.")),
    R.NOT_A_LAND_DOSSIER: _Entry(N_("Hồ sơ %(code)s không thuộc lĩnh vực đất đai: không có nghĩa vụ tài chính về đất.")),
    R.INVALID_DOSSIER: _Entry(N_("Hồ sơ chưa hợp lệ: xem các ô được đánh dấu.")),
    R.INVALID_CASH: _Entry(N_("Khoản tiền mặt chưa hợp lệ: xem các ô được đánh dấu.")),
    R.INVALID_REQUEST: _Entry(N_("Yêu cầu thanh toán chưa hợp lệ: thời hạn hiệu lực từ 1 phút đến 30 ngày.")),
    R.USER_EXISTS: _Entry(N_("Đã có tài khoản mang tên đăng nhập “%(name)s”.")),
    R.UNKNOWN_USER: _Entry(N_("Không có tài khoản mang tên đăng nhập “%(name)s”.")),
    R.INVALID_USERNAME: _Entry(N_("Tên đăng nhập “%(name)s” không dùng được: từ 1 đến 64 ký tự gồm chữ thường không "
                                  "dấu, chữ số, dấu chấm, gạch dưới hoặc gạch ngang, bắt đầu bằng chữ hoặc số.")),
    R.UNKNOWN_ROLE: _Entry(N_("Không có vai trò “%(role)s”: chọn counter (một cửa), finance (kế toán), supervisor "
                              "(giám sát) hoặc admin (quản trị).")),
    R.NO_ROLE: _Entry(N_("Chọn ít nhất một vai trò cho tài khoản.")),
    R.LAST_ADMIN: _Entry(N_("“%(name)s” là tài khoản quản trị cuối cùng còn hoạt động: không khóa hay bỏ vai trò quản "
                            "trị của tài khoản này được. Hãy cấp vai trò quản trị cho người khác trước.")),
    R.PASSWORD_LENGTH: _Entry(N_("Mật khẩu mới phải dài từ %(min)s đến %(max)s ký tự.")),
    R.PASSWORD_COMMON: _Entry(N_("Mật khẩu này quá dễ đoán (có trong danh sách mật khẩu hay dùng, trùng tên đăng nhập "
                                 "hoặc chỉ lặp vài ký tự): hãy chọn mật khẩu khác, ví dụ một câu dài dễ nhớ.")),
    R.PASSWORD_MISMATCH: _Entry(N_("Hai lần nhập mật khẩu mới không giống nhau.")),
    R.PASSWORD_UNCHANGED: _Entry(N_("Mật khẩu mới phải khác mật khẩu hiện tại.")),
    R.WRONG_PASSWORD: _Entry(N_("Mật khẩu hiện tại không đúng.")),
    R.TOO_MANY_ATTEMPTS: _Entry(N_("Đã nhập sai nhiều lần: vui lòng chờ %(wait)s rồi thử lại. Tài khoản không bị "
                                   "khóa; mỗi lần nhập sai tiếp theo phải chờ lâu hơn."), labels={"wait": _wait}),
    R.PORTAL_EXPORT_INVALID: _Entry(N_("Không đọc được tệp chỉ số của Cổng Dịch vụ công (%(where)s): %(problem)s. "
                                       "Chưa có gì được lưu: sửa tệp rồi tải lên lại."),
                                    labels={"where": _export_where, "problem": _export_problem}),
    R.NOT_FINANCE_OFFICER: _Entry(N_("Chỉ cán bộ kế toán mới duyệt hay từ chối đề nghị hoàn tiền, kể cả với tài khoản "
                                     "quản trị: nguyên tắc bốn mắt cần hai cán bộ kế toán khác nhau.")),
    R.PAPER_RECEIPTS_ENDED: _Entry(N_("Biên lai giấy chỉ dùng đến hết ngày 31/12/2026: ghi nhận khoản tiền mặt không "
                                      "kèm biên lai giấy, hệ thống sẽ phát hành biên lai điện tử.")),
    R.INVALID_RECEIPT_CHANGE: _Entry(N_("Đề nghị hủy hoặc thay thế biên lai chưa hợp lệ: xem các ô được đánh dấu.")),
    R.RECEIPT_NOT_IN_FORCE: _Entry(N_("Biên lai %(number)s không còn hiệu lực (đã hủy hoặc đã được thay thế): không "
                                      "hủy hay thay thế được nữa.")),
    R.RECEIPT_CHANGE_PENDING: _Entry(N_("Biên lai %(number)s đã có một đề nghị hủy hoặc thay thế đang chờ duyệt: hãy "
                                        "duyệt hoặc từ chối đề nghị đó trước.")),
    R.RECEIPT_CHANGE_DECIDED: _Entry(N_("Đề nghị số %(id)s về biên lai đã được quyết định: không làm được việc này "
                                        "nữa.")),
    R.RECEIPT_FOUR_EYES: _Entry(N_("Nguyên tắc bốn mắt: người đề nghị hủy hoặc thay thế biên lai không tự duyệt hay "
                                   "từ chối đề nghị của mình. Hãy nhờ một cán bộ kế toán khác.")),
    R.RECEIPT_NOT_FINANCE_OFFICER: _Entry(N_("Chỉ cán bộ kế toán mới đề nghị, duyệt hay từ chối việc hủy hoặc thay thế "
                                             "biên lai, kể cả với tài khoản quản trị.")),
    R.RECEIPT_NOT_ISSUED: _Entry(N_("Biên lai %(number)s đã được cấp số nhưng chưa được ký: hệ thống biên lai điện "
                                    "tử của đơn vị chưa có khóa ký. Hãy báo quản trị hệ thống.")),
}


def _shown(value: Any, name: str, entry: _Entry) -> Any:
    if name in entry.money and isinstance(value, int):
        return format_vnd(value)
    if name in entry.days and isinstance(value, date):
        return value.strftime("%d/%m/%Y")
    if name in entry.days and isinstance(value, str):
        try:
            return date.fromisoformat(value).strftime("%d/%m/%Y")
        except ValueError:
            return value
    if entry.labels and name in entry.labels:
        return entry.labels[name](str(value))
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return value


def has_text(code: str) -> bool:
    return _entry(code) is not None


def _entry(code: str) -> _Entry | None:
    try:
        return MESSAGES.get(Refusal(code))
    except ValueError:
        return None


def render(code: str, params: Mapping[str, Any] | None = None, *, fallback: str = "") -> str:
    """The sentence for ``code`` in the current locale, its parameters formatted for people."""
    entry = _entry(code)
    if entry is None:
        return fallback
    params = dict(params or {})
    shown = {name: _shown(value, name, entry) for name, value in params.items()}
    text = entry.text
    if entry.when is not None and params.get(entry.when[0]):
        text = entry.when[1]
    return gettext(text) % _Defaulting(shown)


class _Defaulting(dict):
    """A missing parameter shows as nothing rather than breaking the sentence."""

    def __missing__(self, key: str) -> str:
        return ""


def refusal_text(exc: ServiceError, *, nothing_changed: bool = False, suffix: Any = None) -> str:
    """What to tell a person about ``exc``, in the current locale; ``nothing_changed`` adds
    "Chưa có gì thay đổi." (``suffix``: another closing sentence)."""
    text = render(exc.code, exc.params, fallback=exc.detail)
    if nothing_changed or suffix is not None:
        return f"{text} {suffix if suffix is not None else gettext(NOTHING_CHANGED)}"
    return text


def refusal_text_in(exc: ServiceError, locale: str) -> str:
    """``refusal_text`` in another locale (the API and the CLI choose theirs)."""
    with force_locale(locale):
        return refusal_text(exc)


def api_text(exc: ServiceError, accept_languages=None) -> str:
    """The problem body's ``detail``: English unless the client asks for Vietnamese first."""
    locale = accept_languages.best_match(["en", "vi"], default="en") if accept_languages is not None else "en"
    return refusal_text_in(exc, locale)


def cli_text(exc: ServiceError) -> str:
    """``error [code]: …`` for the CLI, in Vietnamese when the shell's LANG is Vietnamese."""
    import os

    locale = "vi" if os.environ.get("LANG", "").lower().startswith("vi") else "en"
    return f"error [{exc.code}]: {refusal_text_in(exc, locale)}"
