"""The service's vocabulary, each word once: every status, channel, reason and kind as a
``StrEnum``, and its one label for people (Vietnamese, the catalogue's msgid; English through
the catalogue).

Models (check constraints and the tuples they list), rules, pages, exports, the API
description and the reports take their values from here; a ``StrEnum`` member equals its
string, so stored values and JSON stay plain strings. ``label(value)`` says any of them to a
person in the current language; an unknown value is shown as it is.
"""
from __future__ import annotations

from enum import StrEnum

from flask import has_app_context
from flask_babel import gettext


def N_(text: str) -> str:
    """Marks a label for the catalogue; translated when shown."""
    return text


class PaymentChannel(StrEnum):
    """How the citizen paid (the 766 indicator's question, DOMAIN.md)."""
    PORTAL = "portal"
    GATEWAY = "gateway"
    COUNTER_TRANSFER = "counter_transfer"
    CARD = "card"
    CASH = "cash"


class Source(StrEnum):
    """How the service heard of a payment."""
    PAYOS = "payos"
    SEPAY = "sepay"
    BANKDIRECT = "bankdirect"
    STATEMENT = "statement"
    PORTAL = "portal"
    CASH = "cash"


class DossierChannel(StrEnum):
    """How a dossier was filed."""
    COUNTER = "counter"
    ONLINE = "online"
    POST = "post"


class PaymentStatus(StrEnum):
    """What a dossier has paid against what it owes."""
    UNPAID = "unpaid"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERPAID = "overpaid"


class RequestStatus(StrEnum):
    OPEN = "open"
    PARTIALLY_PAID = "partially_paid"
    PAID = "paid"
    OVERPAID = "overpaid"
    EXPIRED = "expired"
    CANCELLED = "cancelled"


class TransactionStatus(StrEnum):
    MATCHED = "matched"
    PARTIALLY_MATCHED = "partially_matched"
    UNMATCHED = "unmatched"
    IGNORED = "ignored"


class Direction(StrEnum):
    IN = "in"
    OUT = "out"


class ExceptionReason(StrEnum):
    UNKNOWN_REFERENCE = "unknown_reference"
    AMOUNT_MISMATCH = "amount_mismatch"
    OVERPAID = "overpaid"
    REQUEST_CLOSED = "request_closed"
    DUPLICATE_PAYMENT = "duplicate_payment"
    UNKNOWN_ACCOUNT = "unknown_account"
    MISSING_FROM_STATEMENT = "missing_from_statement"
    MISSING_CALLBACK = "missing_callback"
    WRONG_ACCOUNT = "wrong_account"
    BELOW_AUTO_THRESHOLD = "below_auto_threshold"
    CONFLICTING_REPORT = "conflicting_report"
    REVERSAL = "reversal"
    UNLINKED_REVERSAL = "unlinked_reversal"
    PORTAL_UNKNOWN_DOSSIER = "portal_unknown_dossier"
    BALANCE_MISMATCH = "balance_mismatch"
    BOOKED_ON_CLOSED_DAY = "booked_on_closed_day"
    CITIZEN_INQUIRY = "citizen_inquiry"


