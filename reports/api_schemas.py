"""The reports API's shapes, defined once: the query strings it validates (periods, groupings,
days, quarters), the answers it serialises (the online payment rate of CONTRACT.md, the other
indicators, money collected, e-receipt reports, the portal's figure compared) and, from both,
their part of the OpenAPI document (``reports.openapi``)."""
from __future__ import annotations

from datetime import date
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import SkipJsonSchema

from core.api_schema import Count, IctTime, Input, Money, Number, Rate, Shape, absent
from core.errors import ValidationError
from core.vocabulary import DossierChannel, FeeKind, PaymentChannel

from .definitions import GROUPS
from .indicators import DRILL_MEASURES
from .operations import COLLECTION_GROUPS, COLLECTION_PER

Group = Literal[GROUPS]  # type: ignore[valid-type]
DEFINITION_36 = (
    "Item 3.6 of Quyết định 766/QĐ-TTg (the online payment rate the city is scored on, 6 of 100 points), "
    "computed the way the national public service portal computes it: `rate = paid_online ÷ "
    "dossiers_with_fees` over every dossier whose processing started in the period (the Indochina day of its "
    "`submitted_at`, `from` and `to` both included), whatever its later status — withdrawn, refused and stopped "
    "dossiers stay in. `dossiers`: every dossier of the group in the period. `dossiers_with_fees`: the dossiers "
    "of procedures that have a non-zero fee in the catalogue, less those whose every charge line is 0 đồng (a "
    "dossier without any charge line stays in). `paid_online`: the dossiers whose online-payment flag "
    "(`DuocThanhToanTrucTuyen`, the value the outbound events send) is 1 (paid in full on the national portal's "
    "platform) or 2 (paid in full through the city's gateway: a VietQR transfer for a dossier filed online, only "
    "when `online_flag_vietqr_as_gateway` is true — the setting ONLINE_FLAG_VIETQR_AS_GATEWAY, off by default). "
    "Added beside the contract's fields: `paid_on_portal` and `paid_through_gateway` (flag 1 and 2), "
    "`paid_online_outside` (flagged dossiers outside the denominator: a charged dossier of a procedure without "
    "fees; `rate` is then at most 1), `fee_procedure_dossiers`, `zero_fee`, and the service's own cashless rate "
    "(`paid_cashless` ÷ `cashless_dossiers_to_pay` = `cashless_rate`: dossiers with charges above 0, not "
    "rejected, withdrawn, stopped or merely submitted, paid without cash). A payment made after the period counts "
    "for the period its dossier started in. docs/REPORTS.md gives every rule and its source."
)
FLAG_SETTING = ("ONLINE_FLAG_VIETQR_AS_GATEWAY: whether a VietQR transfer for a dossier filed online sets the "
                "online-payment flag 2.")
RECEIPT_NUMBER = Annotated[str, Field(pattern="^[0-9]{8}$", examples=["00000001"],
                                      description="The receipt number, 8 digits.")]


def _rule(parse):
    """A query value read by the reports' own parser (the pages use it too), its refusal as the field's."""
    def check(value: str) -> Any:
        try:
            return parse(value)
        except ValidationError as exc:
            raise ValueError(exc.errors[0].message if exc.errors else exc.detail) from None
    return AfterValidator(check)


def _iso_day(value: str) -> date:
    from .receipt_reports import parse_day

    return parse_day(value)


def _quarter(value: str):
    from .receipt_reports import parse_quarter

    return parse_quarter(value)


def _period_day(value: str) -> date:
    from .definitions import parse_iso_day

    return parse_iso_day(value, "day")


QueryDay = Annotated[str, _rule(_iso_day), WithJsonSchema({"type": "string", "format": "date"})]
PeriodDay = Annotated[str, _rule(_period_day), WithJsonSchema({"type": "string", "format": "date"})]


# --- query strings ---------------------------------------------------------------------------

