"""The JSON shapes of the REST API (CONTRACT.md), one function per resource.

Plain functions from models to dicts: amounts stay ``int`` đồng, times are ISO 8601 in
Indochina Time (``+07:00``). The citizen-facing URLs of a payment request are absolute; see
:func:`external_url`.
"""
from __future__ import annotations

from typing import Any, Callable
from urllib.parse import quote

from flask import current_app, has_request_context, request, url_for
from sqlalchemy.orm import object_session
from werkzeug.routing import BuildError

from core.clock import isoformat_ict

from .dossiers import payment_status
from .models import (Agency, CollectionAccount, Dossier, DossierCharge, FeeItem, PaymentRequest, Procedure,
                     Receipt)
from .obligations import for_dossier as obligations_for
from .obligations import obligation_json
from .receipts import dossier_receipts, receipt_number

# The citizen pages' routes, used only while ``payments.citizen`` does not define them yet
# (url_for raises BuildError then). They must stay identical to the routes in citizen.py,
# whose docstring fixes them; tests/payments/test_api.py checks the URLs' shape either way.
_CITIZEN_FALLBACK = {
    "citizen.pay": "/pay/{token}",
    "citizen.card": "/pay/{token}/card.{fmt}",
    "citizen.qr_png": "/pay/{token}/qr.png",
}


def external_url(endpoint: str, **values: Any) -> str:
    """An absolute URL for ``endpoint``: on ``PUBLIC_BASE_URL`` when configured (the address
    citizens reach, e.g. behind a proxy), else on the host the request came to."""
    base = current_app.config.get("PUBLIC_BASE_URL")
    root = request.script_root if has_request_context() else ""
    try:
        if not base:
            return url_for(endpoint, _external=True, **values)
        path = url_for(endpoint, **values)
        if root and path.startswith(root):
            path = path[len(root):]
    except BuildError:
        pattern = _CITIZEN_FALLBACK.get(endpoint)
        if pattern is None:
            raise
        path = pattern.format(**{k: quote(str(v), safe="") for k, v in values.items()})
        if not base:
            return request.host_url.rstrip("/") + root + path
    return base.rstrip("/") + path


def per_mille(rate_ppm: int) -> int | float:
    """A rate kept in parts per million as a number per mille: 1500 → 1.5, 5000 → 5."""
    whole, rest = divmod(rate_ppm, 1000)
    return whole if rest == 0 else rate_ppm / 1000


def account_json(account: CollectionAccount) -> dict[str, Any]:
    return {"bin": account.bank_bin, "number": account.number, "name": account.holder_name}


def agency_json(agency: Agency) -> dict[str, Any]:
    return {
        "code": agency.code,
        "name": agency.name,
        "name_en": agency.name_en,
        "kind": agency.kind,
        "parent_code": agency.parent_code,
        "accounts": [{**account_json(a), "default": a.is_default} for a in agency.accounts if a.active],
    }


def fee_json(item: FeeItem) -> dict[str, Any]:
    body: dict[str, Any] = {"code": item.code, "name": item.name, "kind": item.kind, "payer_class": item.payer_class}
    if item.rate_ppm is not None:
        body["rate"] = per_mille(item.rate_ppm)
        if item.cap is not None:
            body["cap"] = item.cap
    else:
        body["amount"] = item.amount if item.amount is not None else 0
    body.update({
        "per_copy": item.per_copy,
        "exempt": item.exempt_always,
        "exempt_condition": item.exempt_condition,
        "online_free_from": item.online_free_from.isoformat() if item.online_free_from else None,
        "legal_basis": item.legal_basis,
        "verified": item.verified,
        "budget_chapter": item.budget_chapter,
        "budget_subitem": item.budget_subitem,
        "retention_percent": retention_percent(item.retention_bp),
        "treasury_verified": item.treasury_verified,
    })
    return body


def retention_percent(retention_bp: int | None) -> int | float | None:
    """Hundredths of a per cent as a per cent: 9000 → 90, 2550 → 25.5."""
    if retention_bp is None:
        return None
    whole, rest = divmod(retention_bp, 100)
    return whole if rest == 0 else retention_bp / 100


def procedure_json(procedure: Procedure) -> dict[str, Any]:
    return {
        "code": procedure.code,
        "national_code": procedure.national_code,
        "name": procedure.name,
        "name_en": procedure.name_en,
        "field": procedure.field,
        "fees": [fee_json(item) for item in procedure.fee_items],
    }


def charge_json(charge: DossierCharge) -> dict[str, Any]:
    # ``rule``: the fee rule that set the amount, as recorded when the charge was made; a charge
    # without one (older charges, given charges) follows the schedule: code "schedule".
    if charge.rule_code:
        rule = {"code": charge.rule_code, "name": charge.rule_name, "legal_basis": charge.rule_basis,
                "confirmed": charge.rule_confirmed}
    else:
        rule = {"code": "schedule", "name": None, "legal_basis": None, "confirmed": None}
    return {"name": charge.name, "amount": charge.amount, "kind": charge.kind, "fee_code": charge.fee_code,
            "legal_basis": charge.legal_basis, "detail": charge.detail, "rule": rule,
            "schedule_amount": charge.schedule_amount if charge.schedule_amount is not None else charge.amount,
            "city_support": charge.city_support or 0}


