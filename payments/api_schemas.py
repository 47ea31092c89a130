"""The dossier API's shapes (CONTRACT.md), defined once: the request bodies it validates, the
answers it serialises (``Dossier.of``, ``PaymentRequest.of``…) and, from both, the schemas of
the OpenAPI document (``payments.openapi``)."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Callable, Literal
from urllib.parse import quote

from flask import current_app, has_request_context, request, url_for
from pydantic import AfterValidator, BeforeValidator, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema
from sqlalchemy.orm import object_session
from werkzeug.routing import BuildError

from core.api_schema import IctTime, Input, InputTime, Money, Shape, absent, blank_is_none, text
from core.money import MAX_AMOUNT
from core.vocabulary import (DossierChannel, ExemptionGround, FeeKind, ObligationKind, ObligationStatus,
                             PaymentChannel, PaymentStatus, ProofKind, ReceiptStatus, RequestStatus, Source)

from .dossiers import CODE_MAX, CODE_PATTERN, MAX_DECLARED_VALUE
from .fees import PAYER_CLASSES
from .requests import MAX_VALIDITY_MINUTES

PayerClass = Literal[PAYER_CLASSES]  # type: ignore[valid-type]
DossierCode = Annotated[str, Field(max_length=CODE_MAX, pattern=CODE_PATTERN.pattern,
                                   examples=["000.12.03.H26-261125-0001"])]
PortalCode = Annotated[str, Field(max_length=CODE_MAX, pattern=CODE_PATTERN.pattern)]
MAX_CHARGE = 10**13 - 1

# The national portal's dossier statuses and their numbers (DOMAIN.md); the service stores the
# name. Which of them the reports count as cancelled or not started: reports.definitions.
DOSSIER_STATUSES = {"submitted": 1, "accepted": 2, "rejected": 3, "in_progress": 4, "documents_requested": 5,
                    "awaiting_payment": 6, "withdrawn": 7, "stopped": 8, "done": 9, "result_delivered": 10}
STATUS_BY_NUMBER = {number: name for name, number in DOSSIER_STATUSES.items()}
DossierStatusName = Literal[tuple(DOSSIER_STATUSES)]  # type: ignore[valid-type]


# --- request bodies ---------------------------------------------------------------------------

ChargeName = text(300)
ProcedureCode = text(40, examples=["1.013831"])
AgencyCode = text(40, examples=["HN-VPDKDD-CN02"])
PersonName = text(200)

class ChargeInput(Input):
    name: ChargeName
    amount: Annotated[Money, Field(le=MAX_CHARGE)]
    kind: FeeKind | None = None
    fee_code: str | None = None
    legal_basis: str | None = None


class DossierParameters(Input):
    """The facts the fee catalogue needs."""

    model_config = ConfigDict(extra="allow")

    payer_class: PayerClass | None = Field(None, description="Needed when a fee depends on the payer.")
    declared_value: Annotated[int, Field(ge=0, le=MAX_DECLARED_VALUE)] | None = Field(
        None, description="The declared value in đồng, for fees that are rates.")
    copies: Annotated[int, Field(ge=1, le=1000)] | None = None
    exemptions: list[str] | None = Field(None, description="Fee codes whose conditional exemption the clerk "
                                                           "confirms.")
    exemption_ground: ExemptionGround | None = Field(None, description="Set from the body's `exemption_ground`.")
    child_under_14: bool | None = Field(None, description="The person whose civil-status records are changed is "
                                                          "under 14.")
    vneid_level2: bool | None = Field(None, description="The applicant uses a VNeID level-2 account.")


class DossierInput(Input):
    code: Annotated[DossierCode | None, BeforeValidator(blank_is_none)] = Field(
        None, description="The dossier's code; generated as `<unit>-<yyMMdd>-<nnnn>` when absent.")
    portal_code: Annotated[PortalCode | None, BeforeValidator(blank_is_none)] = Field(
        None, description="The national public service portal's code, if any.")
    procedure_code: ProcedureCode
    agency_code: AgencyCode
    applicant_name: PersonName
    submitted_at: InputTime | None = Field(None, description="When it was submitted (default: now); needs an "
                                                             "offset.")
    channel: DossierChannel = DossierChannel.COUNTER
    payer_class: PayerClass | None = Field(None, description="Shorthand for `parameters.payer_class`.")
    exemption_ground: ExemptionGround | None = Field(
        None, description="Optional: the ground on which the payer is exempt from civil-status charges, as the "
                          "clerk confirmed it (`revolutionary_merit`: family of a person with revolutionary merit, "
                          "`poor_household`, `disability`); kept in `parameters`.")
    charges: list[ChargeInput] | None = Field(None, description="The charges, when the dossier system computed "
                                                                "them; without it they come from the fee catalogue "
                                                                "and `parameters`.")
    parameters: DossierParameters | None = None


class PaymentRequestInput(Input):
    amount: Annotated[int, Field(ge=1)] | None = Field(
        None, description="Default: what remains due and is not already asked for by an open request.")
    expires_in_minutes: Annotated[int, Field(ge=1, le=MAX_VALIDITY_MINUTES)] | None = Field(
        None, description="Default: to the end (23:59:59 ICT) of the next working day.")


def status_name(value: Any) -> str:
    """A status of the national portal by name or number (``7``, ``"7"``, ``"withdrawn"``) as its name."""
    if isinstance(value, int) and not isinstance(value, bool) and value in STATUS_BY_NUMBER:
        return STATUS_BY_NUMBER[value]
    if isinstance(value, str):
        name = value.strip()
        if name.isdigit() and int(name) in STATUS_BY_NUMBER:
            return STATUS_BY_NUMBER[int(name)]
        if name in DOSSIER_STATUSES:
            return name
    raise ValueError("one of " + ", ".join(f"{n} ({name})" for name, n in DOSSIER_STATUSES.items()))


class DossierStatusInput(Input):
    status: Annotated[Any, AfterValidator(status_name), WithJsonSchema({"type": ["string", "integer"]})] = Field(
        description="The national portal's status, by name or number: submitted (1), accepted (2), rejected (3), "
                    "in_progress (4), documents_requested (5), awaiting_payment (6), withdrawn (7), stopped (8), "
                    "done (9), result_delivered (10).", examples=["withdrawn", 7])
    note: Annotated[str, Field(max_length=1000)] | None = Field(None, description="Why, for the audit trail.")


class TaxNoticeInput(Input):
    kind: ObligationKind
    notice_number: text(60)
    amount: Annotated[Money, Field(le=MAX_AMOUNT)]
    due_date: date | None = None
    issuing_authority: text(200)


class TaxProofInput(Input):
    kind: ProofKind = Field(description="A State Treasury slip, or the national portal's confirmation.")
    number: text(80)
    date: date


class CancelInput(Input):
    reason: Annotated[str, Field(max_length=1000)] | None = Field(None, description="Why; required (422 "
                                                                                    "`reason_required` without it).")


# --- answers --------------------------------------------------------------------------------

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


Bin = Annotated[str, Field(pattern="^[0-9]{6}$", description="The bank's NAPAS BIN.", examples=["970415"])]


class Account(Shape):
    """A collection account of an agency."""

    bin: Bin
    number: str = Field(examples=["105415039595"])
    name: str = Field(description="The account holder's name.")

    @classmethod
    def of(cls, account) -> Account:
        return cls(bin=account.bank_bin, number=account.number, name=account.holder_name)


class AgencyAccount(Account):
    """An active collection account of the agency."""

    default: bool = Field(description="Whether new payment requests use this account.")


class Agency(Shape):
    code: str = Field(examples=["HN-VPDKDD-CN02"])
    name: str
    name_en: str | None
    kind: str = Field(description="city_body, branch, ward, commune or district.", examples=["branch"])
    parent_code: str | None
    accounts: list[AgencyAccount]

    @classmethod
    def of(cls, agency) -> Agency:
        return cls(code=agency.code, name=agency.name, name_en=agency.name_en, kind=agency.kind,
                   parent_code=agency.parent_code,
                   accounts=[AgencyAccount(**Account.of(a).model_dump(), default=a.is_default)
                             for a in agency.accounts if a.active])


class AgencyList(Shape):
    items: list[Agency]


def per_mille(rate_ppm: int) -> int | float:
    """A rate kept in parts per million as a number per mille: 1500 → 1.5, 5000 → 5."""
    whole, rest = divmod(rate_ppm, 1000)
    return whole if rest == 0 else rate_ppm / 1000


def retention_percent(retention_bp: int | None) -> int | float | None:
    """Hundredths of a per cent as a per cent: 9000 → 90, 2550 → 25.5."""
    if retention_bp is None:
        return None
    whole, rest = divmod(retention_bp, 100)
    return whole if rest == 0 else retention_bp / 100


class Fee(Shape):
    """A fee item of the catalogue: a fixed `amount`, or a `rate` per mille of the declared value (with an
    optional `cap`)."""

    code: str = Field(examples=["BD"])
    name: str
    kind: FeeKind = Field(description="phí (fee) or lệ phí (charge).")
    payer_class: Literal[("any", *PAYER_CLASSES)]  # type: ignore[valid-type]
    amount: Money | SkipJsonSchema[None] = absent(description="A fixed amount in đồng (absent for a rate).")
    rate: Annotated[int | float, WithJsonSchema({"type": "number", "minimum": 0})] | SkipJsonSchema[None] = absent(
        description="Per mille of the declared value, e.g. 1.5 (absent for a fixed amount).", examples=[1.5])
    cap: Money | SkipJsonSchema[None] = absent(description="The most a rate charges, in đồng (present only when "
                                                           "set).")
    per_copy: bool
    exempt: bool = Field(description="Always exempt: the charge is 0 đ.")
    exempt_condition: str | None = Field(description="An exemption the clerk may confirm.")
    online_free_from: date | None = Field(description="The catalogue's column for Nghị quyết 77/2025 (from this "
                                                      "day, 0 đ online), kept as data; the fee rules decide now, "
                                                      "and each charge says which rule applied.")
    legal_basis: str
    verified: bool = Field(description="Whether the amount was checked against the published legal text.")
    budget_chapter: str | None = Field(description="The state budget chapter (mã chương).")
    budget_subitem: str | None = Field(description="The state budget sub-item (tiểu mục).")
    retention_percent: Annotated[int | float, WithJsonSchema({"type": "number", "minimum": 0, "maximum": 100})] \
        | None = Field(
        description="The share of a phí the collecting unit keeps (lệ phí: 0); null when not set.")
    treasury_verified: bool = Field(description="Whether chapter, sub-item and retention were confirmed.")

    @classmethod
    def of(cls, item) -> Fee:
        if item.rate_ppm is not None:
            amount, rate, cap = None, per_mille(item.rate_ppm), item.cap
        else:
            amount, rate, cap = (item.amount if item.amount is not None else 0), None, None
        return cls(code=item.code, name=item.name, kind=item.kind, payer_class=item.payer_class, amount=amount,
                   rate=rate, cap=cap, per_copy=item.per_copy, exempt=item.exempt_always,
                   exempt_condition=item.exempt_condition, online_free_from=item.online_free_from,
                   legal_basis=item.legal_basis, verified=item.verified, budget_chapter=item.budget_chapter,
                   budget_subitem=item.budget_subitem, retention_percent=retention_percent(item.retention_bp),
                   treasury_verified=item.treasury_verified)


class Procedure(Shape):
    code: str = Field(description="The catalogue's code: the national code, or `HN.<fee code>` where no single "
                                  "national code is known.", examples=["1.013831"])
    national_code: str | None
    name: str
    name_en: str | None
    field: str = Field(examples=["land", "civil_status"])
    fees: list[Fee]

    @classmethod
    def of(cls, procedure) -> Procedure:
        return cls(code=procedure.code, national_code=procedure.national_code, name=procedure.name,
                   name_en=procedure.name_en, field=procedure.field,
                   fees=[Fee.of(item) for item in procedure.fee_items])


class ProcedureList(Shape):
    items: list[Procedure]


class ChargeRule(Shape):
    """The fee rule that set the charge's amount, as recorded when the charge was made; `schedule` when none
    did."""

    code: str = Field(examples=["NQ77-HN-TP", "schedule"])
    name: str | None
    legal_basis: str | None
    confirmed: bool | None = Field(description="False: the rule's facts are not confirmed.")


class Charge(Shape):
    name: str
    amount: Money
    kind: FeeKind | None
    fee_code: str | None
    legal_basis: str
    detail: str = Field(description="How the amount was computed.")
    rule: ChargeRule
    schedule_amount: Money = Field(description="The schedule's amount, before the rule.")
    city_support: Money = Field(description="What the city pays in the payer's place (Nghị quyết 77/2025/NQ-HĐND: "
                                            "Ministry-set fees of online dossiers); not part of `amount`.")

    @classmethod
    def of(cls, charge) -> Charge:
        # A charge without a recorded rule (older charges, given charges) follows the schedule.
        if charge.rule_code:
            rule = ChargeRule(code=charge.rule_code, name=charge.rule_name, legal_basis=charge.rule_basis,
                              confirmed=charge.rule_confirmed)
        else:
            rule = ChargeRule(code="schedule", name=None, legal_basis=None, confirmed=None)
        return cls(name=charge.name, amount=charge.amount, kind=charge.kind, fee_code=charge.fee_code,
                   legal_basis=charge.legal_basis, detail=charge.detail, rule=rule,
                   schedule_amount=charge.schedule_amount if charge.schedule_amount is not None else charge.amount,
                   city_support=charge.city_support or 0)


Reference = Annotated[str, Field(pattern="^HS[0-9A-Z]{9}$", description="Travels in the transfer content; carries "
                                                                         "a check character.")]


class PaymentRequestSummary(Shape):
    reference: str
    amount: Money
    amount_paid: Money
    status: RequestStatus
    expires_at: IctTime
    created_at: IctTime

    @classmethod
    def of(cls, req) -> PaymentRequestSummary:
        return cls(reference=req.reference, amount=req.amount, amount_paid=req.amount_paid, status=req.status,
                   expires_at=req.expires_at, created_at=req.created_at)


class ReceiptDocument(Shape):
    """A document that receipts a payment: the service's e-receipt, the paper receipt handed over with cash, or
    the national platform's receipt of a portal payment."""

    document: Literal["e_receipt", "paper", "portal"]
    form: str | SkipJsonSchema[None] = absent()
    series: str | SkipJsonSchema[None] = absent()
    number: str | SkipJsonSchema[None] = absent()
    reference: str | None = Field(None, description="The portal payment's reference.",
                                  exclude_if=lambda value: value is None)
    status: Literal["issued", "cancelled"]


