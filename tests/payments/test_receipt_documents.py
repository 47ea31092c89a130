"""One receipt per payment, the e-receipt system's signed document, and four-eyes cancellation
and replacement.

Payments go through the real paths (the banks' callback endpoints, the portal's confirmation,
the counter's cash); the XML is verified with the provider's certificate; the PDF's text is
read back with pypdf."""
from __future__ import annotations

import io
import re
from datetime import date

import pytest
from pypdf import PdfReader
from signxml.exceptions import InvalidSignature
from sqlalchemy import func, select

from core.db import db
from core.errors import ServiceError
from core.refusals import Refusal
from core.tokens import create_token
from payments import money_rules as rules
from payments.models import Dossier, Receipt, ReceiptChange, ReceiptLink
from payments.receipt_changes import decide, request_change
from payments.receipt_documents import dossier_documents
from payments.receipt_providers import (TEST_CERT, TEST_KEY, BuiltinProvider, issue_pending, provider_from,
                                        receipt_fields, verify_receipt_xml)
from payments.receipts import receipt_number
from reconciliation.matching.cash import paper_receipts_allowed, record_cash
from tests.reconciliation.conftest import make_dossier, make_request, ok, post, signed, transfer_for
from tests.reconciliation.test_portal import confirm, portal_transfer
from tests.staff import add_staff

PASSWORD = "Mật-khẩu-kế-toán-2026"
STAFF = {"ketoan": "finance", "ketoan2": "finance", "giamsat": "supervisor", "quantri": "admin"}


@pytest.fixture
def staff(seeded):
    add_staff(seeded, STAFF, PASSWORD)
    seeded.commit()
    return seeded


def pay_by_transfer(client, session, amount: int = 8000):
    request = make_request(session, amount=amount)
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer_for(request))))
    session.rollback()
    return session.get(Dossier, request.dossier_id)


def receipts_of(session, dossier_id: int) -> list[Receipt]:
    return list(session.scalars(select(Receipt).where(Receipt.dossier_id == dossier_id).order_by(Receipt.id)))


