"""E-receipts: the A5 PDF (the readable rendering of the receipt's XML) says everything a
receipt carries and never cuts its text; numbering per form, series and year has no gaps
across kinds and years; a cancelled receipt stays, marked, and its replacement says what it
replaces; and the citizen downloads a receipt only under a token of its own dossier.

Payments go through the real paths: the banks' callback endpoints (``tests.reconciliation``
helpers) and the counter's cash (``reconciliation.matching.cash.record_cash``). PDF text is
read back with pypdf, pixels with pypdfium2."""
from __future__ import annotations

import dataclasses
import io
import itertools
import re
from datetime import datetime, timezone

import flask_babel
import pypdfium2 as pdfium
import pytest
from alembic import command
from pypdf import PdfReader
from sqlalchemy import func, insert, select, text, update
from sqlalchemy.exc import IntegrityError

from core.cli import alembic_config
from core.clock import to_ict, utcnow
from payments import receipt_pdf, receipts
from payments.dossiers import parse_dossier_input, register_dossier
from payments.models import Dossier, Receipt, ReceiptCounter
from payments.receipt_pdf import (CHANNEL_WORDS, SIGNATURE_LINE, UNSIGNED_LINE, ReceiptLine, ReceiptText,
                                  channel_words, receipt_filename, receipt_text, render_receipt, text_from_xml)
from payments.receipt_providers import build_xml
from payments.requests import create_payment_request
from reconciliation.matching.allocation import active_allocations, reverse
from reconciliation.matching.cash import record_cash
from tests.reconciliation.conftest import make_request, ok, post, signed, transfer_for

A5_PT = (419.53, 595.28)
LONG_AGENCY = ("Ủy ban nhân dân phường Hoàn Kiếm, thành phố Hà Nội – Bộ phận tiếp nhận và trả kết quả giải quyết "
               "thủ tục hành chính theo cơ chế một cửa, một cửa liên thông")
LONG_PAYER = "Công ty trách nhiệm hữu hạn một thành viên Đầu tư Xây dựng và Thương mại Nguyễn Phước Hưng Thịnh Vượng"
LONG_PROCEDURE = ("Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất trong các trường hợp "
                  "chuyển đổi, chuyển nhượng, cho thuê, cho thuê lại, thừa kế, tặng cho, góp vốn bằng quyền sử dụng "
                  "đất, quyền sở hữu tài sản gắn liền với đất")
LONG_FEE = ("Lệ phí cấp Giấy chứng nhận quyền sử dụng đất, quyền sở hữu nhà ở và tài sản khác gắn liền với đất "
            "(cấp đổi, cấp lại, xác nhận bổ sung vào Giấy chứng nhận)")

FIELDS = {
    "form": "01BLP0-001", "series": "C1-26E", "number": "00000042", "kind": "le_phi", "title": "Biên lai thu lệ phí",
    "issued_at": "2026-11-25T14:05:00+07:00",
    "agency_name": "Chi nhánh Văn phòng Đăng ký đất đai Hà Nội khu vực Hoàn Kiếm – Ba Đình",
    "agency_tax_code": "0110000003-001", "payer_name": "Nguyễn Thị Phương Thảo",
    "dossier_code": "000.12.02.H26-261125-0001",
    "procedure_name": "Đăng ký biến động đất đai, tài sản gắn liền với đất",
    "lines": [{"name": "Lệ phí chứng nhận đăng ký biến động", "amount": 28_000, "legal_basis": ""},
              {"name": "Lệ phí trước bạ nhà, đất", "amount": 3_000_000, "legal_basis": ""}],
    "amount": 3_028_000, "amount_in_words": "Ba triệu không trăm hai mươi tám nghìn đồng",
    "payment_channel": "counter_transfer", "replaces": None,
}
DOCUMENT = text_from_xml(build_xml(FIELDS), transmission_code="TEST0123456789ABCDEF0123456789AB")


def pdf_text(data: bytes) -> str:
    """The PDF's text as a reader extracts it, on one line with single spaces."""
    return " ".join(" ".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages).split())


def pages(data: bytes) -> int:
    return len(PdfReader(io.BytesIO(data)).pages)


def pixels(data: bytes) -> dict:
    image = pdfium.PdfDocument(data)[0].render(scale=1).to_pil().convert("RGB")
    return {colour: count for count, colour in image.getcolors(1 << 24)}