class Payment(Shape):
    """A payment allocated to the dossier."""

    transaction_ref: str
    amount: Money
    channel: Source = Field(description="How the service heard of the payment.")
    payment_channel: PaymentChannel = Field(description="How the citizen paid.")
    received_at: IctTime
    allocated_at: IctTime
    receipted_by: list[ReceiptDocument] = Field(description="The documents that receipt this payment (one in "
                                                            "force).")


class ReceiptRef(Shape):
    form: str
    series: str
    number: str


class ReceiptPayment(Shape):
    transaction_ref: str
    amount: Money
    payment_channel: PaymentChannel


class Receipt(Shape):
    """An e-receipt of the dossier. `(form, series, number)` never repeats: the series carries the two last digits
    of the year of issue (Indochina time), and numbering starts at 1 in each series."""

    form: str = Field(description="The receipt form symbol (mẫu số).", examples=["01BLP0-001"])
    series: str = Field(description="The receipt series (ký hiệu).", examples=["DD-26E"])
    number: str = Field(pattern="^[0-9]{8}$", examples=["00000001"])
    issued_at: IctTime
    amount: Money
    kind: FeeKind
    status: ReceiptStatus = Field(description="`replaced`: cancelled, and a later receipt replaces it.")
    pdf_url: str = Field(json_schema_extra={"format": "uri"},
                         description="The receipt's PDF (`GET /api/v1/receipts/{token}.pdf`, any role).")
    xml_url: str = Field(json_schema_extra={"format": "uri"},
                         description="The signed XML document (`GET /api/v1/receipts/{token}.xml`).")
    transmission_code: str | None = Field(description="The code the e-receipt system gave the document; null until "
                                                      "it is signed (shortly after the payment).")
    cancelled_at: IctTime | None
    cancel_reason: str | None
    replaces: ReceiptRef | None = Field(description="The cancelled receipt this one replaces.")
    replaced_by: ReceiptRef | None = Field(description="The receipt that replaces this one (status `replaced`).")
    payments: list[ReceiptPayment] = Field(description="The payments this receipt covers.")

    @classmethod
    def all_of(cls, receipts: list) -> list[Receipt]:
        """A dossier's e-receipts as CONTRACT.md lists them, oldest first, with (docs/API.md) the signed XML, the
        transmission code, the receipt it replaces or that replaces it, why it was cancelled, and the payments it
        covers."""
        from .receipt_documents import dossier_documents
        from .receipts import receipt_number

        replaced = {r.replaces_id for r in receipts if r.replaces_id is not None}
        by_id = {r.id: r for r in receipts}
        replacement = {r.replaces_id: r for r in receipts if r.replaces_id is not None}
        session = object_session(receipts[0]) if receipts else None
        covers = dossier_documents(session, receipts[0].dossier_id)[0] if session is not None else {}

        def ref(other) -> ReceiptRef | None:
            return ReceiptRef(form=other.form, series=other.series, number=receipt_number(other)) if other else None

        return [cls(form=r.form, series=r.series, number=receipt_number(r), issued_at=r.issued_at, amount=r.amount,
                    kind=r.kind, status="replaced" if r.status == "cancelled" and r.id in replaced else r.status,
                    pdf_url=external_url("api.receipt_pdf", token=r.lookup_token),
                    xml_url=external_url("api.receipt_xml", token=r.lookup_token),
                    transmission_code=r.transmission_code, cancelled_at=r.cancelled_at,
                    cancel_reason=r.cancel_reason,
                    replaces=ref(by_id.get(r.replaces_id)) if r.replaces_id else None,
                    replaced_by=ref(replacement.get(r.id)), payments=covers.get(r.id, []))
                for r in receipts]


