"""The unit's registered e-receipt system, behind one contract, and the built-in one.

DOMAIN.md: receipts are issued through the unit's registered e-receipt system and sent to the
tax authority. A provider does two things (:class:`ReceiptProvider`):

- ``reserve``: the form, series and first of ``count`` numbers for receipts issued now. It runs
  inside the payment's own transaction, so a rolled-back payment gives its numbers back. The
  built-in provider's reservation is ``payments.receipts.series_of`` + ``take_numbers``, the one
  statement both writers (``matching.allocation`` and ``matching.bulk``) already call.
- ``issue``: the signed document (XML) of a numbered receipt and the transmission code the
  system gives it. This is slow (signing), so it happens after the payment commits: a scheduled
  job (``receipts.issue`` in ``reconciliation.scheduler``'s list, ``issue_pending``) and, if
  someone asks first, the request for the receipt's PDF or XML (``ensure_issued``). The hot
  callback path never signs.

Providers are registered by name (``register``) like the callback formats of
``bank_adapters.callbacks``; ``RECEIPT_PROVIDER`` names the one in use (``builtin`` by default).

The built-in provider (development, tests, and a unit without another) signs the XML with
XML-DSig (enveloped, RSA-SHA256, ``signxml``) using the unit's key and certificate:
``RECEIPT_SIGNING_KEY`` and ``RECEIPT_SIGNING_CERT`` (paths to PEM files, or the PEM text). In
development and testing the test pair of ``payments/testkeys`` is used when both are unset;
elsewhere a missing key leaves receipts numbered but unsigned (``issue_pending`` says so)
rather than sign with a test key.
"""
from __future__ import annotations

import hashlib
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Mapping, Protocol

from lxml import etree
from sqlalchemy import select, update
from sqlalchemy.orm import Session

from core.clock import to_ict, utcnow
from core.config import DEV_ENVS
from core.money import amount_in_words

from .models import Agency, Receipt

TESTKEYS_DIR = Path(__file__).with_name("testkeys")
TEST_KEY = TESTKEYS_DIR / "receipts-test-private.pem"
TEST_CERT = TESTKEYS_DIR / "receipts-test-cert.pem"
BUILTIN = "builtin"
XML_VERSION = "1.0"
KIND_TITLES = {"phi": "Biên lai thu phí", "le_phi": "Biên lai thu lệ phí"}


@dataclass(frozen=True)
class Reservation:
    form: str
    series: str
    year: int
    first_number: int


@dataclass(frozen=True)
class Issued:
    xml: bytes            # the signed document
    transmission_code: str


class ReceiptProvider(Protocol):
    name: str

    def reserve(self, session: Session, agency: Agency, year: int, count: int = 1) -> Reservation: ...

    def issue(self, fields: Mapping[str, Any]) -> Issued: ...


_REGISTRY: dict[str, Callable[[Mapping[str, Any]], ReceiptProvider]] = {}


def register(name: str, factory: Callable[[Mapping[str, Any]], ReceiptProvider]) -> None:
    """A provider by name, made from the app's configuration when it is needed."""
    _REGISTRY[name] = factory


def provider_from(config: Mapping[str, Any]) -> ReceiptProvider:
    name = config.get("RECEIPT_PROVIDER") or BUILTIN
    if name not in _REGISTRY:
        raise LookupError(f"no e-receipt provider {name!r}: known are {', '.join(sorted(_REGISTRY))}")
    return _REGISTRY[name](config)


def receipt_fields(session: Session, receipt: Receipt) -> dict[str, Any]:
    """What the document of ``receipt`` states (DOMAIN.md, "Receipts"): form, series, number,
    the collecting body's name and tax code, each fee with its amount, the total in figures and
    words, the date, the payer. The same fields the PDF shows (``receipt_text``)."""
    from .models import Dossier
    from .receipts import receipt_number

    agency = session.get(Agency, receipt.agency_id)
    dossier = session.get(Dossier, receipt.dossier_id)
    replaces = session.get(Receipt, receipt.replaces_id) if receipt.replaces_id else None
    return {
        "form": receipt.form, "series": receipt.series, "number": receipt_number(receipt),
        "kind": receipt.kind, "title": KIND_TITLES.get(receipt.kind, "Biên lai thu phí, lệ phí"),
        "issued_at": to_ict(receipt.issued_at).isoformat(timespec="seconds"),
        "agency_name": agency.name, "agency_tax_code": agency.tax_code or "",
        "payer_name": receipt.payer_name, "dossier_code": dossier.code, "procedure_name": dossier.procedure.name,
        "lines": [{"name": str(line.get("name") or ""), "amount": int(line.get("amount") or 0),
                   "legal_basis": line.get("legal_basis") or ""} for line in receipt.lines],
        "amount": receipt.amount, "amount_in_words": amount_in_words(receipt.amount),
        "payment_channel": receipt.payment_channel or "",
        "replaces": ({"form": replaces.form, "series": replaces.series, "number": receipt_number(replaces)}
                     if replaces is not None else None),
    }