class PeriodQuery(Input):
    day_from: PeriodDay = Field(alias="from", description="First Indochina day of the period (processing start), "
                                                         "included.", examples=["2026-11-01"])
    day_to: PeriodDay = Field(alias="to", description="Last Indochina day, included.", examples=["2026-11-30"])


class RateQuery(PeriodQuery):
    group_by: Group = Field("agency", description="agency, field or procedure (CONTRACT.md); also channel (how "
                                                  "the dossier was filed) and month.", examples=["agency"])


class DrillQuery(PeriodQuery):
    measure: Literal[DRILL_MEASURES] = Field(  # type: ignore[valid-type]
        "dossiers", description="Which figure: dossiers, with_fees, zero_fee, paid_online, not_paid_online, "
                                "cashless, cancelled, …", examples=["paid_online"])
    group_by: Group | None = Field(None, description="The group of the figure (none: the total).",
                                   examples=["agency"])
    key: str | None = Field(None, description="The group's key, required with `group_by`.",
                            examples=["P-HOANKIEM"])
    after: Annotated[str, Field(pattern="^[0-9]+$")] = Field("0", description="The cursor of the next page (from "
                                                                              "`next`).", examples=["0"])


class CollectionsQuery(PeriodQuery):
    by: Literal[COLLECTION_GROUPS] = Field(  # type: ignore[valid-type]
        "agency", description="agency, fee, subitem or kind.", examples=["fee"])
    per: Literal[COLLECTION_PER] = Field(  # type: ignore[valid-type]
        "day", description="day, month, or period (one row per key).", examples=["month"])


AgencyCode = Annotated[str, Field(pattern=r"^[^\x00-\x1f\x7f]{1,40}$", description="The agency's code.",
                                  examples=["P-HOANKIEM"])]


class DailyReceiptsQuery(Input):
    day: QueryDay = Field(description="The Indochina day.", examples=["2026-11-25"])
    agency: AgencyCode


class ReceiptUsageQuery(Input):
    quarter: Annotated[str, _rule(_quarter), WithJsonSchema({"type": "string", "pattern": "^[0-9]{4}-[Qq][1-4]$"})] \
        = Field(description="The quarter, `YYYY-Qn`.", examples=["2026-Q4"])
    agency: AgencyCode


# --- the rates --------------------------------------------------------------------------------

Key = Annotated[str, Field(description="The agency's or procedure's code, the field, the dossier channel, or the "
                                       "month `YYYY-MM`; `total` in `total`.")]


class OnlineRateRow(Shape):
    key: Key
    name: str
    dossiers: Count = Field(description="Every dossier of the group in the period.")
    dossiers_with_fees: Count = Field(description="The denominator.")
    paid_online: Count = Field(description="The numerator: online-payment flag 1 or 2.")
    rate: Annotated[Number, WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1})] = Field(
        description="paid_online ÷ dossiers_with_fees, between 0 and 1 (at most 1); 0 when dossiers_with_fees is 0 "
                    "(nothing to pay).")
    fee_procedure_dossiers: Count = Field(description="Dossiers of procedures with a fee.")
    zero_fee: Count = Field(description="Of those, with charge lines all 0 đồng (subtracted).")
    paid_on_portal: Count = Field(description="Flag 1.")
    paid_through_gateway: Count = Field(description="Flag 2.")
    paid_online_outside: Count = Field(description="Flagged, outside the denominator.")
    cashless_dossiers_to_pay: Count = Field(description="The service's own cashless rate: its denominator.")
    paid_cashless: Count = Field(description="Paid in full without cash.")
    cashless_rate: Rate

    @classmethod
    def of(cls, row) -> OnlineRateRow:
        # A group with no dossier with fees has nothing to pay, online or not: its rate is 0 and
        # its ``dossiers_with_fees`` says why. Beside the contract's fields: how the figure is made.
        c = row.counts
        return cls(key=row.key, name=row.name, dossiers=row.dossiers, dossiers_with_fees=row.dossiers_with_fees,
                   paid_online=row.numerator, rate=row.rate if row.rate is not None else 0.0,
                   fee_procedure_dossiers=c.fee_procedure_dossiers, zero_fee=c.zero_fee, paid_on_portal=c.flag_portal,
                   paid_through_gateway=c.flag_gateway, paid_online_outside=c.paid_online_outside,
                   cashless_dossiers_to_pay=c.to_pay, paid_cashless=c.cashless, cashless_rate=c.cashless_rate)