# ---------------------------------------------------------------------------------------------
# The document


@pytest.mark.parametrize("kind, title", [("le_phi", "BIÊN LAI THU LỆ PHÍ"), ("phi", "BIÊN LAI THU PHÍ"),
                                         (None, "BIÊN LAI THU PHÍ, LỆ PHÍ")])
def test_each_kind_says_everything_a_receipt_carries(kind, title):
    document = dataclasses.replace(DOCUMENT, kind=kind)
    pdf = render_receipt(document, "pdf")
    assert pdf.startswith(b"%PDF-") and pdf.rstrip().endswith(b"%%EOF") and pages(pdf) == 1
    assert pdfium.PdfDocument(pdf)[0].get_size() == pytest.approx(A5_PT, abs=0.5)
    text = pdf_text(pdf)
    assert title in text
    for expected in ("Mẫu số: 01BLP0-001", "Ký hiệu: C1-26E", "Số: 00000042",
                     "Mã số thuế: 0110000003-001", "Họ tên người nộp: Nguyễn Thị Phương Thảo",
                     "Mã hồ sơ: 000.12.02.H26-261125-0001",
                     "Thủ tục: Đăng ký biến động đất đai, tài sản gắn liền với đất",
                     "Lệ phí chứng nhận đăng ký biến động 28.000", "Lệ phí trước bạ nhà, đất 3.000.000",
                     "Tổng cộng 3.028.000",
                     "Số tiền bằng chữ: Ba triệu không trăm hai mươi tám nghìn đồng",
                     "Ngày 25 tháng 11 năm 2026, lúc 14:05 (giờ Việt Nam, UTC+7)",
                     "ĐẠI DIỆN ĐƠN VỊ THU", "(Bản thể hiện của biên lai điện tử)",
                     "TEST0123456789ABCDEF0123456789AB"):
        assert expected in text, expected
    assert all(word in text for word in LABELS_WORDS)
    assert "ĐÃ HỦY" not in text and "hủy" not in text


LABELS_WORDS = ("Chi", "nhánh", "Đăng", "ký", "đất", "đai", "Hoàn", "Kiếm", "Ba", "Đình")


def test_the_font_is_a_unicode_subset_embedded_in_the_pdf():
    pdf = render_receipt(DOCUMENT)
    assert b"/FontFile2" in pdf and b"/ToUnicode" in pdf
    assert re.search(rb"/BaseFont /[A-Z]{6}\+DejaVu", pdf), "a subset of DejaVu, tagged as one"
    assert len(pdf) < 120_000  # a subset, not the 700 kB font


def test_the_date_is_the_indochina_day():
    late = dataclasses.replace(DOCUMENT, issued_at=datetime(2027, 1, 1, 0, 30, tzinfo=to_ict(utcnow()).tzinfo))
    assert "Ngày 01 tháng 01 năm 2027, lúc 00:30 (giờ Việt Nam, UTC+7)" in pdf_text(render_receipt(late))
    fields = {**FIELDS, "issued_at": "2027-01-01T00:30:00+07:00"}
    assert "Ngày 01 tháng 01 năm 2027" in pdf_text(render_receipt(text_from_xml(build_xml(fields))))


def test_a_cancelled_receipt_is_stamped_across_and_says_when():
    cancelled = dataclasses.replace(DOCUMENT, cancelled_at=datetime(2026, 11, 26, 3, 0, tzinfo=timezone.utc),
                                    replaced_by="ký hiệu C1-26E, số 00000043")
    text = pdf_text(render_receipt(cancelled))
    assert "ĐÃ HỦY" in text and "Biên lai đã bị hủy lúc 10:00 ngày 26/11/2026." in text
    assert "Biên lai thay thế: ký hiệu C1-26E, số 00000043." in text
    reds = sum(n for (r, g, b), n in pixels(render_receipt(cancelled)).items() if r > 150 and g < 150 and b < 150)
    assert reds > 2_000
    assert not any(r > 150 and g < 150 and b < 150 for (r, g, b) in pixels(render_receipt(DOCUMENT)))


def test_a_replacement_says_which_receipt_it_replaces():
    replacement = text_from_xml(build_xml({**FIELDS, "number": "00000043",
                                           "replaces": {"form": "01BLP0-001", "series": "C1-26E",
                                                        "number": "00000042"}}))
    assert "Biên lai này thay thế biên lai ký hiệu C1-26E, số 00000042 đã hủy." in pdf_text(render_receipt(replacement))


