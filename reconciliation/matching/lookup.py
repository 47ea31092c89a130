"""What the matcher may ask of the records, answered from the database (``matcher.Lookup``)."""
from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from payments.models import Dossier, PaymentRequest

from reconciliation.matching.matcher import DossierFacts, RequestFacts


def _remaining(dossier: Dossier) -> int:
    return dossier.amount_due - dossier.amount_paid


def request_facts(request: PaymentRequest) -> RequestFacts:
    dossier = request.dossier
    return RequestFacts(request_id=request.id, reference=request.reference, dossier_id=dossier.id,
                        dossier_code=dossier.code, agency_id=dossier.agency_id, amount=request.amount,
                        amount_paid=request.amount_paid, status=request.status, expires_at=request.expires_at,
                        dossier_remaining=_remaining(dossier))


def dossier_facts(dossier: Dossier) -> DossierFacts:
    return DossierFacts(dossier_id=dossier.id, code=dossier.code, agency_id=dossier.agency_id,
                        remaining=_remaining(dossier),
                        open_requests=tuple(request_facts(r) for r in dossier.payment_requests
                                            if r.status in ("open", "partially_paid")))


class SqlLookup:
    def __init__(self, session: Session) -> None:
        self.session = session

    def requests(self, references: list[str]) -> dict[str, RequestFacts]:
        if not references:
            return {}
        rows = self.session.scalars(select(PaymentRequest).where(PaymentRequest.reference.in_(references)))
        return {r.reference: request_facts(r) for r in rows}

    def dossiers(self, code_keys: list[str]) -> dict[str, DossierFacts]:
        if not code_keys:
            return {}
        rows = self.session.scalars(select(Dossier).where(
            Dossier.code_key.in_(code_keys) | Dossier.portal_code_key.in_(code_keys)))
        found: dict[str, DossierFacts] = {}
        for dossier in rows:
            facts = dossier_facts(dossier)
            for key in (dossier.code_key, dossier.portal_code_key):
                if key in code_keys:
                    found[key] = facts
        return found

    def dossiers_named(self, names: list[str], amount: int, limit: int) -> list[DossierFacts]:
        if not names or amount <= 0:
            return []
        # As the bulk path answers it (bulk._Lookup): the dossier, not its requests.
        rows = self.session.execute(select(Dossier.id, Dossier.code, Dossier.agency_id).where(
            Dossier.search_key.in_(names), Dossier.amount_due - Dossier.amount_paid == amount)
            .order_by(Dossier.id.desc()).limit(limit))
        return [DossierFacts(dossier_id=i, code=code, agency_id=agency, remaining=amount) for i, code, agency in rows]

    def open_requests_asking(self, account_id: int, amount: int, limit: int) -> list[RequestFacts]:
        rows = self.session.scalars(select(PaymentRequest).where(
            PaymentRequest.account_id == account_id, PaymentRequest.amount == amount,
            PaymentRequest.status.in_(("open", "expired"))).order_by(PaymentRequest.id.desc()).limit(limit))
        return [request_facts(r) for r in rows]

    def references_starting(self, prefix: str, limit: int) -> list[RequestFacts]:
        rows = self.session.scalars(select(PaymentRequest).where(PaymentRequest.reference.startswith(prefix))
                                    .order_by(PaymentRequest.id.desc()).limit(limit))
        return [request_facts(r) for r in rows]