def pdf_text(data: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


# ---------------------------------------------------------------------------------------------
# The rules


def test_money_receipted_elsewhere_gets_no_e_receipt_by_the_rule():
    charge = type("C", (), {"name": "Lệ phí", "amount": 8000, "kind": "le_phi", "legal_basis": None, "fee_code": None})
    assert rules.receipted_elsewhere("portal") and rules.receipted_elsewhere("cash", paper_receipt=True)
    assert not rules.receipted_elsewhere("cash") and not rules.receipted_elsewhere("gateway", paper_receipt=True)
    assert rules.receipts_to_issue([charge], set(), [True, True]) == []
    assert [k for k, _ in rules.receipts_to_issue([charge], set(), [True, False])] == ["le_phi"]  # part by transfer
    assert [k for k, _ in rules.receipts_to_issue([charge], set())] == ["le_phi"]
    assert paper_receipts_allowed(date(2026, 12, 31)) and not paper_receipts_allowed(date(2027, 1, 1))


# ---------------------------------------------------------------------------------------------
# One receipt per payment


def test_cash_on_a_paper_receipt_gets_no_e_receipt_and_the_paper_is_recorded(seeded):
    dossier = make_dossier(seeded, amount=8000)
    record_cash(seeded, dossier, amount=8000, receipt_number="0001234", clerk_username="motcua", clerk_name="Lan",
                paper_form="01BLP2-001", paper_series="ab-26p")
    seeded.commit()
    assert receipts_of(seeded, dossier.id) == [] and seeded.get(Dossier, dossier.id).amount_paid == 8000
    _, by_payment = dossier_documents(seeded, dossier.id)
    assert list(by_payment.values()) == [[{"document": "paper", "form": "01BLP2-001", "series": "AB-26P",
                                           "number": "0001234", "status": "issued"}]]


def test_cash_on_a_slip_gets_its_e_receipt_linked_to_the_payment(seeded):
    dossier = make_dossier(seeded, amount=8000)
    record_cash(seeded, dossier, amount=8000, receipt_number="PT-9", clerk_username="motcua", clerk_name="Lan")
    seeded.commit()
    [receipt] = receipts_of(seeded, dossier.id)
    links = seeded.scalars(select(ReceiptLink.receipt_id)).all()
    assert links == [receipt.id]
    covers, _ = dossier_documents(seeded, dossier.id)
    assert covers == {receipt.id: [{"transaction_ref": "CASH-PT-9", "amount": 8000, "payment_channel": "cash"}]}


def test_a_paper_form_without_series_is_refused_and_nothing_is_saved(seeded):
    dossier = make_dossier(seeded, amount=8000)
    seeded.commit()
    with pytest.raises(ServiceError) as refused:
        record_cash(seeded, dossier, amount=8000, receipt_number="1", clerk_username="motcua", clerk_name="Lan",
                    paper_form="01BLP2-001")
    assert refused.value.code == Refusal.INVALID_CASH and [e.field for e in refused.value.errors] == ["paper_series"]


def test_a_transfer_on_the_fast_path_is_receipted_and_linked(client, seeded):
    dossier = pay_by_transfer(client, seeded)
    [receipt] = receipts_of(seeded, dossier.id)
    assert receipt.signed_xml is None  # numbered in the callback's transaction, signed later
    covers, by_payment = dossier_documents(seeded, dossier.id)
    assert [p["amount"] for p in covers[receipt.id]] == [8000]
    assert [d["document"] for docs in by_payment.values() for d in docs] == ["e_receipt"]


def test_a_portal_payment_gets_no_e_receipt(client, seeded):
    dossier = make_dossier(seeded, amount=28000, channel="online", procedure="1.013831")
    seeded.commit()
    transfer = portal_transfer(dossier)
    assert confirm(client, dossier, transfer).json["MaLoi"] == "00"
    seeded.rollback()
    assert seeded.get(Dossier, dossier.id).amount_paid == 28000 and receipts_of(seeded, dossier.id) == []
    [[document]] = dossier_documents(seeded, dossier.id)[1].values()
    assert document["document"] == "portal" and document["reference"] == f"dvcTEST{transfer.bank_ref}"


def test_the_bank_first_then_the_portal_withdraws_the_e_receipt(client, seeded):
    """The bank's callback pays the dossier (an e-receipt is issued); the portal's confirmation
    then says it was paid on the platform, which receipts it: the e-receipt is cancelled."""
    dossier = make_dossier(seeded, amount=28000, channel="online", code="000.00.12.H26-261125-0888")
    seeded.commit()
    transfer = portal_transfer(dossier)
    assert ok("sepay", post(client, "sepay", *signed("sepay", transfer)))
    seeded.rollback()
    assert [r.status for r in receipts_of(seeded, dossier.id)] == ["issued"]
    assert confirm(client, dossier, transfer).json["MaLoi"] == "00"
    seeded.rollback()
    [receipt] = receipts_of(seeded, dossier.id)
    assert receipt.status == "cancelled" and "receipted elsewhere" in receipt.cancel_reason


# ---------------------------------------------------------------------------------------------
# The provider's signed document


def test_the_built_in_provider_signs_and_a_changed_byte_fails(client, seeded, app):
    dossier = pay_by_transfer(client, seeded)
    [receipt] = receipts_of(seeded, dossier.id)
    assert issue_pending(seeded, app.config) == 1
    seeded.commit()
    assert issue_pending(seeded, app.config) == 0  # signed once
    seeded.refresh(receipt)
    xml = receipt.signed_xml.encode()
    assert receipt.provider == "builtin" and re.fullmatch(r"TEST[0-9A-F]{28}", receipt.transmission_code)
    data = verify_receipt_xml(xml, TEST_CERT.read_bytes())
    assert data.findtext(".//KHBLai") == receipt.series and data.findtext(".//SBLai") == receipt_number(receipt)
    assert data.findtext(".//TgTTTBSo") == "8000" and data.findtext(".//TgTTTBChu") == "Tám nghìn đồng"
    assert data.findtext(".//NNop/Ten") == "Nguyễn Văn A"
    tampered = xml.replace(b"<TgTTTBSo>8000<", b"<TgTTTBSo>9000<")
    assert tampered != xml
    with pytest.raises(InvalidSignature):
        verify_receipt_xml(tampered, TEST_CERT.read_bytes())
    # Another key's certificate does not verify it either.
    from bank_adapters.keys import TESTKEYS_DIR
    other = BuiltinProvider((TESTKEYS_DIR / "service-test-private.pem").read_bytes(), TEST_CERT.read_bytes())
    with pytest.raises(Exception):
        verify_receipt_xml(other.issue(receipt_fields(seeded, receipt)).xml, TEST_CERT.read_bytes())


def test_without_a_key_outside_development_nothing_is_signed():
    provider = provider_from({"APP_ENV": "production"})
    assert provider.key_pem is None
    with pytest.raises(LookupError):
        provider.issue({})
    assert BuiltinProvider.from_config({"TESTING": True}).key_pem == TEST_KEY.read_bytes()


def test_the_xml_and_pdf_endpoints_sign_on_first_request(client, seeded):
    token = create_token(seeded, "test-finance", "finance")
    seeded.commit()
    dossier = pay_by_transfer(client, seeded)
    [receipt] = receipts_of(seeded, dossier.id)
    headers = {"Authorization": f"Bearer {token}"}
    body = client.get(f"/api/v1/dossiers/{dossier.code}", headers=headers).get_json()
    [listed] = body["receipts"]
    assert listed["xml_url"].endswith(f"/api/v1/receipts/{receipt.lookup_token}.xml")
    assert listed["transmission_code"] is None and listed["payments"][0]["amount"] == 8000
    assert body["payments"][0]["receipted_by"][0] == {"document": "e_receipt", "form": receipt.form,
                                                      "series": receipt.series, "number": receipt_number(receipt),
                                                      "status": "issued"}
    response = client.get(f"/api/v1/receipts/{receipt.lookup_token}.xml", headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/xml"
    verify_receipt_xml(response.data, TEST_CERT.read_bytes())
    seeded.rollback()
    assert seeded.get(Receipt, receipt.id).signed_xml == response.data.decode()  # kept: the same bytes next time
    assert client.get(f"/api/v1/receipts/{receipt.lookup_token}.xml", headers=headers).data == response.data
    assert client.get("/api/v1/receipts/nope.xml", headers=headers).status_code == 404
    pdf = client.get(f"/api/v1/receipts/{receipt.lookup_token}.pdf", headers=headers)
    text = pdf_text(pdf.data)
    assert receipt.series in text and receipt_number(receipt) in text and "BIÊN LAI THU LỆ PHÍ" in text
    assert "Nguyễn Văn A" in text and "Tám nghìn đồng" in text


# ---------------------------------------------------------------------------------------------
# Cancel and replace, four eyes


def test_replacement_end_to_end_with_four_eyes(client, staff):
    session = staff
    dossier = pay_by_transfer(client, session)
    [old] = receipts_of(session, dossier.id)
    change = request_change(session, old.id, action="replace", reason="Sai tên người nộp", actor="user:ketoan",
                            payer_name="Nguyễn Văn Ánh")
    session.commit()
    with pytest.raises(ServiceError) as same:
        decide(session, change, "user:ketoan", approve=True)
    assert same.value.code == Refusal.RECEIPT_FOUR_EYES
    session.rollback()
    for actor in ("user:giamsat", "user:quantri", "token:system"):
        with pytest.raises(ServiceError) as refused:
            decide(session, session.get(ReceiptChange, change.id), actor, approve=True)
        assert refused.value.code == Refusal.RECEIPT_NOT_FINANCE_OFFICER
        session.rollback()
    with pytest.raises(ServiceError) as twice:
        request_change(session, old.id, action="cancel", reason="x", actor="user:ketoan2")
    assert twice.value.code == Refusal.RECEIPT_CHANGE_PENDING
    session.rollback()
    new = decide(session, session.get(ReceiptChange, change.id), "user:ketoan2", approve=True, note="đúng")
    session.commit()
    old = session.get(Receipt, old.id)
    assert (old.status, old.cancelled_by, old.cancel_reason) == ("cancelled", "user:ketoan2", "Sai tên người nộp")
    assert new.replaces_id == old.id and new.number == old.number + 1 and new.series == old.series
    assert (new.payer_name, new.amount, new.status) == ("Nguyễn Văn Ánh", old.amount, "issued")
    assert session.get(ReceiptChange, change.id).replacement_id == new.id
    assert session.scalars(select(ReceiptLink.allocation_id).where(ReceiptLink.receipt_id == new.id)).all() == \
        session.scalars(select(ReceiptLink.allocation_id).where(ReceiptLink.receipt_id == old.id)).all() != []
    with pytest.raises(ServiceError) as decided:
        decide(session, session.get(ReceiptChange, change.id), "user:ketoan", approve=False)
    assert decided.value.code == Refusal.RECEIPT_CHANGE_DECIDED
    session.rollback()
    with pytest.raises(ServiceError) as gone:
        request_change(session, old.id, action="cancel", reason="again", actor="user:ketoan")
    assert gone.value.code == Refusal.RECEIPT_NOT_IN_FORCE
    session.rollback()
    token = create_token(session, "test-system", "system")
    session.commit()
    listed = client.get(f"/api/v1/dossiers/{dossier.code}", headers={"Authorization": f"Bearer {token}"}).get_json()
    first, second = listed["receipts"]
    assert first["status"] == "replaced" and first["replaced_by"]["number"] == receipt_number(new)
    assert second["status"] == "issued" and second["replaces"]["number"] == receipt_number(old)
    assert first["cancel_reason"] == "Sai tên người nộp"


def test_a_cancellation_rejected_changes_nothing_and_bad_requests_are_refused(client, staff):
    session = staff
    dossier = pay_by_transfer(client, session)
    [receipt] = receipts_of(session, dossier.id)
    for kwargs in ({"action": "erase", "reason": "x"}, {"action": "cancel", "reason": " "},
                   {"action": "cancel", "reason": "x", "payer_name": "Ai đó"}):
        with pytest.raises(ServiceError) as invalid:
            request_change(session, receipt.id, actor="user:ketoan", **kwargs)
        assert invalid.value.code == Refusal.INVALID_RECEIPT_CHANGE
        session.rollback()
    with pytest.raises(ServiceError) as admin:
        request_change(session, receipt.id, action="cancel", reason="x", actor="user:quantri")
    assert admin.value.code == Refusal.RECEIPT_NOT_FINANCE_OFFICER
    session.rollback()
    change = request_change(session, receipt.id, action="cancel", reason="Phát hành nhầm", actor="user:ketoan")
    session.commit()
    assert decide(session, change, "user:ketoan2", approve=False, note="không nhầm") is None
    session.commit()
    assert session.get(Receipt, receipt.id).status == "issued" and change.status == "rejected"
    change = request_change(session, receipt.id, action="cancel", reason="Phát hành nhầm", actor="user:ketoan2")
    assert decide(session, change, "user:ketoan", approve=True) is None
    session.commit()
    assert session.get(Receipt, receipt.id).status == "cancelled"
    assert session.scalar(select(func.count()).select_from(Receipt)) == 1  # a cancellation issues nothing


# ---------------------------------------------------------------------------------------------
# Pages


def _signed_in(app, username: str):
    client = app.test_client()
    page = client.get("/login")
    found = re.search(r'name="csrf_token" value="([^"]+)"', page.get_data(as_text=True))
    assert found, (page.status_code, page.get_data(as_text=True)[:2000])
    token = found.group(1)
    response = client.post("/login", data={"csrf_token": token, "username": username, "password": PASSWORD})
    assert response.status_code == 302
    return client


def _csrf(client, url: str) -> str:
    return re.search(r'name="csrf_token" value="([^"]+)"', client.get(url).get_data(as_text=True)).group(1)


@pytest.fixture
def site(app):
    """The app with its data, and no app context held open (each request signs its own user in)."""
    from payments.agencies import seed_agencies
    from payments.catalogue import seed_catalogue

    with app.app_context():
        seed_agencies(db.session, lambda _: None)
        seed_catalogue(db.session, lambda _: None)
        add_staff(db.session, STAFF, PASSWORD)
        db.session.commit()
    return app


def test_finance_pages_ask_and_another_officer_approves(site):
    app = site
    with app.app_context():
        request = make_request(db.session, amount=8000)
        transfer = transfer_for(request)
    assert ok("sepay", post(app.test_client(), "sepay", *signed("sepay", transfer)))
    with app.app_context():
        receipt = db.session.scalars(select(Receipt)).one()
        db.session.expunge(receipt)
    first, second = _signed_in(app, "ketoan"), _signed_in(app, "ketoan2")
    url = f"/finance/receipts/{receipt.id}"
    page = first.get(url).get_data(as_text=True)
    assert receipt.series in page and receipt_number(receipt) in page and 'data-testid="ask-form"' in page
    found = first.get(f"/finance/receipts?q={receipt.series}-{receipt_number(receipt)}").get_data(as_text=True)
    assert f"/finance/receipts/{receipt.id}" in found
    refused = first.post(f"{url}/changes", data={"csrf_token": _csrf(first, url), "action": "replace", "reason": ""})
    assert refused.status_code == 422 and "Chưa có gì thay đổi" in refused.get_data(as_text=True)
    asked = first.post(f"{url}/changes", data={"csrf_token": _csrf(first, url), "action": "replace",
                                               "reason": "Sai tên", "payer_name": ""})
    assert asked.status_code == 302
    mine = first.get(url).get_data(as_text=True)
    assert 'data-testid="four-eyes"' in mine and 'data-testid="decide-form"' not in mine
    with app.app_context():
        change_id = db.session.scalar(select(ReceiptChange.id))
    own = first.post(f"/finance/receipts/changes/{change_id}/decide",
                     data={"csrf_token": _csrf(first, url), "decision": "approve"})
    assert own.status_code == 403 and "bốn mắt" in own.get_data(as_text=True)
    approved = second.post(f"/finance/receipts/changes/{change_id}/decide",
                           data={"csrf_token": _csrf(second, url), "decision": "approve"})
    assert approved.status_code == 302
    new_page = second.get(approved.headers["Location"]).get_data(as_text=True)
    assert "Thay thế biên lai" in new_page and receipt_number(receipt) in new_page
    old_page = second.get(url).get_data(as_text=True)
    assert 'data-testid="replaced-by"' in old_page and "Đã hủy, có biên lai thay thế" in old_page
    english = second.get(f"{url}?lang=en").get_data(as_text=True)
    assert "Replaced by" in english