class _RateReport(Shape):
    day_from: date = Field(alias="from")
    day_to: date = Field(alias="to")
    group_by: Group
    online_channels: list[str] = Field(description="The payment channels the online-payment flag counts (from "
                                                   "`online_flag_vietqr_as_gateway`).")
    online_flag_vietqr_as_gateway: bool = Field(description=FLAG_SETTING)
    generated_at: IctTime


class OnlinePaymentRate(_RateReport):
    model_config = ConfigDict(json_schema_extra={"description": DEFINITION_36})

    rows: list[OnlineRateRow] = Field(description="One per group with at least one counted dossier, by key.")
    total: OnlineRateRow


class CashlessRateRow(Shape):
    key: Key
    name: str
    dossiers: Count = Field(description="Dossiers counted.")
    dossiers_with_fees: Count = Field(description="The denominator.")
    cashless: Count = Field(description="Paid in full without any cash.")
    rate: Rate

    @classmethod
    def of(cls, row) -> CashlessRateRow:
        return cls(key=row.key, name=row.name, dossiers=row.dossiers, dossiers_with_fees=row.dossiers_with_fees,
                   cashless=row.numerator, rate=row.rate)


class CashlessRate(_RateReport):
    """The service's own cashless rate, beyond the 766 index: of the dossiers with something to pay (charges above
    0 đồng; not rejected, withdrawn, stopped or merely submitted; `dossiers_with_fees` here), those paid in full
    without any cash payment — portal, gateway, a VietQR transfer at the counter and a card all count."""

    rows: list[CashlessRateRow]
    total: CashlessRateRow


class IndicatorItem(Shape):
    item: Literal["3.5", "3.5b", "3.6"]
    numerator: Count
    denominator: Count
    rate: Rate
    points: Annotated[Number | None, WithJsonSchema({"type": ["number", "null"], "minimum": 0})] = Field(
        description="max_points × min(1, rate ÷ full_marks_at).")
    max_points: Annotated[Number, WithJsonSchema({"type": "number", "minimum": 0})]
    full_marks_at: Annotated[Number, WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1})]
    threshold_verified: bool = Field(description="False: the threshold is not settled in public sources "
                                                 "(configuration).")


class IndicatorCounts(Shape):
    dossiers: Count
    fee_procedure_dossiers: Count
    zero_fee: Count
    dossiers_with_fees: Count
    no_fee_procedure: Count
    paid: Count
    paid_online: Count
    paid_on_portal: Count
    paid_through_gateway: Count
    paid_online_outside: Count
    fee_data: Count
    no_fee_data: Count
    cashless: Count
    cashless_dossiers_to_pay: Count
    cancelled: Count
    not_started: Count
    amount_due: Money
    amount_paid: int
    online_rate: Rate
    cashless_rate: Rate

    @classmethod
    def of(cls, c) -> IndicatorCounts:
        return cls(dossiers=c.dossiers, fee_procedure_dossiers=c.fee_procedure_dossiers, zero_fee=c.zero_fee,
                   dossiers_with_fees=c.with_fees, no_fee_procedure=c.no_fee_procedure, paid=c.paid,
                   paid_online=c.paid_online, paid_on_portal=c.flag_portal, paid_through_gateway=c.flag_gateway,
                   paid_online_outside=c.paid_online_outside, fee_data=c.fee_data, no_fee_data=c.no_fee_data,
                   cashless=c.cashless, cashless_dossiers_to_pay=c.to_pay, cancelled=c.cancelled,
                   not_started=c.not_started, amount_due=c.amount_due, amount_paid=c.paid_amount,
                   online_rate=c.rate, cashless_rate=c.cashless_rate)