def test_an_unsigned_receipt_says_its_signature_is_coming():
    text = pdf_text(render_receipt(dataclasses.replace(DOCUMENT, transmission_code=None)))
    assert " ".join(UNSIGNED_LINE.split()) in text and " ".join(SIGNATURE_LINE.split()) not in text


def test_long_vietnamese_names_wrap_and_nothing_is_cut():
    document = dataclasses.replace(DOCUMENT, agency_name=LONG_AGENCY, payer_name=LONG_PAYER,
                                   procedure_name=LONG_PROCEDURE,
                                   lines=(ReceiptLine(LONG_FEE, 1_500_000), ReceiptLine(LONG_FEE + " lần hai", 0)),
                                   amount=1_500_000, payment_channels=("counter_transfer", "cash"))
    text = pdf_text(render_receipt(document))
    for name in (LONG_AGENCY, LONG_PAYER, LONG_PROCEDURE, LONG_FEE):
        assert all(word in text for word in name.split()), name
    assert "Tiền mặt" in text and "Chuyển khoản ngân hàng" in text


def test_a_word_wider_than_its_column_is_broken_not_cut():
    word = "NGUYỄNTHỊPHƯƠNGTHẢOCÔNGTYTNHHMỘTTHÀNHVIÊNĐẦUTƯXÂYDỰNGVÀTHƯƠNGMẠIHÀNỘIVIỆTNAM"
    text = pdf_text(render_receipt(dataclasses.replace(DOCUMENT, payer_name=word)))
    assert word not in text and word in text.replace(" ", "")  # broken across lines, every letter kept


def test_the_largest_amounts_are_written_whole():
    biggest = 9_999_999_999_999
    document = dataclasses.replace(DOCUMENT, lines=(ReceiptLine("Lệ phí trước bạ", biggest - 1),
                                                    ReceiptLine("Phí", 1)), amount=biggest)
    assert "Tổng cộng 9.999.999.999.999" in pdf_text(render_receipt(document))


def test_many_lines_continue_on_the_next_page():
    many = tuple(ReceiptLine(f"{LONG_FEE} số {i}", 8_000) for i in range(1, 31))
    pdf = render_receipt(dataclasses.replace(DOCUMENT, lines=many, amount=240_000))
    assert pages(pdf) >= 2
    text = pdf_text(pdf)
    assert "30 " + LONG_FEE.split()[0] in text and "Tổng cộng 240.000" in text and "ĐẠI DIỆN ĐƠN VỊ THU" in text


def test_unknown_format_is_refused():
    with pytest.raises(ValueError, match="unknown receipt format"):
        render_receipt(DOCUMENT, "png")


def test_rendering_is_deterministic_and_carries_no_fake_signature():
    first, second = render_receipt(DOCUMENT), render_receipt(DOCUMENT)
    assert first == second
    # The signature is the XML's: the PDF has no signature field dressed up as one.
    assert b"/Sig" not in first and b"/ByteRange" not in first and b"/AcroForm" not in first


def test_channel_words_and_file_names():
    assert channel_words([]) == "Chưa xác định"
    assert channel_words(["cash", "cash", "portal"]) == f"{CHANNEL_WORDS['cash']}; {CHANNEL_WORDS['portal']}"
    assert receipt_filename("C1-26E", "00000042") == "bien-lai-C1-26E-00000042.pdf"
    assert receipt_filename("PV/26 Ê", "00000042", "xml") == "bien-lai-PV-26-00000042.xml"


# ---------------------------------------------------------------------------------------------
# Receipts in the database: numbering, cancelling, replacing

BOTH_KINDS = {"procedure_code": "1.013831", "agency_code": "HN-VPDKDD-CN02", "applicant_name": "Trần Thị Bích Ngọc",
              "channel": "counter", "submitted_at": "2026-11-25T09:00:00+07:00",
              "charges": [{"name": "Phí thẩm định hồ sơ cấp Giấy chứng nhận", "amount": 500_000, "kind": "phi"},
                          {"name": "Lệ phí chứng nhận đăng ký biến động", "amount": 28_000, "kind": "le_phi"}]}
_codes = itertools.count(1)


def both_kinds_dossier(session) -> Dossier:
    dossier = register_dossier(session, parse_dossier_input(
        {**BOTH_KINDS, "code": f"000.12.02.H26-261125-{next(_codes):04d}"}), actor="test")
    session.flush()
    return dossier