def build_xml(fields: Mapping[str, Any]) -> etree._Element:
    """The unsigned receipt: ``<BLai><DLBLai>…</DLBLai></BLai>`` (tags after the tax authority's
    e-invoice names: TTChung = general data, NDBLai = content, NBan = the collecting body)."""
    root = etree.Element("BLai")
    data = etree.SubElement(root, "DLBLai", Id="data")
    general = etree.SubElement(data, "TTChung")
    for tag, value in (("PBan", XML_VERSION), ("THDon", fields["title"]), ("KHMSBLai", fields["form"]),
                       ("KHBLai", fields["series"]), ("SBLai", fields["number"]), ("NLap", fields["issued_at"]),
                       ("LPhi", fields["kind"]), ("MHSo", fields["dossier_code"]),
                       ("TTTuc", fields["procedure_name"]), ("HTTToan", fields["payment_channel"])):
        etree.SubElement(general, tag).text = str(value)
    if fields.get("replaces"):
        old = fields["replaces"]
        replaced = etree.SubElement(general, "TTBLLQuan")  # the receipt this one replaces
        etree.SubElement(replaced, "KHMSBLLQuan").text = old["form"]
        etree.SubElement(replaced, "KHBLLQuan").text = old["series"]
        etree.SubElement(replaced, "SBLLQuan").text = old["number"]
    content = etree.SubElement(data, "NDBLai")
    seller = etree.SubElement(content, "NBan")
    etree.SubElement(seller, "Ten").text = fields["agency_name"]
    etree.SubElement(seller, "MST").text = fields["agency_tax_code"]
    payer = etree.SubElement(content, "NNop")
    etree.SubElement(payer, "Ten").text = fields["payer_name"]
    lines = etree.SubElement(content, "DSKPhi")
    for index, line in enumerate(fields["lines"], 1):
        item = etree.SubElement(lines, "KPhi")
        etree.SubElement(item, "STT").text = str(index)
        etree.SubElement(item, "TKPhi").text = line["name"]
        etree.SubElement(item, "STien").text = str(line["amount"])
        etree.SubElement(item, "CCu").text = line["legal_basis"]
    totals = etree.SubElement(content, "TToan")
    etree.SubElement(totals, "TgTTTBSo").text = str(fields["amount"])
    etree.SubElement(totals, "TgTTTBChu").text = fields["amount_in_words"]
    return root


def _pem(value: Any) -> bytes:
    if isinstance(value, bytes):
        return value
    text = str(value)
    return text.encode() if "-----BEGIN" in text else Path(text).read_bytes()


class BuiltinProvider:
    """Numbers with ``take_numbers``; signs with the unit's key (XML-DSig, RSA-SHA256)."""

    name = BUILTIN

    def __init__(self, key_pem: bytes | None, cert_pem: bytes | None):
        self.key_pem, self.cert_pem = key_pem, cert_pem

    @classmethod
    def from_config(cls, config: Mapping[str, Any]) -> "BuiltinProvider":
        key = config.get("RECEIPT_SIGNING_KEY") or os.environ.get("RECEIPT_SIGNING_KEY")
        cert = config.get("RECEIPT_SIGNING_CERT") or os.environ.get("RECEIPT_SIGNING_CERT")
        if not key and not cert and (config.get("TESTING") or config.get("APP_ENV") in DEV_ENVS):
            key, cert = TEST_KEY, TEST_CERT
        return cls(_pem(key) if key else None, _pem(cert) if cert else None)

    def reserve(self, session: Session, agency: Agency, year: int, count: int = 1) -> Reservation:
        from .receipts import series_of, take_numbers

        form, series = series_of(agency, year)
        return Reservation(form, series, year, take_numbers(session, form, series, year, count))

    def issue(self, fields: Mapping[str, Any]) -> Issued:
        from signxml import XMLSigner, methods

        if self.key_pem is None or self.cert_pem is None:
            raise LookupError("no receipt signing key: set RECEIPT_SIGNING_KEY and RECEIPT_SIGNING_CERT")
        signer = XMLSigner(method=methods.enveloped, signature_algorithm="rsa-sha256", digest_algorithm="sha256")
        signed = signer.sign(build_xml(fields), key=self.key_pem, cert=self.cert_pem.decode())
        xml = etree.tostring(signed, xml_declaration=True, encoding="UTF-8")
        code = "TEST" + hashlib.sha256(xml).hexdigest()[:28].upper()  # the tax authority's code, simulated
        return Issued(xml, code)

    def verify(self, xml: bytes) -> etree._Element:
        """The signed data of ``xml`` (raises ``signxml.exceptions.InvalidSignature`` if a byte changed)."""
        return verify_receipt_xml(xml, self.cert_pem)


def verify_receipt_xml(xml: bytes, cert_pem: bytes) -> etree._Element:
    from signxml import XMLVerifier

    return XMLVerifier().verify(xml, x509_cert=cert_pem.decode()).signed_xml


register(BUILTIN, BuiltinProvider.from_config)


def _sign(session: Session, provider: ReceiptProvider, receipt: Receipt) -> bool:
    issued = provider.issue(receipt_fields(session, receipt))
    # The first signature wins: two first requests at once sign twice, and one is kept.
    result = session.execute(update(Receipt).where(Receipt.id == receipt.id, Receipt.signed_xml.is_(None)).values(
        signed_xml=issued.xml.decode("utf-8"), transmission_code=issued.transmission_code, provider=provider.name,
        signed_at=utcnow()).execution_options(synchronize_session=False))
    session.refresh(receipt)
    return result.rowcount == 1


def ensure_issued(session: Session, receipt: Receipt, config: Mapping[str, Any]) -> Receipt:
    """The receipt with its signed document, signing it now if the job has not yet (the caller
    commits). Raises LookupError when no provider can sign."""
    if receipt.signed_xml is None:
        _sign(session, provider_from(config), receipt)
    return receipt


def issue_pending(session: Session, config: Mapping[str, Any], limit: int = 500) -> int:
    """Sign the receipts numbered but not yet issued as documents, oldest first. Returns how
    many; the caller commits. A provider without a key signs nothing (LookupError)."""
    provider = provider_from(config)
    receipts = session.scalars(select(Receipt).where(Receipt.signed_xml.is_(None)).order_by(Receipt.id)
                               .limit(limit)).all()
    return sum(1 for receipt in receipts if _sign(session, provider, receipt))
