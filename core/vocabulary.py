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


# What decided a match, by the matcher's rule code: shown wherever a rule or an actor
# ``rule:<code>`` appears (finance pages, the counter's history, exports).
MATCH_RULES: dict[str, str] = {
    "reference_exact": N_("Mã thanh toán đúng, đủ số tiền"),
    "reference_partial": N_("Mã thanh toán đúng, nộp thiếu"),
    "reference_overpaid": N_("Mã thanh toán đúng, nộp thừa"),
    "reference_duplicate": N_("Mã của yêu cầu đã được thanh toán"),
    "reference_closed": N_("Mã của yêu cầu đã hết hạn hoặc đã hủy"),
    "reference_other_agency": N_("Mã của hồ sơ thuộc đơn vị khác"),
    "references_sum": N_("Nhiều mã, tổng số tiền khớp"),
    "references_mismatch": N_("Nhiều mã, tổng số tiền không khớp"),
    "dossier_code_exact": N_("Mã hồ sơ trong nội dung, đúng số còn phải nộp"),
    "dossier_code_mismatch": N_("Mã hồ sơ trong nội dung, khác số tiền"),
    "dossier_code_paid": N_("Mã hồ sơ đã nộp đủ"),
    "damaged_reference": N_("Mã gần giống (sai hoặc đảo một ký tự)"),
    "truncated_reference": N_("Phần đầu của mã (ngân hàng cắt bớt)"),
    "amount_only": N_("Chỉ trùng số tiền với một yêu cầu đang mở"),
    "name_amount": N_("Tên người chuyển và số tiền khớp một hồ sơ chưa nộp (không có mã)"),
    "closed_day": N_("Giữ lại: ngày đã khóa sổ"),
    "no_reference": N_("Không có mã trong nội dung"),
    "unknown_reference": N_("Không có mã hợp lệ do hệ thống cấp"),
    "unknown_account": N_("Tài khoản nhận không phải của đơn vị"),
    "manual_match": N_("Ghép thủ công"),
    "manual_split": N_("Chia thủ công"),
    "manual_unmatch": N_("Gỡ ghép thủ công"),
    "not_ours": N_("Không thuộc đơn vị"),
    "reversal": N_("Ngân hàng đảo giao dịch"),
    "money_out": N_("Tiền ra"),
    "cash_at_counter": N_("Tiền mặt tại quầy"),
    # The processes that act under ``rule:<name>`` rather than one rule.
    "matcher": N_("Ghép tự động khi nhận báo có"),
    "statement_run": N_("Chạy đối soát theo sao kê"),
    "statement_import": N_("Nhập sao kê"),
}

# Actors that are not a person: ``<kind>:<detail>`` or a bare word, as the records keep them.
ACTOR_KINDS: dict[str, str] = {
    "system": N_("Hệ thống"),
    "scheduler": N_("Tác vụ định kỳ"),
    "seed": N_("Dữ liệu mẫu"),
    "test": N_("Kiểm thử"),
    "cli": N_("Dòng lệnh quản trị"),
    "portal": N_("Cổng Dịch vụ công"),
    "channel": N_("Kênh báo có"),
    "api": N_("Hệ thống một cửa (API)"),
}


def _say(text: str) -> str:
    return gettext(text) if has_app_context() else text


def match_rule_label(code: str | None) -> str:
    """A matching rule in the current language; an unknown code as it is."""
    text = MATCH_RULES.get(code or "")
    return _say(text) if text else (code or "")


def actor_label(actor: str | None, full_name=None) -> str:
    """Who did something, for people: ``user:<name>`` by ``full_name(username)`` (the username
    when it finds nobody), ``rule:<code>`` by the rule's label, ``cli:<who>``, ``portal:<via>``,
    ``channel:<via>``, ``system`` and the other processes by their labels; never the code itself
    unless nothing is known of it."""
    if not actor:
        return ""
    kind, _, detail = actor.partition(":")
    if kind == "user" and detail:
        return (full_name(detail) if full_name else None) or detail
    if kind == "rule" and detail:
        return match_rule_label(detail)
    if kind in ACTOR_KINDS:
        text = _say(ACTOR_KINDS[kind])
        if kind == "channel" and detail:
            return f"{text} — {label(Source, detail)}"
        if kind == "cli" and detail and detail != "cli":
            return f"{text} ({detail})"
        return text
    return actor