def request_summary_json(req: PaymentRequest) -> dict[str, Any]:
    return {"reference": req.reference, "amount": req.amount, "amount_paid": req.amount_paid, "status": req.status,
            "expires_at": isoformat_ict(req.expires_at), "created_at": isoformat_ict(req.created_at)}


# The payments of a dossier are the reconciliation's allocations; it registers how to list them
# (payments never reaches into reconciliation: the dependency points the other way).
_payment_lines: list[Callable[[Dossier], list[dict[str, Any]]]] = []


def register_payment_lines(provider: Callable[[Dossier], list[dict[str, Any]]]) -> None:
    _payment_lines[:] = [provider]


def payments_for(dossier: Dossier) -> list[dict[str, Any]]:
    """The payments allocated to a dossier (``transaction_ref``, ``amount``, ``channel``,
    ``payment_channel``, ``received_at``, ``allocated_at``)."""
    return _payment_lines[0](dossier) if _payment_lines else []


def receipt_status(receipt: Receipt, replaced_ids: set[int]) -> str:
    """``issued``; ``cancelled``; or ``replaced`` when a later receipt replaces the cancelled one."""
    if receipt.status == "cancelled" and receipt.id in replaced_ids:
        return "replaced"
    return receipt.status


def receipts_json(receipts: list[Receipt]) -> list[dict[str, Any]]:
    """A dossier's e-receipts as CONTRACT.md lists them, oldest first, with (docs/API.md) the
    signed XML, the transmission code, the receipt it replaces or that replaces it, why it was
    cancelled, and the payments it covers."""
    from .receipt_documents import dossier_documents

    replaced = {r.replaces_id for r in receipts if r.replaces_id is not None}
    by_id = {r.id: r for r in receipts}
    replacement = {r.replaces_id: r for r in receipts if r.replaces_id is not None}
    session = object_session(receipts[0]) if receipts else None
    covers = dossier_documents(session, receipts[0].dossier_id)[0] if session is not None else {}

    def ref(other: Receipt | None) -> dict[str, str] | None:
        return {"form": other.form, "series": other.series, "number": receipt_number(other)} if other else None

    return [{"form": r.form, "series": r.series, "number": receipt_number(r), "issued_at": isoformat_ict(r.issued_at),
             "amount": r.amount, "kind": r.kind, "status": receipt_status(r, replaced),
             "pdf_url": external_url("api.receipt_pdf", token=r.lookup_token),
             "xml_url": external_url("api.receipt_xml", token=r.lookup_token),
             "transmission_code": r.transmission_code,
             "cancelled_at": isoformat_ict(r.cancelled_at) if r.cancelled_at else None,
             "cancel_reason": r.cancel_reason,
             "replaces": ref(by_id.get(r.replaces_id)) if r.replaces_id else None,
             "replaced_by": ref(replacement.get(r.id)),
             "payments": covers.get(r.id, [])} for r in receipts]


def dossier_json(dossier: Dossier) -> dict[str, Any]:
    session = object_session(dossier)
    return {
        "code": dossier.code,
        "portal_code": dossier.portal_code,
        "procedure_code": dossier.procedure.code,
        "field": dossier.procedure.field,
        "agency_code": dossier.agency.code,
        "applicant_name": dossier.applicant_name,
        "channel": dossier.channel,
        "submitted_at": isoformat_ict(dossier.submitted_at),
        "payer_class": dossier.payer_class,
        "parameters": dossier.parameters or {},
        "amount_due": dossier.amount_due,
        "amount_paid": dossier.amount_paid,
        "payment_status": payment_status(dossier),
        "charges": [charge_json(c) for c in dossier.charges],
        "payment_requests": [request_summary_json(r) for r in dossier.payment_requests],
        "payments": payments_for(dossier),
        "receipts": receipts_json(dossier_receipts(session, dossier.id)) if session is not None else [],
        "tax_obligations": ([obligation_json(o) for o in obligations_for(session, dossier)]
                            if session is not None else []),
    }


def payment_request_json(req: PaymentRequest) -> dict[str, Any]:
    return {
        "reference": req.reference,
        "dossier_code": req.dossier.code,
        "amount": req.amount,
        "amount_paid": req.amount_paid,
        "account": account_json(req.account),
        "purpose": req.purpose,
        "qr_payload": req.qr_payload,
        "pay_url": external_url("citizen.pay", token=req.token),
        "card_pdf_url": external_url("citizen.card", token=req.token, fmt="pdf"),
        "qr_png_url": external_url("citizen.qr_png", token=req.token),
        "expires_at": isoformat_ict(req.expires_at),
        "created_at": isoformat_ict(req.created_at),
        "status": req.status,
        "cancel_reason": req.cancel_reason,
    }