def pay_cash(session, dossier, number="PT-0001") -> None:
    record_cash(session, dossier, amount=dossier.amount_due - dossier.amount_paid, receipt_number=number,
                clerk_username="motcua", clerk_name="Nguyễn Thị Lan")
    session.commit()


def this_years(letters: str) -> str:
    """The series an agency with pattern ``<letters>-YYE`` issues in this Indochina year."""
    return receipts.series_in(f"{letters}-YYE", to_ict(utcnow()).year)


def numbers(session):
    query = select(Receipt.series, Receipt.year, Receipt.number, Receipt.kind).order_by(Receipt.id)
    return [tuple(row) for row in session.execute(query)]


def freeze(monkeypatch, instant: datetime) -> None:
    """The instant a payment is written at (the writer dates its receipts with it)."""
    from reconciliation.matching import allocation

    monkeypatch.setattr(allocation, "utcnow", lambda: instant)


def test_numbering_has_no_gaps_across_kinds_and_years(seeded, monkeypatch):
    freeze(monkeypatch, datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc))
    first, second = both_kinds_dossier(seeded), both_kinds_dossier(seeded)
    pay_cash(seeded, first)
    pay_cash(seeded, second, "PT-0002")
    assert numbers(seeded) == [("C2-26E", 2026, 1, "le_phi"), ("C2-26E", 2026, 2, "phi"),
                               ("C2-26E", 2026, 3, "le_phi"), ("C2-26E", 2026, 4, "phi")]
    # A number taken in a transaction that rolls back is given back.
    third = both_kinds_dossier(seeded)
    seeded.commit()
    record_cash(seeded, third, amount=third.amount_due, receipt_number="PT-9999", clerk_username="motcua",
                clerk_name="Nguyễn Thị Lan")
    assert seeded.scalar(select(func.count()).select_from(Receipt)) == 6
    seeded.rollback()
    assert seeded.scalar(select(func.count()).select_from(Receipt)) == 4
    # A new Indochina year opens a new series whose numbers start again at 1 (17:00 UTC on 31 December
    # is already 1 January in Hanoi).
    new_year = datetime(2026, 12, 31, 17, 0, tzinfo=timezone.utc)
    freeze(monkeypatch, new_year)
    third = seeded.get(Dossier, third.id)
    pay_cash(seeded, third, "PT-0003")
    fourth = both_kinds_dossier(seeded)
    pay_cash(seeded, fourth, "PT-0004")
    rows = numbers(seeded)
    assert rows[4:] == [("C2-27E", 2027, 1, "le_phi"), ("C2-27E", 2027, 2, "phi"),
                        ("C2-27E", 2027, 3, "le_phi"), ("C2-27E", 2027, 4, "phi")]
    for (series, year), group in itertools.groupby(rows, key=lambda r: (r[0], r[1])):
        assert [r[2] for r in group] == list(range(1, 5)), (series, year)
    counters = {(c.series, c.year, c.last_number) for c in seeded.scalars(select(ReceiptCounter))}
    assert counters == {("C2-26E", 2026, 4), ("C2-27E", 2027, 4)}
    # The 2027 receipt is dated in Hanoi's 2027, in the series of 2027.
    receipt = seeded.scalars(select(Receipt).where(Receipt.year == 2027)).first()
    text = pdf_text(render_receipt(receipt_text(seeded, receipt)))
    assert "Ngày 01 tháng 01 năm 2027, lúc 00:00" in text and "Ký hiệu: C2-27E" in text


@pytest.mark.parametrize("value, pattern", [
    ("DD-26E", "DD-YYE"), ("dd-26e", "DD-YYE"), ("DD-YYE", "DD-YYE"), ("C1-25E", "C1-YYE"), ("2C-YYT", "2C-YYT"),
    (None, "HNVPDKDDCN02-YYE"), ("  ", "HNVPDKDDCN02-YYE"),
])
def test_a_series_is_kept_as_a_pattern_of_the_year(value, pattern):
    assert receipts.series_pattern(value, "HN-VPDKDD-CN02") == pattern
    assert receipts.series_in(pattern, 2027) == pattern.replace("YY", "27")
    assert receipts.series_in(pattern, 2100) == pattern.replace("YY", "00")


