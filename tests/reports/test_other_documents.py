"""Money receipted by another issuer's document (one receipt per payment, docs/PAYMENTS.md): a
dossier paid on the national portal's platform, or in cash against a paper receipt, gets no
e-receipt, yet its money is money collected (docs/REPORTS.md) and goes into 01/PHLP
(docs/TREASURY.md); a dossier paid part in paper cash and part by transfer gets e-receipts for
the whole and no other line; a reversal takes the money out; rebuild and check agree."""
from __future__ import annotations

from sqlalchemy import delete, select, text

from payments.models import Dossier, Receipt
from reconciliation.models import Allocation, PortalPayment
from reconciliation.matching.allocation import reverse
from reconciliation.matching.cash import record_cash
from reports.facts import check, rebuild
from reports.fee_return import monthly_return, return_json
from reports.models import DocumentLine, ReceiptLine
from reports.operations import collections

from .conftest import NOVEMBER, at, dossier, transfer

PAPER = {"paper_form": "01BLP2-001", "paper_series": "ab-26p"}


def paper_cash(session, d, amount, number, when, **paper):
    payment = record_cash(session, d, amount=amount, receipt_number=number, clerk_username="motcua",
                          clerk_name="Cán bộ một cửa", **(paper or PAPER))
    payment.received_at = when
    session.flush()
    return payment


def build(session):
    """P1 (land branch): 28,000 lệ phí + 3,000,000 phí paid on the portal on 19 November (its
    reference MTC-P1); Q1 (Hoàn Kiếm): 8,000 phí in cash on paper 01BLP2-001 AB-26P 0000042 on
    20 November; M1 (Hoàn Kiếm): 1,000,000 lệ phí, 500,000 by transfer and 500,000 in paper cash."""
    made = {}
    made["P1"] = dossier(session, "CN2-P1", "HN-VPDKDD-CN02", "T.BD", "counter", at(18, 8),
                         [(28_000, "le_phi"), (3_000_000, "phi")])
    allocation = transfer(session, made["P1"], 3_028_000, at(19, 8), portal=True)
    session.add(PortalPayment(ref="MTC-P1", dossier_id=made["P1"].id, dossier_code="CN2-P1", amount=3_028_000,
                              status="paid", transaction_id=allocation.transaction_id))
    made["Q1"] = dossier(session, "HK-Q1", "P-HOANKIEM", "T.TLHT", "counter", at(20, 9), [(8_000, "phi")])
    paper_cash(session, made["Q1"], 8_000, "0000042", at(20, 10))
    made["M1"] = dossier(session, "HK-M1", "P-HOANKIEM", "T.KH-NN", "counter", at(21, 9), [(1_000_000, "le_phi")])
    transfer(session, made["M1"], 500_000, at(21, 9, 30))
    paper_cash(session, made["M1"], 500_000, "0000043", at(21, 9, 40))
    session.commit()
    for receipt in session.scalars(select(Receipt)):  # issued now: dated in November for the month's figures
        receipt.issued_at = at(21, 10)
    session.commit()
    return made


def document_rows(session):
    t = DocumentLine.__table__
    return [(r.code, r.line_no, r.paid_day.isoformat(), r.kind, r.fee_code, r.amount, r.issuer, r.document)
            for r in session.execute(select(Dossier.code, t).join(Dossier, Dossier.id == t.c.dossier_id)
                                     .order_by(Dossier.code, t.c.line_no))]


