"""The treasury API's shapes, defined once: the query strings and the remittance body it
validates, the answers it serialises (the fee returns 01/PHLP and 02/PHLP, positions,
remittances) and, from both, their part of the OpenAPI document (``reports.treasury_openapi``)."""
from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Literal

from pydantic import Field

from core.api_schema import IctTime, Input, Money, Number, Shape, text
from core.money import MAX_AMOUNT
from core.vocabulary import FeeKind, ObligationKind

Month = Annotated[str, Field(pattern="^[0-9]{4}-[0-9]{2}$", examples=["2026-11"])]
Year = Annotated[str, Field(pattern="^[0-9]{4}$", examples=["2026"])]
Signed = Annotated[int, Field(description="Whole đồng; negative only for a month whose cancellations exceed its "
                                          "receipts.", examples=[8000])]
CitySupport = Annotated[Money, Field(description="Paid by the city budget in the payers' place (Nghị quyết "
                                                 "77/2025/NQ-HĐND) for the dossiers filed in the period (rejected, "
                                                 "withdrawn and stopped ones left out): no receipt, not in the "
                                                 "collection account, so never collected, retained, payable or "
                                                 "owed.")]
AgencyQuery = Annotated[str, Field(description="The agency's code.", examples=["HN-VPDKDD-CN02"])]


# --- query strings and the remittance body -----------------------------------------------------

class FeeReturnQuery(Input):
    agency: AgencyQuery
    month: Month | None = Field(None, description="The month of a 01/PHLP (`YYYY-MM`); give month or year.")
    year: Year | None = Field(None, description="The year of a 02/PHLP.")
    format: Literal["json", "xlsx"] = Field("json", description="json or xlsx.", examples=["json"])


class PositionsQuery(Input):
    agency: AgencyQuery | None = Field(None, description="Only this agency.")
    month: Month | None = Field(None, description="One month.")
    month_from: Month | None = Field(None, alias="from", description="First month.", examples=["2026-10"])
    month_to: Month | None = Field(None, alias="to", description="Last month.")


class RemittanceQuery(Input):
    agency: AgencyQuery | None = Field(None, description="Only this agency.")
    year: Year | None = Field(None, description="Only the months of this year.")


class RemittanceInput(Input):
    agency: text(40)
    month: Month
    remitted_on: date = Field(examples=["2026-12-02"])
    amount: Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
    document_number: text(60)
    note: Annotated[str, Field(max_length=1000)] | None = None


# --- answers ---------------------------------------------------------------------------------

class ReturnAgency(Shape):
    code: str
    name: str
    tax_code: str | None


class ReturnLine(Shape):
    fee_code: str
    name: str
    kind: FeeKind
    budget_chapter: str | None
    budget_subitem: str | None
    collected: Signed = Field(description="Receipts issued in the period less receipts cancelled in it, plus the "
                                          "money receipted by other issuers' documents (the portal's platform, "
                                          "paper receipts for cash) whose dossier's last payment is in the period.")
    collected_e_receipts: Signed = Field(description="Of collected: on the service's e-receipts.")
    collected_other_documents: Signed = Field(description="Of collected: receipted by other issuers' documents, "
                                                          "which get no e-receipt.")
    other_documents_dossiers: int = Field(description="The dossiers of that money.")
    retention_percent: Number | None = Field(description="As the catalogue sets it; null: not set for a phí (0 % "
                                                         "applied).")
    retention_set: bool
    retained: Signed = Field(description="collected × retention, rounded half up to the đồng (per month; a year "
                                         "sums its months).")
    payable: Signed = Field(description="collected − retained: owed to the state budget.")
    receipts: int = Field(description="Receipts issued less receipts cancelled.")
    treasury_verified: bool
    city_support: Money = Field(description="What the city budget pays for this fee item in the payers' place "
                                            "(Nghị quyết 77/2025): beside `collected`, never in it.")


class ReturnTotal(Shape):
    collected: Signed
    retained: Signed
    payable: Signed
    remitted: Money
    owed: Signed = Field(description="payable − remitted.")
    city_support: CitySupport
    collected_e_receipts: Signed
    collected_other_documents: Signed


class ObligationApart(Shape):
    kind: ObligationKind
    amount: Signed


class SupportRule(Shape):
    code: str
    legal_basis: str