class Figure(Shape):
    numerator: Count
    denominator: Count
    rate: Rate


class IndicatorProcedure(Shape):
    code: str
    name: str
    field: str
    dossiers: Count
    carries_fee_data: bool
    paid_online: bool


class Indicators(Shape):
    """Items 3.5, 3.5b and 3.6 of Quyết định 766/QĐ-TTg with their points, and the cashless rate."""

    day_from: date = Field(alias="from")
    day_to: date = Field(alias="to")
    items: list[IndicatorItem]
    points: Number
    max_points: Number
    cashless: Figure
    counts: IndicatorCounts
    procedures: list[IndicatorProcedure] = Field(description="Every procedure with fees, for items 3.5 and 3.5b.")
    online_channels: list[str]
    online_flag_vietqr_as_gateway: bool = Field(description=FLAG_SETTING)
    generated_at: IctTime


# --- the dossiers behind a figure -------------------------------------------------------------

class ReportDossier(Shape):
    code: str
    agency_code: str
    procedure_code: str
    field: str
    channel: DossierChannel
    submitted_at: IctTime
    status: str
    amount_due: Money
    amount_paid: int = Field(description="Net: allocations less paid refunds.")
    payment_channels: list[PaymentChannel]
    paid_online: bool
    cashless: bool
    online_flag: Literal[0, 1, 2] = Field(description="DuocThanhToanTrucTuyen, as the outbound events send it.")

    @classmethod
    def of(cls, x) -> ReportDossier:
        return cls(code=x.code, agency_code=x.agency_code, procedure_code=x.procedure_code, field=x.field,
                   channel=x.channel, submitted_at=x.submitted_at, status=x.status, amount_due=x.amount_due,
                   amount_paid=x.paid_net, payment_channels=x.payment_channels, paid_online=x.paid_online,
                   cashless=x.cashless, online_flag=x.online_flag)


class ReportDossierList(Shape):
    day_from: date = Field(alias="from")
    day_to: date = Field(alias="to")
    measure: Literal[DRILL_MEASURES]  # type: ignore[valid-type]
    group_by: str | None
    key: str | None
    count: Count = Field(description="How many dossiers the figure has in all.")
    items: list[ReportDossier]
    next: str | None = Field(json_schema_extra={"format": "uri"}, description="The next page, or null.")


# --- money collected, payment times, delays ---------------------------------------------------

class CollectionPart(Shape):
    """The part of lines and amount on the service's e-receipts (e_receipts), or receipted by another issuer's
    document, which gets no e-receipt (other_documents: the national portal's platform, a paper receipt for cash);
    the two add up to the row's lines and amount."""

    lines: Count
    amount: Money


class CollectionRow(Shape):
    period: str | None = Field(description="YYYY-MM-DD, YYYY-MM, or null.")
    key: str = Field(description="Agency code, fee code, budget sub-item ('' when not assigned) or kind.")
    name: str
    kind: str | None
    lines: Count
    amount: Money
    verified: bool = Field(description="False for fee codes without a budget sub-item.")
    e_receipts: CollectionPart
    other_documents: CollectionPart

    @classmethod
    def of(cls, r) -> CollectionRow:
        return cls(period=r.period or None, key=r.key, name=r.name, kind=r.kind, lines=r.lines, amount=r.amount,
                   verified=r.verified, e_receipts=CollectionPart(lines=r.e_receipt_lines, amount=r.e_receipt_amount),
                   other_documents=CollectionPart(lines=r.other_lines, amount=r.other_amount))


class CollectionTotal(Shape):
    lines: Count
    amount: Money
    e_receipts: CollectionPart
    other_documents: CollectionPart