@pytest.mark.parametrize("value", ["DD", "DD-YY-YY", "DDE", "X" * 19 + "YY"])
def test_a_series_that_cannot_carry_the_year_is_refused(value):
    with pytest.raises(ValueError):
        receipts.series_pattern(value, "HN-VPDKDD")


def test_an_agency_with_a_bad_series_setting_still_gets_a_dated_series(seeded):
    agency = both_kinds_dossier(seeded).agency
    agency.receipt_series = "NOYEAR"
    assert receipts.series_of(agency, 2027) == ("01BLP0-001", "HNVPDKDDCN02-27E")


def test_receipts_paid_by_callback_either_side_of_new_year(app, client, seeded, monkeypatch):
    """The callbacks' set-based path dates the series the same way: 23:59:59 on 31 December and
    00:00:00 on 1 January (Indochina) are in different series, and the new year starts at 1."""
    from reconciliation.matching import bulk

    requests = [make_request(seeded, amount=8000) for _ in range(3)]
    for request, moment in zip(requests, [datetime(2026, 12, 31, 16, 59, 59, tzinfo=timezone.utc),
                                          datetime(2026, 12, 31, 17, 0, 0, tzinfo=timezone.utc),
                                          datetime(2027, 1, 1, 2, 0, 0, tzinfo=timezone.utc)]):
        monkeypatch.setattr(bulk, "utcnow", lambda moment=moment: moment)
        pay_by_callback(client, request)
    seeded.rollback()
    rows = [(r.series, r.year, r.number, to_ict(r.issued_at).year)
            for r in seeded.scalars(select(Receipt).order_by(Receipt.id))]
    assert rows == [("HK-26E", 2026, 1, 2026), ("HK-27E", 2027, 1, 2027), ("HK-27E", 2027, 2, 2027)]


def test_the_database_refuses_a_repeated_form_series_and_number(seeded):
    dossier = both_kinds_dossier(seeded)
    pay_cash(seeded, dossier)
    first = seeded.scalars(select(Receipt).order_by(Receipt.id)).first()
    t = Receipt.__table__
    row = dict(seeded.execute(select(t).where(t.c.id == first.id)).mappings().one())
    del row["id"]
    # Even under another year (as a fixed series would have given on 1 January), and another kind.
    row.update(year=first.year + 1, kind="phi", lookup_token="another-token")
    with pytest.raises(IntegrityError):
        seeded.execute(insert(t).values(**row))
        seeded.flush()
    seeded.rollback()
    row.update(series=receipts.series_in("C2-YYE", first.year + 1))
    seeded.execute(insert(t).values(**row))  # the same number in the next year's series is another receipt
    seeded.commit()


def test_the_migration_dates_fixed_series(app, seeded, monkeypatch):
    """A database of before the change: an agency with a fixed series and receipts of two years
    under it. The upgrade keeps the agency's series as a pattern and moves each receipt to the
    series of its year, numbers untouched."""
    freeze(monkeypatch, datetime(2026, 11, 25, 3, 0, tzinfo=timezone.utc))
    pay_cash(seeded, both_kinds_dossier(seeded))
    seeded.close()
    url = app.config["DATABASE_URL"]
    command.downgrade(alembic_config(url), "0005")
    later = {"provider", "transmission_code", "signed_xml", "signed_at"}  # migration 0010's columns
    t = Receipt.__table__
    row = dict(seeded.execute(select(*[c for c in t.c if c.name not in later]).order_by(t.c.id)).mappings().first())
    seeded.execute(update(t).values(series="C2-26E"))
    seeded.execute(insert(t).values(**{**{k: v for k, v in row.items() if k != "id"}, "year": 2027, "number": 1, "lookup_token": "later"}))
    seeded.execute(text("UPDATE agencies SET receipt_series = 'C2-26E' WHERE code = 'HN-VPDKDD-CN02'"))
    seeded.execute(text("UPDATE receipt_counters SET series = 'C2-26E'"))
    seeded.execute(text("INSERT INTO receipt_counters (form, series, year, last_number) "
                        "VALUES ('01BLP0-001', 'C2-26E', 2027, 1)"))
    seeded.commit()
    seeded.close()
    command.upgrade(alembic_config(url), "head")
    assert seeded.scalar(text("SELECT receipt_series FROM agencies WHERE code = 'HN-VPDKDD-CN02'")) == "C2-YYE"
    assert numbers(seeded) == [("C2-26E", 2026, 1, "le_phi"), ("C2-26E", 2026, 2, "phi"),
                               ("C2-27E", 2027, 1, "le_phi")]
    counters = {(c.series, c.year, c.last_number) for c in seeded.scalars(select(ReceiptCounter))}
    assert counters == {("C2-26E", 2026, 2), ("C2-27E", 2027, 1)}


