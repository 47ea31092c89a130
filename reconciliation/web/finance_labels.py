"""What the codes of reconciliation mean to a finance officer, in Vietnamese first (English
through the catalogue), and the refusals of the rules turned into sentences for people.

Templates reach these as ``fin.<name>(...)`` (one global, so that no other page's helper is
shadowed). The rules refuse in English (``ServiceError.detail``); the pages never show that
text: each refusal is told again here from what the page knows (the form, the records).
"""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

from core.money import format_vnd
from core.vocabulary import (CloseStatus, Direction, EventStatus, ExceptionReason, ExceptionStatus, PaymentChannel,
                             RefundStatus, Source, TransactionStatus, label)


class Labels:
    """The ``fin`` template global."""

    @staticmethod
    def reason(code: str | None) -> str:
        return label(ExceptionReason, code)

    @staticmethod
    def exception_status(code: str) -> str:
        return label(ExceptionStatus, code)

    @staticmethod
    def transaction_status(code: str, disposition: str | None = None) -> str:
        if disposition == "not_ours":
            return _("Không thuộc đơn vị, chờ trả lại")
        return label(TransactionStatus, code)

    @staticmethod
    def refund_status(code: str) -> str:
        return label(RefundStatus, code)

    @staticmethod
    def close_status(code: str | None) -> str:
        return label(CloseStatus, code or "open")

    @staticmethod
    def event_status(code: str) -> str:
        return label(EventStatus, code)

    @staticmethod
    def direction(code: str) -> str:
        return label(Direction, code)

    @staticmethod
    def channel(code: str) -> str:
        """What reported a transaction."""
        return label(Source, code)

    @staticmethod
    def payment_channel(code: str) -> str:
        return label(PaymentChannel, code)

    @staticmethod
    def rule(code: str) -> str:
        return {
            "reference_exact": _("Mã thanh toán đúng, đủ số tiền"),
            "reference_partial": _("Mã thanh toán đúng, nộp thiếu"),
            "reference_overpaid": _("Mã thanh toán đúng, nộp thừa"),
            "reference_duplicate": _("Mã của yêu cầu đã được thanh toán"),
            "reference_closed": _("Mã của yêu cầu đã hết hạn hoặc đã hủy"),
            "reference_other_agency": _("Mã của hồ sơ thuộc đơn vị khác"),
            "references_sum": _("Nhiều mã, tổng số tiền khớp"),
            "references_mismatch": _("Nhiều mã, tổng số tiền không khớp"),
            "dossier_code_exact": _("Mã hồ sơ trong nội dung, đúng số còn phải nộp"),
            "dossier_code_mismatch": _("Mã hồ sơ trong nội dung, khác số tiền"),
            "dossier_code_paid": _("Mã hồ sơ đã nộp đủ"),
            "damaged_reference": _("Mã gần giống (sai hoặc đảo một ký tự)"),
            "truncated_reference": _("Phần đầu của mã (ngân hàng cắt bớt)"),
            "amount_only": _("Chỉ trùng số tiền với một yêu cầu đang mở"),
            "name_amount": _("Tên người chuyển và số tiền khớp một hồ sơ chưa nộp (không có mã)"),
            "no_reference": _("Không có mã trong nội dung"),
            "unknown_reference": _("Không có mã hợp lệ do hệ thống cấp"),
            "unknown_account": _("Tài khoản nhận không phải của đơn vị"),
            "manual_match": _("Ghép thủ công"),
            "manual_split": _("Chia thủ công"),
            "manual_unmatch": _("Gỡ ghép thủ công"),
            "not_ours": _("Không thuộc đơn vị"),
            "reversal": _("Ngân hàng đảo giao dịch"),
            "money_out": _("Tiền ra"),
            "cash_at_counter": _("Tiền mặt tại quầy"),
        }.get(code, code)

    @staticmethod
    def evidence_key(key: str) -> str:
        return {
            "amount": _("Số tiền xét"),
            "references": _("Mã thanh toán đọc được"),
            "damaged_references": _("Mã hỏng (sai ký tự kiểm tra)"),
            "dossier_codes": _("Mã hồ sơ đọc được"),
            "issued_references": _("Mã do hệ thống cấp"),
            "reference": _("Mã thanh toán"),
            "dossier_code": _("Mã hồ sơ"),
            "request_status": _("Trạng thái yêu cầu"),
            "request_amount": _("Yêu cầu thanh toán"),
            "request_remaining": _("Yêu cầu còn thiếu"),
            "dossier_remaining": _("Hồ sơ còn phải nộp"),
            "paid_to_agency": _("Nộp vào tài khoản của đơn vị khác"),
            "valid_until": _("Hiệu lực đến"),
            "requests": _("Các yêu cầu"),
            "dossiers": _("Các hồ sơ"),
            "note": _("Ghi chú"),
            "reason": _("Lý do"),
            "parts": _("Các phần"),
            "reverses": _("Đảo giao dịch"),
            "direction": _("Chiều"),
        }.get(key, key)

    @staticmethod
    def evidence_value(key: str, value: Any) -> str:
        if value is None or value == [] or value == "":
            return "—"
        if key in ("amount", "request_amount", "request_remaining", "dossier_remaining") and isinstance(value, int):
            return format_vnd(value)
        if key == "request_status" and isinstance(value, str):
            from payments.counter import request_status_label

            return request_status_label(value)
        if key == "requests" and isinstance(value, list):
            return "; ".join(f"{r.get('reference')} ({Labels.evidence_value('amount', r.get('remaining'))})"
                             for r in value if isinstance(r, dict))
        if key == "parts" and isinstance(value, list):
            return "; ".join(f"{p.get('reference') or p.get('dossier_code')}: "
                             f"{format_vnd(p['amount']) if isinstance(p.get('amount'), int) else '?'}"
                             for p in value if isinstance(p, dict))
        if isinstance(value, list):
            return ", ".join(str(v) for v in value)
        return str(value)

    @staticmethod
    def confidence(value: float | None) -> str:
        return f"{round((value or 0) * 100)} %"

    @staticmethod
    def blocking(text: str) -> str:
        return blocking_label(text)


def blocking_label(item) -> str:
    """A ``close.Blocking`` in the page's language (a plain string, as an old record keeps it,
    is shown as it is)."""
    kind, params = getattr(item, "kind", None), getattr(item, "params", {})
    if kind == "not_over":
        return _("Ngày chưa kết thúc (giờ Việt Nam): chỉ khóa sổ sau nửa đêm.")
    if kind == "not_covered":
        return _("Chưa có sao kê phủ đến hết ngày: sao kê đã nhập được lấy trước khi ngày kết thúc. Nhập sao kê "
                 "cuối ngày của ngân hàng.")
    if kind == "no_statement":
        return _("Chưa có sao kê nào của tài khoản phủ ngày này: tải sao kê lên trước.")
    if kind == "balance":
        return _("Sao kê số %(id)s không qua được phép thử số dư (đầu kỳ + ghi có − ghi nợ ≠ cuối kỳ).",
                 id=params["id"])
    if kind == "continuity":
        return _("Sao kê số %(id)s có số dư đầu kỳ khác số dư cuối kỳ của sao kê trước.", id=params["id"])
    if kind == "exceptions":
        return _("%(n)s mục cần xử lý đang mở: %(reason)s.", n=params["n"], reason=Labels.reason(params["reason"]))
    if kind == "undecided":
        return _("%(n)s khoản tiền vào chưa qua bước ghép tự động: bấm “Chạy đối soát”.", n=params["n"])
    return str(item)
