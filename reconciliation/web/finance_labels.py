"""What the codes of reconciliation mean to a finance officer, in Vietnamese first (English
through the catalogue), and the refusals of the rules turned into sentences for people.

Templates reach these as ``fin.<name>(...)`` (one global, so that no other page's helper is
shadowed). The rules refuse in English (``ServiceError.detail``); the pages never show that
text: each refusal is told again here from what the page knows (the form, the records).
"""
from __future__ import annotations

from typing import Any

from flask_babel import gettext as _

import re

from core.money import format_vnd
from core.users import actor_name
from core.vocabulary import (CloseStatus, Direction, EventStatus, ExceptionReason, ExceptionStatus, PaymentChannel,
                             RefundStatus, Source, TransactionStatus, label,
                             match_rule_label)


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
    def event_type(code: str) -> str:
        """An outbound event's type (``reconciliation.channels.outbox.EVENT_TYPES``) for people."""
        return {
            "payment_request.paid": _("Yêu cầu thanh toán đã được thanh toán"),
            "payment_request.partially_paid": _("Yêu cầu thanh toán được thanh toán một phần"),
            "payment_request.overpaid": _("Yêu cầu thanh toán được nộp thừa"),
            "payment_request.refunded": _("Đã trả lại tiền của yêu cầu thanh toán"),
            "payment_request.cancelled": _("Yêu cầu thanh toán bị hủy"),
            "dossier.paid": _("Hồ sơ đã nộp đủ"),
            "dossier.partially_paid": _("Hồ sơ đã nộp một phần"),
            "dossier.overpaid": _("Hồ sơ nộp thừa"),
            "dossier.payment_reversed": _("Khoản nộp của hồ sơ bị đảo"),
        }.get(code, code)

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
        return match_rule_label(code)

    @staticmethod
    def actor(code: str | None) -> str:
        return actor_name(code)

    @staticmethod
    def resolution(text: str | None) -> str:
        return resolution_label(text)

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
            "request_status": _("Trạng thái yêu cầu lúc xét"),
            "request_amount": _("Yêu cầu thanh toán"),
            "request_remaining": _("Yêu cầu còn thiếu lúc xét (trước khi ghép)"),
            "dossier_remaining": _("Hồ sơ còn phải nộp lúc xét (trước khi ghép)"),
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
        """How sure the matcher was, as a share (the page calls it "mức chắc chắn")."""
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


# How the rules word a resolution they record (``matching.manual``, ``workflow.refunds``,
# ``matching.writer``): told again in the page's language, with people and rules by name.
_BY_ACTOR = re.compile(r"^(?P<rule>[a-z_]+) by (?P<actor>\S+): (?P<note>.*)$", re.S)
_NOT_OURS = re.compile(r"^not ours \((?P<actor>[^)]+)\): (?P<note>.*?)(?:; to be returned.*)?$", re.S)
_REFUNDED = re.compile(r"^excess refunded \(refund (?P<id>\d+), (?P<ref>[^)]*)\)$")


def resolution_label(text: str | None) -> str:
    """A resolution as people read it: ``manual_match by user:ketoan: note`` becomes
    "Ghép thủ công — Trần Văn Minh: note"; a resolution a person typed is shown as it is."""
    if not text:
        return ""
    from payments.money_rules import PART_PAYMENT_SETTLED

    if text == PART_PAYMENT_SETTLED:
        return _("Đã nộp đủ phần còn lại của hồ sơ")
    found = _BY_ACTOR.match(text)
    if found:
        return f"{match_rule_label(found['rule'])} — {actor_name(found['actor'])}: {found['note']}"
    found = _NOT_OURS.match(text)
    if found:
        return f"{match_rule_label('not_ours')} — {actor_name(found['actor'])}: {found['note']}"
    found = _REFUNDED.match(text)
    if found:
        return _("Đã trả lại phần thừa (đề nghị số %(id)s, lệnh chuyển %(ref)s)", id=found["id"], ref=found["ref"])
    return text