def test_portal_and_paper_money_is_collected_with_its_documents(base):
    session = base
    made = build(session)
    # no e-receipt for P1 and Q1 (receipted elsewhere); M1's e-receipt receipts the whole 1,000,000
    receipts = session.execute(select(Receipt.dossier_id, Receipt.amount).where(Receipt.status == "issued")).all()
    assert receipts == [(made["M1"].id, 1_000_000)]
    assert document_rows(session) == [
        ("CN2-P1", 1, "2026-11-19", "le_phi", "BD", 28_000, "portal", "MTC-P1"),
        ("CN2-P1", 2, "2026-11-19", "phi", "BD", 3_000_000, "portal", "MTC-P1"),
        ("HK-Q1", 1, "2026-11-20", "phi", "TLHT", 8_000, "paper", "01BLP2-001/AB-26P/0000042"),
    ]
    by_agency = collections(session, NOVEMBER, "agency")
    # CN02: P1's 3,028,000 on the platform (2 lines); Hoàn Kiếm: M1's e-receipt 1,000,000 + Q1's paper 8,000
    assert [(r.key, r.lines, r.amount, r.e_receipt_amount, r.other_lines, r.other_amount) for r in by_agency.rows] \
        == [("HN-VPDKDD-CN02", 2, 3_028_000, 0, 2, 3_028_000), ("P-HOANKIEM", 2, 1_008_000, 1_000_000, 1, 8_000)]
    assert (by_agency.total_amount, by_agency.other_amount, by_agency.e_receipt_amount) == \
        (4_036_000, 3_036_000, 1_000_000)
    per_day = collections(session, NOVEMBER, "kind", "day")
    assert [(r.period, r.key, r.amount, r.other_amount) for r in per_day.rows] == [
        ("2026-11-19", "le_phi", 28_000, 28_000), ("2026-11-19", "phi", 3_000_000, 3_000_000),
        ("2026-11-20", "phi", 8_000, 8_000), ("2026-11-21", "le_phi", 1_000_000, 0)]
    land = return_json(monthly_return(session, "HN-VPDKDD-CN02", NOVEMBER.start))
    assert [(l["fee_code"], l["kind"], l["collected"], l["collected_other_documents"], l["receipts"],
             l["other_documents_dossiers"]) for l in land["lines"]] == [("BD", "le_phi", 28_000, 28_000, 0, 1),
                                                                        ("BD", "phi", 3_000_000, 3_000_000, 0, 1)]
    assert land["total"]["collected"] == 3_028_000 and land["total"]["collected_e_receipts"] == 0
    ward = return_json(monthly_return(session, "P-HOANKIEM", NOVEMBER.start))
    assert [(l["fee_code"], l["collected"], l["collected_e_receipts"], l["collected_other_documents"])
            for l in ward["lines"]] == [("KH-NN", 1_000_000, 1_000_000, 0), ("TLHT", 8_000, 0, 8_000)]
    assert check(session).ok
    assert rebuild(session).document_lines == 3
    session.commit()
    assert check(session).ok and len(document_rows(session)) == 3


def test_a_reversal_takes_the_money_out(base):
    session = base
    made = build(session)
    portal = session.scalar(select(Allocation).where(Allocation.dossier_id == made["P1"].id))
    reverse(session, portal, "user:ketoan1", "nền tảng hoàn tiền")
    session.commit()
    assert [row[0] for row in document_rows(session)] == ["HK-Q1"]
    assert [(r.key, r.amount) for r in collections(session, NOVEMBER, "agency").rows] == [("P-HOANKIEM", 1_008_000)]
    land = return_json(monthly_return(session, "HN-VPDKDD-CN02", NOVEMBER.start))
    assert land["lines"] == [] and land["total"]["collected"] == 0
    cash = session.scalar(select(Allocation).where(Allocation.dossier_id == made["Q1"].id))
    reverse(session, cash, "user:ketoan1", "thu nhầm hồ sơ")
    session.commit()
    assert document_rows(session) == []
    assert collections(session, NOVEMBER, "agency").total_amount == 1_000_000  # M1's e-receipt only
    assert check(session).ok


def test_queued_dossiers_are_rewritten_before_the_report_reads(base):
    """What migration 0016 does: the table is empty and the paid dossiers are queued."""
    session = base
    build(session)
    session.execute(delete(DocumentLine.__table__))
    session.commit()
    result = check(session)
    assert not result.ok and len(result.documents_differing) == 2
    session.rollback()
    session.execute(text("INSERT INTO report_pending (kind, entity_id) SELECT 'dossier', id FROM dossiers"))
    session.commit()
    assert collections(session, NOVEMBER, "agency").other_amount == 3_036_000
    session.commit()
    assert check(session).ok
    assert session.scalar(select(ReceiptLine.amount)) == 1_000_000


def test_the_platforms_reference_recorded_later_is_the_document(base):
    """The portal's record of a payment (its MaThamChieu) may be written after the money: the
    line then names it, without a rebuild."""
    session = base
    d = dossier(session, "CN2-P2", "HN-VPDKDD-CN02", "T.CAPDOI", "counter", at(23, 9), [(20_000, "le_phi")])
    allocation = transfer(session, d, 20_000, at(23, 10), portal=True)
    session.commit()
    bank_ref = session.scalar(text("SELECT bank_ref FROM bank_transactions"))
    assert [row[-1] for row in document_rows(session)] == [bank_ref]  # the bank's reference until then
    session.add(PortalPayment(ref="MTC-P2", dossier_id=d.id, dossier_code=d.code, amount=20_000, status="paid",
                              transaction_id=allocation.transaction_id))
    session.commit()
    assert [row[-1] for row in document_rows(session)] == ["MTC-P2"]
    assert check(session).ok