class Collections(Shape):
    day_from: date = Field(alias="from")
    day_to: date = Field(alias="to")
    by: Literal[COLLECTION_GROUPS]  # type: ignore[valid-type]
    per: Literal[COLLECTION_PER]  # type: ignore[valid-type]
    rows: list[CollectionRow]
    total: CollectionTotal


class PaymentTimeRow(Shape):
    key: str
    name: str
    count: Count
    median_seconds: int | None
    p90_seconds: int | None
    mean_seconds: int | None
    within_1_hour: Count
    within_1_day: Count

    @classmethod
    def of(cls, r) -> PaymentTimeRow:
        return cls(key=r.key, name=r.name, count=r.count, median_seconds=r.median_s, p90_seconds=r.p90_s,
                   mean_seconds=r.mean_s, within_1_hour=r.within_hour, within_1_day=r.within_day)


class PaymentTimes(Shape):
    day_from: date = Field(alias="from")
    day_to: date = Field(alias="to")
    rows: list[PaymentTimeRow]
    total: PaymentTimeRow


class OpenByAge(Shape):
    lt1: Count
    from_1_to_3: Count = Field(alias="1to3")
    gt3: Count


class BacklogUnit(Shape):
    key: str | None = Field(description="The agency's code; null when no unit is known.")
    name: str
    open_exceptions: Count
    overdue_exceptions: Count = Field(description="Open now and past their deadline.")
    late_exceptions: Count = Field(description="Raised in the period, settled after their deadline or still open "
                                               "past it.")
    oldest_open_days: int | None
    open_by_age: OpenByAge
    amount_open: Money
    unclosed_days: list[date]
    late_closed_days: list[date]

    @classmethod
    def of(cls, u) -> BacklogUnit:
        return cls(key=u.key or None, name=u.name, open_exceptions=u.open_exceptions,
                   overdue_exceptions=u.overdue_exceptions, late_exceptions=u.late_exceptions,
                   oldest_open_days=u.oldest_open_days, open_by_age=OpenByAge.model_validate(u.age_buckets),
                   amount_open=u.amount_open, unclosed_days=sorted(set(u.unclosed_days)),
                   late_closed_days=sorted(set(u.late_closed_days)))


class Backlog(Shape):
    day_from: date = Field(alias="from")
    day_to: date = Field(alias="to")
    as_of: date
    units: list[BacklogUnit]


# --- e-receipts ------------------------------------------------------------------------------

class ReportAgency(Shape):
    code: str
    name: str
    tax_code: str | None

    @classmethod
    def of(cls, agency) -> ReportAgency:
        return cls(code=agency.code, name=agency.name, tax_code=agency.tax_code)


class ReceiptKindTotal(Shape):
    """Receipts of one kind (`kind`), or of every kind (no `kind`): those in force with their amount, and those
    cancelled with theirs."""

    kind: FeeKind | SkipJsonSchema[None] = absent()
    issued: Count = Field(description="Receipts not cancelled.")
    amount: Money = Field(description="Their amount: cancelled receipts do not count.")
    cancelled: Count = Field(description="Receipts cancelled (as they are now).")
    cancelled_amount: Money = Field(description="The amount of the cancelled receipts.")

    @classmethod
    def of(cls, total) -> ReceiptKindTotal:
        return cls(kind=total.kind or None, issued=total.issued, amount=total.amount, cancelled=total.cancelled,
                   cancelled_amount=total.cancelled_amount)


class ListedReceiptRef(Shape):
    form: str
    series: str
    number: RECEIPT_NUMBER

    @classmethod
    def of(cls, ref) -> ListedReceiptRef | None:
        return None if ref is None else cls(form=ref.form, series=ref.series, number=ref.number_text)