class SupportLine(Shape):
    fee_code: str
    name: str
    kind: FeeKind | None = Field(description="phi or le_phi, as the charge recorded it.")
    budget_chapter: str | None
    budget_subitem: str | None
    amount: CitySupport
    charges: int = Field(description="The charges supported.")
    rules: list[SupportRule] = Field(description="The rules that gave the support, as the charges recorded them.")


class FeeReturn(Shape):
    """The fee return: 01/PHLP for a month, 02/PHLP for a year (forms of Thông tư 80/2021/TT-BTC, declared as
    Thông tư 74/2022/TT-BTC sets), one line per fee item. docs/TREASURY.md says which columns are reproduced and
    what is approximated."""

    form: Literal["01/PHLP", "02/PHLP"]
    agency: ReturnAgency
    period: str = Field(examples=["2026-11", "2026"])
    lines: list[ReturnLine]
    total: ReturnTotal
    months_with_collections: list[Month]
    tax_obligations_apart: list[ObligationApart] = Field(description="Land financial obligations charged as fees "
                                                                     "before the service separated them: never in "
                                                                     "the return.")
    city_support_lines: list[SupportLine] = Field(description="Every fee item the city supported in the period, "
                                                              "with or without receipts (a fee item paid only by the "
                                                              "city has no line in `lines`).")
    generated_at: IctTime

    @classmethod
    def of(cls, r, generated_at: datetime) -> FeeReturn:
        from .fee_return import percent

        return cls(
            form=r.form, agency=ReturnAgency(code=r.agency.code, name=r.agency.name, tax_code=r.agency.tax_code),
            period=r.period,
            lines=[ReturnLine(fee_code=l.fee_code, name=l.name, kind=l.kind, budget_chapter=l.chapter,
                              budget_subitem=l.subitem, collected=l.collected,
                              collected_e_receipts=l.collected - l.other_collected,
                              collected_other_documents=l.other_collected, other_documents_dossiers=l.other_dossiers,
                              retention_percent=percent(l.retention_bp), retention_set=l.retention_bp is not None,
                              retained=l.retained, payable=l.payable, receipts=l.receipts,
                              treasury_verified=l.verified, city_support=r.support_of(l)) for l in r.lines],
            total=ReturnTotal(collected=r.collected, retained=r.retained, payable=r.payable, remitted=r.remitted,
                              owed=r.owed, city_support=r.city_support,
                              collected_e_receipts=r.collected - r.other_collected,
                              collected_other_documents=r.other_collected),
            months_with_collections=r.months,
            tax_obligations_apart=[ObligationApart(kind=k, amount=v) for k, v in sorted(r.obligations.items())],
            city_support_lines=[SupportLine(fee_code=s.fee_code, name=s.name, kind=s.kind, budget_chapter=s.chapter,
                                            budget_subitem=s.subitem, amount=s.amount, charges=s.charges,
                                            rules=[SupportRule(code=c, legal_basis=b) for c, b in
                                                   sorted(s.rules.items())]) for s in r.support],
            generated_at=generated_at)


class Remittance(Shape):
    """Money handed to the State Treasury for an agency's month, with the treasury's document."""

    id: int
    agency: str
    month: Month
    remitted_on: date
    amount: Money
    document_number: str
    note: str | None
    recorded_by: str
    recorded_at: IctTime

    @classmethod
    def of(cls, r) -> Remittance:
        return cls(id=r.id, agency=r.agency.code, month=f"{r.month:%Y-%m}", remitted_on=r.remitted_on,
                   amount=r.amount, document_number=r.document_number, note=r.note, recorded_by=r.recorded_by,
                   recorded_at=r.recorded_at)


class RemittanceList(Shape):
    items: list[Remittance]


class Position(Shape):
    agency: str
    month: Month
    collected: Signed
    retained: Signed
    payable: Signed
    remitted: Money
    owed: Signed
    city_support: CitySupport

    @classmethod
    def of(cls, p) -> Position:
        return cls(agency=p.agency.code, month=f"{p.month:%Y-%m}", collected=p.collected, retained=p.retained,
                   payable=p.payable, remitted=p.remitted, owed=p.owed, city_support=p.city_support)


class TreasuryPositions(Shape):
    items: list[Position]


INPUTS = (RemittanceInput,)
SHAPES = (FeeReturn, Remittance, RemittanceList, TreasuryPositions)