class TaxProof(Shape):
    kind: ProofKind
    number: str
    date: date
    recorded_by: str


class TaxObligation(Shape):
    """A land financial obligation assessed by the tax authority's notice and paid into the State Treasury
    (registration fee, land-use levy, personal income tax), with the proof of its payment. `status`: `unpaid`,
    `paid` (a proof is recorded), `paid_via_service` (charged as a fee of the dossier before the service separated
    obligations, and paid with it)."""

    id: int
    kind: ObligationKind
    notice_number: str | None
    amount: Money
    due_date: date | None
    issuing_authority: str | None
    status: ObligationStatus
    proof: TaxProof | None

    @classmethod
    def of(cls, obligation) -> TaxObligation:
        from .obligations import status

        proof = None
        if obligation.proof_kind is not None:
            proof = TaxProof(kind=obligation.proof_kind, number=obligation.proof_number, date=obligation.proof_date,
                             recorded_by=obligation.proof_recorded_by)
        return cls(id=obligation.id, kind=obligation.kind, notice_number=obligation.notice_number,
                   amount=obligation.amount, due_date=obligation.due_date,
                   issuing_authority=obligation.issuing_authority, status=status(obligation), proof=proof)


# The payments of a dossier are the reconciliation's allocations; it registers how to list them
# (payments never reaches into reconciliation: the dependency points the other way).
_payment_lines: list[Callable[[Any], list[dict[str, Any]]]] = []