class ListedReceipt(Shape):
    form: str
    series: str
    number: RECEIPT_NUMBER
    issued_at: IctTime
    payer_name: str
    dossier_code: str
    kind: FeeKind
    amount: Money
    status: Literal["issued", "cancelled"] = Field(description="As it is now: a receipt cancelled after the day is "
                                                               "`cancelled`.")
    cancelled_at: IctTime | None
    cancel_reason: str | None
    replaces: ListedReceiptRef | None = Field(description="The cancelled receipt this one replaces (form, series, "
                                                          "number).")
    replaced_by: ListedReceiptRef | None = Field(description="The receipt that replaces this cancelled one.")

    @classmethod
    def of(cls, x) -> ListedReceipt:
        return cls(form=x.form, series=x.series, number=x.number_text, issued_at=x.issued_at,
                   payer_name=x.payer_name, dossier_code=x.dossier_code, kind=x.kind, amount=x.amount,
                   status=x.status, cancelled_at=x.cancelled_at, cancel_reason=x.cancel_reason,
                   replaces=ListedReceiptRef.of(x.replaces), replaced_by=ListedReceiptRef.of(x.replaced_by))


class DailySeries(Shape):
    form: str
    series: str
    receipts: list[ListedReceipt]
    totals: list[ReceiptKindTotal] = Field(description="One per kind, phí and lệ phí.")
    total: ReceiptKindTotal


class DailyReceipts(Shape):
    """The daily list of the receipts an agency issued (bảng kê biên lai): every receipt issued on the Indochina
    `day`, by form, series and number, with totals per series and kind and for the day."""

    day: date
    agency: ReportAgency
    series: list[DailySeries]
    totals: list[ReceiptKindTotal] = Field(description="The day's, per kind.")
    total: ReceiptKindTotal
    generated_at: IctTime


class NumberRange(Shape):
    """Receipt numbers `from` to `to`, both included."""

    first: RECEIPT_NUMBER = Field(alias="from")
    last: RECEIPT_NUMBER = Field(alias="to")
    count: Annotated[int, Field(ge=1)]


class CancelledNumber(Shape):
    number: RECEIPT_NUMBER
    dossier_code: str
    issued_at: IctTime
    cancelled_at: IctTime | None
    reason: str | None
    after_quarter: bool = Field(description="Cancelled after the quarter ended.")


class ReceiptSeriesUsage(Shape):
    form: str
    series: str
    first: RECEIPT_NUMBER = Field(description="The first number used in the quarter.")
    last: RECEIPT_NUMBER = Field(description="The last number used in the quarter.")
    ranges: list[NumberRange] = Field(description="The numbers used in the quarter (one range when none is "
                                                  "missing).")
    count: Count = Field(description="Receipts issued in the quarter, cancelled ones included.")
    used: Count = Field(description="Of those, the ones not cancelled.")
    cancelled: Count = Field(description="Of those, the ones cancelled (as they are now).")
    cancelled_numbers: list[CancelledNumber]
    previous_last: RECEIPT_NUMBER | None = Field(description="The last number of the series used before the "
                                                             "quarter in the same year; null when the quarter "
                                                             "opened it (it should start at 1).")
    missing: list[NumberRange] = Field(description="Numbers on no receipt at all, from the number after "
                                                   "`previous_last` (or 1) to `last`: a gap in the numbering, which "
                                                   "is a defect. Empty when all is well.")
    missing_count: Count
    outside: list[NumberRange] = Field(description="Numbers in that range on receipts of another quarter or agency "
                                                   "sharing the series. Empty when all is well.")
    outside_count: Count
    ok: bool = Field(description="No number missing and none outside.")


class UsageTotal(Shape):
    count: Count
    used: Count
    cancelled: Count
    missing_count: Count
    outside_count: Count


class ReceiptUsage(Shape):
    """The quarterly receipt-usage report (BC26/BLĐT) of an agency: per form and series, the numbers used in the
    quarter, those cancelled, and any gap in the numbering. The exact BC26 layout still needs confirming with the
    city."""

    quarter: str = Field(pattern="^[0-9]{4}-Q[1-4]$", examples=["2026-Q4"])
    day_from: date = Field(alias="from")
    day_to: date = Field(alias="to")
    agency: ReportAgency
    series: list[ReceiptSeriesUsage]
    total: UsageTotal
    ok: bool
    generated_at: IctTime