class ExceptionStatus(StrEnum):
    OPEN = "open"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class RefundStatus(StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    PAID = "paid"
    FAILED = "failed"
    CANCELLED = "cancelled"


class CloseStatus(StrEnum):
    OPEN = "open"
    CLOSED = "closed"


class FeeKind(StrEnum):
    PHI = "phi"
    LE_PHI = "le_phi"


class ExemptionGround(StrEnum):
    """Why a payer is exempt from civil-status charges (recorded at the counter)."""
    REVOLUTIONARY_MERIT = "revolutionary_merit"
    POOR_HOUSEHOLD = "poor_household"
    DISABILITY = "disability"


class ReceiptStatus(StrEnum):
    ISSUED = "issued"
    CANCELLED = "cancelled"
    REPLACED = "replaced"  # shown for a cancelled receipt that a later one replaces


class ObligationKind(StrEnum):
    """Land financial obligations: assessed by the tax authority, paid into the treasury."""
    REGISTRATION_FEE = "registration_fee"
    LAND_USE_LEVY = "land_use_levy"
    PERSONAL_INCOME_TAX = "personal_income_tax"


class ObligationStatus(StrEnum):
    UNPAID = "unpaid"
    PAID = "paid"  # a treasury slip or the portal's confirmation is recorded
    PAID_VIA_SERVICE = "paid_via_service"  # before migration 0011, as a charge of the dossier


class ProofKind(StrEnum):
    TREASURY_SLIP = "treasury_slip"
    PORTAL = "portal"


class EventStatus(StrEnum):
    PENDING = "pending"
    DELIVERED = "delivered"
    DEAD = "dead"


LABELS: dict[type[StrEnum], dict[str, str]] = {
    PaymentChannel: {"portal": N_("Nền tảng thanh toán của Cổng DVC"), "gateway": N_("Cổng thanh toán của thành phố"),
                     "counter_transfer": N_("Chuyển khoản VietQR tại quầy"), "card": N_("Thẻ ngân hàng"),
                     "cash": N_("Tiền mặt")},
    Source: {"payos": "payOS", "sepay": "SePay", "bankdirect": N_("Ngân hàng (kết nối trực tiếp)"),
             "statement": N_("Sao kê ngân hàng"), "portal": N_("Cổng Dịch vụ công"), "cash": N_("Tiền mặt tại quầy")},
    DossierChannel: {"counter": N_("Trực tiếp tại bộ phận một cửa"), "online": N_("Trực tuyến (Cổng dịch vụ công)"),
                     "post": N_("Qua dịch vụ bưu chính")},
    PaymentStatus: {"unpaid": N_("Chưa nộp"), "partially_paid": N_("Đã nộp một phần"), "paid": N_("Đã nộp đủ"),
                    "overpaid": N_("Nộp thừa")},
    RequestStatus: {"open": N_("Chờ thanh toán"), "partially_paid": N_("Đã thanh toán một phần"),
                    "paid": N_("Đã thanh toán"), "overpaid": N_("Đã thanh toán (nộp thừa)"),
                    "expired": N_("Hết hiệu lực"), "cancelled": N_("Đã hủy")},
    TransactionStatus: {"matched": N_("Đã khớp"), "partially_matched": N_("Khớp một phần"),
                        "unmatched": N_("Chưa khớp"), "ignored": N_("Không tính")},
    Direction: {"in": N_("Tiền vào"), "out": N_("Tiền ra")},
    ExceptionReason: {
        "unknown_reference": N_("Không nhận ra mã thanh toán"),
        "amount_mismatch": N_("Sai số tiền"),
        "overpaid": N_("Nộp thừa"),
        "request_closed": N_("Yêu cầu đã hết hạn hoặc đã hủy"),
        "duplicate_payment": N_("Nộp trùng"),
        "unknown_account": N_("Tài khoản nhận không phải của đơn vị"),
        "missing_from_statement": N_("Không có trên sao kê"),
        "missing_callback": N_("Chỉ có trên sao kê (không có báo có)"),
        "wrong_account": N_("Nộp vào tài khoản của đơn vị khác"),
        "below_auto_threshold": N_("Chưa đủ tin cậy để tự ghép"),
        "conflicting_report": N_("Các kênh báo khác nhau"),
        "reversal": N_("Giao dịch bị ngân hàng đảo"),
        "unlinked_reversal": N_("Bút toán đảo không rõ giao dịch gốc"),
        "portal_unknown_dossier": N_("Cổng DVC báo hồ sơ không có ở đây"),
        "balance_mismatch": N_("Lệch số dư sao kê"),
        "booked_on_closed_day": N_("Tiền báo về ngày đã khóa sổ"),
        "citizen_inquiry": N_("Người nộp báo đã chuyển khoản nhưng chưa thấy ghi nhận"),
    },
    ExceptionStatus: {"open": N_("Đang mở"), "resolved": N_("Đã xử lý"), "dismissed": N_("Đã bỏ qua")},
    RefundStatus: {"requested": N_("Chờ duyệt"), "approved": N_("Đã duyệt, chờ chuyển trả"),
                   "rejected": N_("Bị từ chối"), "paid": N_("Đã chuyển trả"),
                   "failed": N_("Chuyển trả không thành công"), "cancelled": N_("Đã hủy")},
    CloseStatus: {"open": N_("Chưa khóa sổ"), "closed": N_("Đã khóa sổ")},
    FeeKind: {"phi": N_("Phí"), "le_phi": N_("Lệ phí")},
    ExemptionGround: {"revolutionary_merit": N_("Gia đình người có công với cách mạng"),
                      "poor_household": N_("Người thuộc hộ nghèo"), "disability": N_("Người khuyết tật")},
    ReceiptStatus: {"issued": N_("Đã phát hành"), "cancelled": N_("Đã hủy"), "replaced": N_("Đã hủy, có biên lai thay thế")},
    ObligationKind: {"registration_fee": N_("Lệ phí trước bạ nhà, đất"), "land_use_levy": N_("Tiền sử dụng đất"),
                     "personal_income_tax": N_("Thuế thu nhập cá nhân từ chuyển nhượng")},
    ObligationStatus: {"unpaid": N_("Chưa có chứng từ nộp"), "paid": N_("Đã nộp (có chứng từ)"),
                       "paid_via_service": N_("Đã nộp qua dịch vụ (trước khi tách)")},
    ProofKind: {"treasury_slip": N_("Chứng từ nộp Kho bạc"), "portal": N_("Xác nhận của Cổng Dịch vụ công")},
    EventStatus: {"pending": N_("Chờ gửi"), "delivered": N_("Đã gửi"), "dead": N_("Ngừng gửi lại")},
}


def values(vocabulary: type[StrEnum]) -> tuple[str, ...]:
    """The stored values of a vocabulary, in their order (for check constraints and enums)."""
    return tuple(member.value for member in vocabulary)


def label(vocabulary: type[StrEnum], value: str | None) -> str:
    """The word for ``value`` in the current language; an unknown value as it is."""
    text = LABELS[vocabulary].get(value or "")
    if text is None:
        return value or ""
    if text in ("payOS", "SePay") or not has_app_context():  # outside the app (plain scripts): Vietnamese
        return text
    return gettext(text)