def register_payment_lines(provider: Callable[[Any], list[dict[str, Any]]]) -> None:
    _payment_lines[:] = [provider]


def payments_for(dossier) -> list[dict[str, Any]]:
    """The payments allocated to a dossier (``transaction_ref``, ``amount``, ``channel``,
    ``payment_channel``, ``received_at``, ``allocated_at``, ``receipted_by``)."""
    return _payment_lines[0](dossier) if _payment_lines else []


class Dossier(Shape):
    code: DossierCode
    portal_code: str | None
    procedure_code: str
    field: str = Field(examples=["land"])
    agency_code: str
    applicant_name: str
    channel: DossierChannel
    submitted_at: IctTime
    payer_class: str | None
    parameters: dict[str, Any] = Field(description="The facts the fee catalogue needs (`DossierParameters`).")
    amount_due: Money
    amount_paid: Money
    payment_status: PaymentStatus
    charges: list[Charge]
    payment_requests: list[PaymentRequestSummary]
    payments: list[Payment]
    receipts: list[Receipt]
    tax_obligations: list[TaxObligation] = Field(description="The land financial obligations (tax notices) the "
                                                             "dossier depends on: never part of its charges "
                                                             "(docs/TREASURY.md).")

    @classmethod
    def of(cls, dossier) -> Dossier:
        from .dossiers import payment_status
        from .obligations import for_dossier as obligations_for
        from .receipts import dossier_receipts

        session = object_session(dossier)
        return cls(
            code=dossier.code, portal_code=dossier.portal_code, procedure_code=dossier.procedure.code,
            field=dossier.procedure.field, agency_code=dossier.agency.code, applicant_name=dossier.applicant_name,
            channel=dossier.channel, submitted_at=dossier.submitted_at, payer_class=dossier.payer_class,
            parameters=dossier.parameters or {}, amount_due=dossier.amount_due, amount_paid=dossier.amount_paid,
            payment_status=payment_status(dossier), charges=[Charge.of(c) for c in dossier.charges],
            payment_requests=[PaymentRequestSummary.of(r) for r in dossier.payment_requests],
            payments=payments_for(dossier),
            receipts=Receipt.all_of(dossier_receipts(session, dossier.id)) if session is not None else [],
            tax_obligations=([TaxObligation.of(o) for o in obligations_for(session, dossier)]
                             if session is not None else []))