# --- the portal's figure of item 3.6 compared -------------------------------------------------

class Explanation(Shape):
    dossier_code: str
    unit_code: str
    reason: Literal["not_synced", "missing_on_portal", "unknown_to_service", "flag_differs", "fee_data_differs"] = \
        Field(description="not_synced: its last outbound event is pending or dead; missing_on_portal / "
                          "unknown_to_service: only one side lists it (per-dossier export); flag_differs, "
                          "fee_data_differs: what the portal holds (its per-dossier export, else the last delivered "
                          "event) is not what the service counts now.")
    our_flag: int | None
    portal_flag: int | None
    our_fee_total: int | None
    portal_fee_total: int | None
    in_our_denominator: bool | None
    event_status: str | None


def _figure(f) -> Figure | None:
    return None if f is None else Figure(numerator=f.numerator, denominator=f.denominator, rate=f.rate)


def _explanation(e) -> Explanation:
    return Explanation.model_validate(e, from_attributes=True)


class UnitComparison(Shape):
    code: str
    name: str
    known: bool = Field(description="The service knows the unit's code.")
    differs: bool
    ours: Figure
    portal: Figure | None
    portal_rate_in_file: Number | None
    numerator_difference: int = Field(description="Ours − the portal's.")
    denominator_difference: int = Field(description="Ours − the portal's.")
    dossiers: list[Explanation]


Month = Annotated[str, Field(pattern="^[0-9]{4}-[0-9]{2}$", examples=["2026-11"])]


class PortalIndexUpload(Shape):
    id: int
    month: Month
    filename: str
    dossier_filename: str | None
    uploaded_at: IctTime
    uploaded_by: str
    units_in_file: Count
    dossiers_in_file: Count

    @classmethod
    def of(cls, u) -> PortalIndexUpload:
        return cls(id=u.id, month=u.month, filename=u.filename, dossier_filename=u.dossier_filename,
                   uploaded_at=u.uploaded_at, uploaded_by=u.uploaded_by, units_in_file=u.unit_count,
                   dossiers_in_file=u.dossier_count)


class PortalIndexComparison(PortalIndexUpload):
    """An upload of the portal's monthly export of item 3.6 against the service's figure of the same month: per
    unit, both figures and, for a unit that differs, the dossiers that explain it."""

    online_flag_vietqr_as_gateway: bool = Field(description=FLAG_SETTING)
    ours: Figure
    portal: Figure
    units: list[UnitComparison] = Field(description="Units that differ first, then by code.")
    unknown_dossiers: list[Explanation]

    @classmethod
    def of(cls, c) -> PortalIndexComparison:
        return cls(**PortalIndexUpload.of(c.upload).model_dump(), online_flag_vietqr_as_gateway=c.settings
                   .vietqr_as_gateway, ours=_figure(c.ours), portal=_figure(c.portal),
                   units=[UnitComparison(code=x.code, name=x.name, known=x.in_service, differs=x.differs,
                                         ours=_figure(x.ours), portal=_figure(x.portal),
                                         portal_rate_in_file=x.portal_rate_given,
                                         numerator_difference=x.numerator_difference,
                                         denominator_difference=x.denominator_difference,
                                         dossiers=[_explanation(e) for e in x.explanations]) for x in c.units],
                   unknown_dossiers=[_explanation(e) for e in c.unknown_dossiers])


class PortalIndexUploads(Shape):
    items: list[PortalIndexUpload]


QUERIES = (PeriodQuery, RateQuery, DrillQuery, CollectionsQuery, DailyReceiptsQuery, ReceiptUsageQuery)
SHAPES = (OnlinePaymentRate, CashlessRate, Indicators, ReportDossierList, Collections, PaymentTimes, Backlog,
          DailyReceipts, ReceiptUsage, PortalIndexComparison, PortalIndexUploads)