def test_a_cancelled_receipt_stays_and_its_replacement_says_so(seeded):
    series = this_years("C2")
    dossier = both_kinds_dossier(seeded)
    pay_cash(seeded, dossier)
    allocation = active_allocations(seeded, dossier_id=dossier.id)[0]
    reverse(seeded, allocation, "user:ketoan", "nhập nhầm hồ sơ")
    seeded.commit()
    rows = seeded.scalars(select(Receipt).order_by(Receipt.id)).all()
    assert [(r.number, r.status, r.cancelled_by) for r in rows] == [(1, "cancelled", "system"),
                                                                    (2, "cancelled", "system")]
    assert all(r.cancelled_at is not None and r.cancel_reason for r in rows)
    old = rows[0]
    text = pdf_text(render_receipt(receipt_text(seeded, old)))
    assert "ĐÃ HỦY" in text and "Biên lai đã bị hủy lúc" in text and "Số: 00000001" in text
    # Paid again: new receipts with new numbers replace the cancelled ones, which stay.
    pay_cash(seeded, seeded.get(Dossier, dossier.id), "PT-0009")
    rows = seeded.scalars(select(Receipt).order_by(Receipt.id)).all()
    assert [(r.number, r.kind, r.status) for r in rows] == [(1, "le_phi", "cancelled"), (2, "phi", "cancelled"),
                                                           (3, "le_phi", "issued"), (4, "phi", "issued")]
    assert rows[2].replaces_id == rows[0].id and rows[3].replaces_id == rows[1].id
    document = receipt_text(seeded, rows[2])
    assert document.replaces == f"ký hiệu {series}, số 00000001" and document.payment_channels == ("cash",)
    text = pdf_text(render_receipt(document))
    assert f"Biên lai này thay thế biên lai ký hiệu {series}, số 00000001 đã hủy." in text
    assert "Hình thức thanh toán: Tiền mặt" in text and "ĐÃ HỦY" not in text


def test_receipt_text_from_the_database(seeded):
    dossier = both_kinds_dossier(seeded)
    pay_cash(seeded, dossier)
    phi = seeded.scalars(select(Receipt).where(Receipt.kind == "phi")).one()
    document = receipt_text(seeded, phi)
    assert (document.title, document.agency_tax_code, document.payer_name, document.amount) == \
        ("BIÊN LAI THU PHÍ", "0110000003-002", "Trần Thị Bích Ngọc", 500_000)
    assert document.procedure_name == dossier.procedure.name and document.dossier_code == dossier.code
    text = pdf_text(render_receipt(document))
    assert "Phí thẩm định hồ sơ cấp Giấy chứng nhận 500.000" in text and "Lệ phí chứng nhận" not in text
    assert "Năm trăm nghìn đồng" in text and f"Ký hiệu: {this_years('C2')}" in text and "Mã số thuế: 0110000003-002" in text


# ---------------------------------------------------------------------------------------------
# The citizen's page and download


def pay_by_callback(client, request, via="sepay"):
    posted = post(client, via, *signed(via, transfer_for(request)))
    assert ok(via, posted), posted.body