class PaymentRequest(Shape):
    reference: Reference
    dossier_code: str
    amount: Annotated[Money, Field(ge=1)]
    amount_paid: Money
    account: Account
    purpose: str = Field(max_length=25, description="Exactly what `qr_payload` carries in tag 62-08.")
    qr_payload: str = Field(description="The VietQR (EMVCo) payload, CRC included.")
    pay_url: str = Field(json_schema_extra={"format": "uri"}, description="The citizen's page.")
    card_pdf_url: str = Field(json_schema_extra={"format": "uri"}, description="The printable QR card (PDF).")
    qr_png_url: str = Field(json_schema_extra={"format": "uri"}, description="The QR code as a PNG image.")
    expires_at: IctTime
    created_at: IctTime
    status: RequestStatus
    cancel_reason: str | None

    @classmethod
    def of(cls, req) -> PaymentRequest:

        return cls(reference=req.reference, dossier_code=req.dossier.code, amount=req.amount,
                   amount_paid=req.amount_paid, account=Account.of(req.account), purpose=req.purpose,
                   qr_payload=req.qr_payload, pay_url=external_url("citizen.pay", token=req.token),
                   card_pdf_url=external_url("citizen.card", token=req.token, fmt="pdf"),
                   qr_png_url=external_url("citizen.qr_png", token=req.token), expires_at=req.expires_at,
                   created_at=req.created_at, status=req.status, cancel_reason=req.cancel_reason)


class DossierStatus(Shape):
    code: str
    status: DossierStatusName
    status_number: Annotated[int, Field(ge=1, le=10)]
    previous_status: str
    changed: bool = Field(description="False when the dossier already had this status.")
    at: IctTime


INPUTS = (DossierInput, PaymentRequestInput, DossierStatusInput, CancelInput, TaxNoticeInput, TaxProofInput)
SHAPES = (AgencyList, ProcedureList, Dossier, PaymentRequest, DossierStatus, TaxObligation)