def test_citizen_sees_and_downloads_the_receipt_of_a_paid_dossier(app, client, seeded):
    request = make_request(seeded, amount=8000)
    token = request.token
    before = client.get(f"/pay/{token}/status.json").get_json()
    assert before["receipts"] == [] and before["receipts_signature"] == ""
    assert 'data-testid="receipts"' not in client.get(f"/pay/{token}").get_data(as_text=True)
    pay_by_callback(client, request)
    seeded.rollback()
    receipt = seeded.scalars(select(Receipt)).one()
    page = client.get(f"/pay/{token}").get_data(as_text=True)
    assert "Đã thanh toán. Xin cảm ơn!" in page and 'data-testid="receipts"' in page
    assert "Biên lai thu lệ phí" in page and "00000001" in page and "8.000 ₫" in page
    url = f"/pay/{token}/receipts/{receipt.lookup_token}.pdf"
    assert url in page and "Nguyễn Văn A" not in page  # the page still masks the applicant
    status = client.get(f"/pay/{token}/status.json").get_json()
    assert status["dossier_paid"] is True and status["receipts_signature"] == f"{receipt.series}-00000001:issued"
    assert status["receipts"] == [{"number": "00000001", "form": receipt.form, "series": receipt.series,
                                   "kind": "le_phi", "amount": 8000, "status": "issued",
                                   "issued_at": status["receipts"][0]["issued_at"], "pdf_url": url}]
    response = client.get(url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"] == \
        f'attachment; filename="bien-lai-{receipt.series}-00000001.pdf"'
    assert response.headers["Cache-Control"] == "no-store"
    text = pdf_text(response.data)
    assert "BIÊN LAI THU LỆ PHÍ" in text and "Số: 00000001" in text and "Nguyễn Văn A" in text
    assert "Hình thức thanh toán: " + CHANNEL_WORDS["counter_transfer"] in text
    # In English, the page's words change; the receipt (a legal document) stays Vietnamese.
    client.get("/lang/en")
    flask_babel.refresh()  # the test's app context (the session fixture's) caches the locale between requests
    english = client.get(f"/pay/{token}").get_data(as_text=True)
    assert "E-receipts" in english and "Charge receipt" in english and "Download the receipt (PDF)" in english
    assert "Biên lai điện tử" not in english
    assert "BIÊN LAI THU LỆ PHÍ" in pdf_text(client.get(url).data)


def test_a_receipt_downloads_only_under_a_token_of_its_own_dossier(app, client, seeded):
    mine, other = make_request(seeded, amount=8000), make_request(seeded, amount=9000)
    pay_by_callback(client, mine)
    seeded.rollback()
    receipt = seeded.scalars(select(Receipt)).one()
    assert client.get(f"/pay/{mine.token}/receipts/{receipt.lookup_token}.pdf").status_code == 200
    refused = client.get(f"/pay/{other.token}/receipts/{receipt.lookup_token}.pdf")
    assert refused.status_code == 404 and "Không tìm thấy biên lai" in refused.get_data(as_text=True)
    for url in (f"/pay/{mine.token}/receipts/no-such-receipt.pdf", f"/pay/{mine.token}/receipts/%00.pdf",
                f"/pay/no-such-token/receipts/{receipt.lookup_token}.pdf",
                f"/pay/{mine.token}/receipts/{receipt.lookup_token}.png",
                f"/pay/{mine.token}/receipts/{'x' * 200}.pdf"):
        assert client.get(url).status_code == 404, url
    # Another request of the same dossier reaches it too.
    dossier = seeded.get(Dossier, mine.dossier_id)
    dossier.amount_due += 1000  # owes more: a second request for the rest
    seeded.flush()
    second = create_payment_request(seeded, dossier, "test")
    seeded.commit()
    assert client.get(f"/pay/{second.token}/receipts/{receipt.lookup_token}.pdf").status_code == 200


def test_cancelled_receipts_are_marked_on_the_citizen_page(app, client, seeded):
    request = make_request(seeded, amount=8000)
    pay_by_callback(client, request)
    seeded.rollback()
    allocation = active_allocations(seeded, dossier_id=request.dossier_id)[0]
    reverse(seeded, allocation, "user:ketoan", "chuyển nhầm")
    seeded.commit()
    page = client.get(f"/pay/{request.token}").get_data(as_text=True)
    assert 'data-receipt-status="cancelled"' in page and 'data-testid="receipt-cancelled"' in page
    assert "Biên lai này đã bị hủy và không còn giá trị." in page
    receipt = seeded.scalars(select(Receipt)).one()
    pdf = client.get(f"/pay/{request.token}/receipts/{receipt.lookup_token}.pdf")
    assert "ĐÃ HỦY" in pdf_text(pdf.data)


def test_a_dossier_paid_another_way_shows_its_receipt_on_a_partly_paid_request(app, client, seeded):
    """Half by transfer, the rest in cash at the counter: the request stays partly paid, and
    its page (still polling) finds the receipt in status.json and shows it."""
    request = make_request(seeded, amount=10_000)
    posted = post(client, "sepay", *signed("sepay", transfer_for(request, amount=4000)))
    assert ok("sepay", posted)
    seeded.rollback()
    live = client.get(f"/pay/{request.token}").get_data(as_text=True)
    assert 'data-live="1"' in live and 'data-receipts=""' in live
    dossier = seeded.get(Dossier, request.dossier_id)
    # The citizen's page offered the rest: a request for exactly the balance...
    balance = next(r for r in dossier.payment_requests if r.id != request.id and r.status == "open")
    assert balance.amount == 6000
    # ...and the citizen pays it in cash instead (two requests await 6000 đ: the cash pays the dossier).
    record_cash(seeded, seeded.get(Dossier, request.dossier_id), amount=6000, receipt_number="PT-77",
                clerk_username="motcua", clerk_name="Lan")
    seeded.commit()
    status = client.get(f"/pay/{request.token}/status.json").get_json()
    assert status["status"] == "partially_paid" and status["dossier_paid"] is True
    assert [r["number"] for r in status["receipts"]] == ["00000001"]
    page = client.get(f"/pay/{request.token}").get_data(as_text=True)
    assert "Hồ sơ đã nộp đủ phí, lệ phí" in page and 'data-testid="receipts"' in page
    assert 'data-live="0"' in page and re.search(r'data-receipts="[^"]+-00000001:issued"', page)
    receipt = seeded.scalars(select(Receipt)).one()
    text = pdf_text(client.get(f"/pay/{request.token}/receipts/{receipt.lookup_token}.pdf").data)
    assert "Hình thức thanh toán: " + CHANNEL_WORDS["counter_transfer"] + "; " + CHANNEL_WORDS["cash"] in text


def test_a_paid_request_of_a_dossier_not_yet_paid_says_the_receipt_comes_later(app, client, seeded):
    request = make_request(seeded, amount=10_000, request_amount=4000)
    pay_by_callback(client, request)
    page = client.get(f"/pay/{request.token}").get_data(as_text=True)
    assert "Đã thanh toán. Xin cảm ơn!" in page and 'data-testid="receipt-pending"' in page
    assert 'data-testid="receipts"' not in page


def test_the_dossier_api_lists_its_receipts(app, client, seeded):
    from core.tokens import create_token

    headers = {"Authorization": f"Bearer {create_token(seeded, 'test-system', 'system')}"}
    dossier = both_kinds_dossier(seeded)
    seeded.commit()
    code = dossier.code
    assert client.get(f"/api/v1/dossiers/{code}", headers=headers).get_json()["receipts"] == []
    pay_cash(seeded, dossier)
    allocation = active_allocations(seeded, dossier_id=dossier.id)[0]
    reverse(seeded, allocation, "user:ketoan", "nhập nhầm hồ sơ")
    seeded.commit()
    pay_cash(seeded, seeded.get(Dossier, dossier.id), "PT-0009")
    listed = client.get(f"/api/v1/dossiers/{code}", headers=headers).get_json()["receipts"]
    series = this_years("C2")
    assert [(r["form"], r["series"], r["number"], r["kind"], r["amount"], r["status"]) for r in listed] == [
        ("01BLP0-001", series, "00000001", "le_phi", 28_000, "replaced"),
        ("01BLP0-001", series, "00000002", "phi", 500_000, "replaced"),
        ("01BLP0-001", series, "00000003", "le_phi", 28_000, "issued"),
        ("01BLP0-001", series, "00000004", "phi", 500_000, "issued")]
    assert all(re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\+07:00", r["issued_at"]) for r in listed)
    url = listed[2]["pdf_url"]
    assert url.startswith("http://localhost/api/v1/receipts/") and url.endswith(".pdf")
    path = url.removeprefix("http://localhost")
    assert client.get(path).status_code == 401  # the API's own token is needed
    response = client.get(path, headers=headers)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert f"Ký hiệu: {series}" in pdf_text(response.data) and "Số: 00000003" in pdf_text(response.data)
    missing = client.get("/api/v1/receipts/nothing-here.pdf", headers=headers)
    assert missing.status_code == 404 and missing.mimetype == "application/problem+json"


def test_the_table_headers_never_wrap():
    """The numbering column's header stays "STT" on one line (it wrapped to "ST/T"), with one
    line or a dozen, and so does the amount's header."""
    for count in (1, 9, 12):
        lines = tuple(ReceiptLine(f"Lệ phí số {i}", 1000) for i in range(count))
        data = render_receipt(dataclasses.replace(DOCUMENT, lines=lines))
        raw = "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)
        assert re.search(r"(^|\s)STT(\s|$)", raw), (count, raw[:300])
        assert "ST\nT" not in raw and "Số tiền (đồng)" in raw, count
