"""Printable VietQR cards: the code decodes back to the exact payload from the PNG and from the
rasterised PDF, pages have their physical size, nothing is cut, overlaps or leaves the page,
long texts still fit (or are refused), and the card is fast enough to print at the counter."""
from __future__ import annotations

import dataclasses
import io
import itertools
import unicodedata
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pypdfium2 as pdfium
import pytest
import qrcode
import zxingcpp
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image, ImageChops, ImageDraw

from qr import card as card_module
from qr.card import LAYOUTS, CardInfo, CardLayout, layout_card, render_card
from qr.vietqr import encode_transfer

HOLDER = "VĂN PHÒNG ĐĂNG KÝ ĐẤT ĐAI HÀ NỘI - CHI NHÁNH ĐỐNG ĐA"
PROCEDURE = "Đăng ký biến động đất đai, tài sản gắn liền với đất"
PAYLOAD = encode_transfer("970415", "113366668888", 1_500_000, "HS7K2M9QXA4 LE PHI")

BASE = CardInfo(
    payload=PAYLOAD,
    bank_bin="970415",
    account="113366668888",
    account_holder=HOLDER,
    amount=1_500_000,
    transfer_content="HS7K2M9QXA4 LE PHI",
    dossier_code="000.00.12.H26-261125-0001",
    procedure_name=PROCEDURE,
    agency_name="Phường Hoàn Kiếm",
    valid_until=datetime(2026, 11, 26, 10, 0, tzinfo=timezone.utc),  # 17:00 in Hanoi
    reference="HS7K2M9QXA4",
)

MAX_AMOUNT = 9_999_999_999_999
LONG_CASES = {
    "long-agency": dict(
        agency_name="Ủy ban nhân dân phường Hoàn Kiếm, thành phố Hà Nội - Bộ phận tiếp nhận và trả kết quả "
                    "giải quyết thủ tục hành chính theo cơ chế một cửa, một cửa liên thông"),
    "long-procedure": dict(
        procedure_name="Đăng ký biến động quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất trong các "
                       "trường hợp chuyển đổi, chuyển nhượng, cho thuê, cho thuê lại, thừa kế, tặng cho, góp vốn "
                       "bằng quyền sử dụng đất, quyền sở hữu tài sản gắn liền với đất; chuyển quyền sử dụng đất, "
                       "quyền sở hữu tài sản gắn liền với đất của vợ hoặc chồng thành của chung vợ và chồng"),
    "long-holder": dict(
        account_holder="BAN QUẢN LÝ DỰ ÁN ĐẦU TƯ XÂY DỰNG CÔNG TRÌNH DÂN DỤNG VÀ CÔNG NGHIỆP THÀNH PHỐ HÀ NỘI "
                       "- TÀI KHOẢN CHUYÊN THU PHÍ, LỆ PHÍ THỦ TỤC HÀNH CHÍNH"),
    "holder-without-spaces": dict(account_holder="VANPHONGDANGKYDATDAIHANOICHINHANHQUANDONGDAPHUONGHOANKIEMX"),
    "max-amount": dict(
        amount=MAX_AMOUNT,
        payload=encode_transfer("970415", "113366668888", MAX_AMOUNT, "HS7K2M9QXA4 LE PHI")),
    "everything-long": dict(
        agency_name="Ủy ban nhân dân phường Hoàn Kiếm, thành phố Hà Nội - Bộ phận tiếp nhận và trả kết quả",
        procedure_name=" ".join([PROCEDURE] * 4),
        account_holder="VANPHONGDANGKYDATDAIHANOICHINHANHQUANDONGDAPHUONGHOANKIEMX",
        amount=MAX_AMOUNT,
        payload=encode_transfer("970415", "113366668888", MAX_AMOUNT, "HS7K2M9QXA4 LE PHI"),
        reference="HS7K2M9QXA4-HS7K2M9QXA4-0001",
        dossier_code="000.00.12.H26-261125-0001-000.00.12.H26-261125-0002"),
    "largest-qr": dict(  # every VietQR field this service fills, at its longest
        account="1234567890123456789",
        amount=MAX_AMOUNT,
        transfer_content="HS7K2M9QXA4 LE PHI 2026AB",
        payload=encode_transfer("970415", "1234567890123456789", MAX_AMOUNT, "HS7K2M9QXA4 LE PHI 2026AB",
                                merchant_name="VP DANG KY DAT DAI HA NOI")),
}

MIN_MODULE_PX = {"a6": 6, "receipt80": 4}  # 0.5 mm at 300 and 203 dpi
PAGE_PT = {"a6": (297.6, 419.5)}


def decode_png(data: bytes) -> list[str]:
    image = Image.open(io.BytesIO(data))
    return [barcode.text for barcode in zxingcpp.read_barcodes(image)]


def decode_pdf(data: bytes) -> tuple[tuple[float, float], list[str], int]:
    document = pdfium.PdfDocument(data)
    page = document[0]
    size = page.get_size()
    image = page.render(scale=2).to_pil()
    return size, [barcode.text for barcode in zxingcpp.read_barcodes(image)], len(document)


def overlaps(a, b) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def inside(box, outer) -> bool:
    return outer[0] <= box[0] < box[2] <= outer[2] and outer[1] <= box[1] < box[3] <= outer[3]


def assert_sound(layout: CardLayout) -> None:
    """Every box on the page inside the margins, no two boxes overlapping, a large enough QR."""
    width, height = layout.size
    content = layout.content_box
    assert 0 < content[0] and 0 < content[1] and content[2] < width and content[3] < height
    boxes = [("qr", layout.qr_box)] + [(block.kind, block.box) for block in layout.blocks]
    for kind, box in boxes:
        assert inside(box, content), f"{kind} box {box} leaves the content box {content}"
    for (kind_a, a), (kind_b, b) in itertools.combinations(boxes, 2):
        assert not overlaps(a, b), f"{kind_a} {a} overlaps {kind_b} {b}"
    side = (layout.qr_modules + 2 * layout.qr_quiet_zone) * layout.qr_module_px
    assert layout.qr_box[2] - layout.qr_box[0] == side == layout.qr_box[3] - layout.qr_box[1]
    assert layout.qr_quiet_zone >= 4
    assert layout.qr_module_px >= MIN_MODULE_PX[layout.layout]
    for block in layout.blocks:
        assert block.lines and all(line.strip() for line in block.lines)


def assert_ink_inside_boxes(layout: CardLayout, png: bytes) -> None:
    """Nothing is drawn outside the recorded boxes (so nothing overflows or is cut at the page
    edge), every block drew something, and the QR's quiet zone is blank."""
    image = Image.open(io.BytesIO(png)).convert("L")
    assert image.size == layout.size
    for block in layout.blocks:
        assert image.crop(block.box).getextrema()[0] == 0, f"{block.kind} drew nothing in {block.box}"
    x0, y0, x1, y1 = layout.qr_box
    quiet = layout.qr_quiet_zone * layout.qr_module_px
    inner = (x0 + quiet, y0 + quiet, x1 - quiet, y1 - quiet)
    ring = image.crop(layout.qr_box)
    ImageDraw.Draw(ring).rectangle((quiet, quiet, x1 - x0 - quiet - 1, y1 - y0 - quiet - 1), fill=255)
    assert ring.getextrema() == (255, 255), "modules drawn in the quiet zone"
    assert image.getpixel((inner[0], inner[1])) == 0  # the top-left finder pattern's corner
    masked = image.copy()
    draw = ImageDraw.Draw(masked)
    for box in [layout.qr_box] + [block.box for block in layout.blocks]:
        draw.rectangle((box[0], box[1], box[2] - 1, box[3] - 1), fill=255)
    assert ImageChops.invert(masked).getbbox() is None, "ink outside every recorded box"


@pytest.mark.parametrize("layout", LAYOUTS)
def test_png_decodes_to_the_exact_payload(layout):
    data = render_card(BASE, layout, "png")
    assert data.startswith(b"\x89PNG\r\n\x1a\n")
    assert decode_png(data) == [PAYLOAD]
    image = Image.open(io.BytesIO(data))
    dpi = {"a6": 300, "receipt80": 203}[layout]
    assert round(image.info["dpi"][0]) == dpi
    if layout == "a6":
        assert image.size == (1240, 1748)
    else:
        assert image.size[0] == 576 and image.size[1] > 576


@pytest.mark.parametrize("layout", LAYOUTS)
def test_pdf_has_the_physical_size_and_decodes(layout):
    data = render_card(BASE, layout, "pdf")
    assert data.startswith(b"%PDF-")
    (width_pt, height_pt), texts, pages = decode_pdf(data)
    assert pages == 1
    assert texts == [PAYLOAD]
    if layout == "a6":  # 105 × 148 mm
        assert width_pt == pytest.approx(297.6, abs=1) and height_pt == pytest.approx(419.5, abs=1)
    else:  # 576 px at 203 dpi = 72 mm, as long as the layout
        pixels_high = layout_card(BASE, layout).size[1]
        assert width_pt == pytest.approx(576 / 203 * 72, abs=1)
        assert height_pt == pytest.approx(pixels_high / 203 * 72, abs=1)


@pytest.mark.parametrize("layout", LAYOUTS)
def test_card_says_everything_in_vietnamese(layout):
    result = layout_card(BASE, layout)
    assert_sound(result)
    assert result.block("title").text == "Thanh toán phí, lệ phí thủ tục hành chính"
    assert result.block("bank").text == "Ngân hàng: VietinBank – Ngân hàng TMCP Công thương Việt Nam"
    assert result.block("account").text == "Số tài khoản: 113366668888"
    assert result.block("holder").text == f"Chủ tài khoản: {HOLDER}"
    assert result.block("amount").text == "1.500.000 ₫"
    assert result.block("amount_words").text == "Bằng chữ: Một triệu năm trăm nghìn đồng"
    assert result.block("content").text == "Nội dung chuyển khoản: HS7K2M9QXA4 LE PHI"
    assert result.block("dossier").text == "Mã hồ sơ: 000.00.12.H26-261125-0001"
    assert result.block("procedure").text == f"Thủ tục: {PROCEDURE}"
    assert result.block("agency").text == "Phường Hoàn Kiếm"
    assert result.block("validity").text == "Hiệu lực đến 17:00 26/11/2026"  # 10:00 UTC in Hanoi
    assert result.block("reference").text == "HS7K2M9QXA4" and result.block("reference").font == "mono"
    assert result.block("instructions").text == (
        "Mở ứng dụng ngân hàng, quét mã QR, kiểm tra số tiền và nội dung rồi xác nhận.")
    assert result.block("amount_note") is None
    # The QR is the largest thing on the card and the amount the largest text.
    qr_side = result.qr_box[2] - result.qr_box[0]
    assert qr_side > 0.5 * (result.content_box[2] - result.content_box[0])
    assert result.block("amount").font_size == max(block.font_size for block in result.blocks)
    assert result.block("reference").font_size > result.block("account").font_size
    assert_ink_inside_boxes(result, render_card(BASE, layout, "png"))


def test_fonts_are_shipped_and_draw_every_vietnamese_character():
    fonts = Path(card_module.__file__).with_name("fonts")
    for name in ("DejaVuSans.ttf", "DejaVuSans-Bold.ttf", "DejaVuSansMono.ttf", "LICENSE-DejaVu.txt"):
        assert (fonts / name).stat().st_size > 1000
    assert "Bitstream" in (fonts / "LICENSE-DejaVu.txt").read_text(encoding="utf-8")
    text = layout_card(BASE).text + "ăâđêôơưĂÂĐÊÔƠƯ" + "ẠẢẤẦẨẪẬẮẰẲẴẶẸẺẼẾỀỂỄỆỈỊỌỎỐỒỔỖỘỚỜỞỠỢỤỦỨỪỬỮỰỲỴỶỸ"
    text += text.lower()
    for name in ("regular", "bold"):  # the fonts Vietnamese text is drawn in
        font = card_module._font(name, 40)
        assert Path(font.path).parent == fonts
        missing = bytes(font.getmask("\U0010fffd"))  # a code point no font has: the .notdef box
        for char in sorted(set(text) - {" ", "\n"}):
            assert bytes(font.getmask(char)) != missing, f"{name} has no glyph for {char!r}"
    assert Path(card_module._font("mono", 40).path) == fonts / "DejaVuSansMono.ttf"
    assert card_module._font("bold", 40) is card_module._font("bold", 40)  # cached per size


def test_a_reference_the_mono_font_cannot_draw_falls_back_to_bold():
    assert not card_module._has_glyph("mono", "Ả") and card_module._has_glyph("mono", "A")
    assert layout_card(dataclasses.replace(BASE, reference="HS-ĐẢO-01")).block("reference").font == "bold"
    assert layout_card(dataclasses.replace(BASE, reference="HS-DAO-01")).block("reference").font == "mono"


def test_decomposed_diacritics_are_composed_before_drawing():
    nfd = unicodedata.normalize("NFD", HOLDER)
    assert nfd != HOLDER
    result = layout_card(dataclasses.replace(BASE, account_holder=nfd + "\n\t"))
    assert result.block("holder").text == f"Chủ tài khoản: {HOLDER}"


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("case", sorted(LONG_CASES))
def test_long_texts_fit_without_overlap_and_still_decode(case, layout):
    info = dataclasses.replace(BASE, **LONG_CASES[case])
    result = layout_card(info, layout)
    assert_sound(result)
    png = render_card(info, layout, "png")
    assert_ink_inside_boxes(result, png)
    assert decode_png(png) == [info.payload]
    if layout == "a6":
        assert result.size == (1240, 1748)
    holder = result.block("holder")
    assert holder.text == f"Chủ tài khoản: {unicodedata.normalize('NFC', info.account_holder)}"
    if " " not in info.account_holder:  # broken across lines, nothing lost
        assert len(holder.lines) >= 2
        assert "".join(holder.lines) == holder.text
    if info.amount == MAX_AMOUNT:
        assert result.block("amount").lines == ("9.999.999.999.999 ₫",)  # shrunk, not broken
        assert result.block("amount_words").text.endswith("chín mươi chín đồng")
        assert result.block("amount_words").text.startswith("Bằng chữ: Chín nghìn chín trăm")


VIETNAMESE = "aăâbcdđeêghiklmnoôơpqrstuưvxyàáảãạằắẳẵặầấẩẫậèéẻẽẹềếểễệìíỉĩịòóỏõọồốổỗộờớởỡợùúủũụừứửữựỳýỷỹỵ"
WORDS = st.text(alphabet=VIETNAMESE + VIETNAMESE.upper() + "0123456789.,-/()", min_size=1, max_size=70)
TEXTS = st.lists(WORDS, min_size=1, max_size=25).map(" ".join)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    layout=st.sampled_from(LAYOUTS),
    holder=TEXTS, agency=st.none() | TEXTS, procedure=st.none() | TEXTS, reference=st.none() | WORDS,
    amount=st.none() | st.integers(min_value=0, max_value=MAX_AMOUNT),
)
def test_any_texts_are_laid_out_soundly_or_refused(layout, holder, agency, procedure, reference, amount):
    payload = encode_transfer("970415", "113366668888", amount or None, "HS7K2M9QXA4 LE PHI")
    info = dataclasses.replace(BASE, payload=payload, amount=amount, account_holder=holder, agency_name=agency,
                               procedure_name=procedure, reference=reference)
    try:
        result = layout_card(info, layout)
    except ValueError as exc:  # only a full A6 page may refuse
        assert layout == "a6" and "does not fit an A6 page" in str(exc)
        return
    assert_sound(result)
    assert result.block("holder").text == f"Chủ tài khoản: {unicodedata.normalize('NFC', holder)}"
    png = render_card(info, layout, "png")
    assert_ink_inside_boxes(result, png)
    assert decode_png(png) == [payload]


def test_long_procedure_shrinks_its_own_text_on_a6_but_not_on_a_receipt():
    info = dataclasses.replace(BASE, **LONG_CASES["long-procedure"])
    a6 = layout_card(info, "a6")
    base = layout_card(BASE, "a6")
    assert a6.block("procedure").font_size < base.block("procedure").font_size
    assert a6.block("procedure").font_size >= card_module._SPECS["a6"].floor
    receipt = layout_card(info, "receipt80")
    assert receipt.block("procedure").font_size == layout_card(BASE, "receipt80").block("procedure").font_size
    assert receipt.size[1] > layout_card(BASE, "receipt80").size[1]  # the receipt grows instead


def test_a6_refuses_a_card_that_cannot_fit_rather_than_cut_it():
    info = dataclasses.replace(BASE, procedure_name=" ".join([PROCEDURE] * 60))
    with pytest.raises(ValueError, match="does not fit an A6 page"):
        layout_card(info, "a6")
    with pytest.raises(ValueError, match="does not fit an A6 page"):
        render_card(info, "a6", "pdf")
    receipt = layout_card(info, "receipt80")  # an endless receipt takes it
    assert_sound(receipt)
    assert decode_png(render_card(info, "receipt80", "png")) == [PAYLOAD]


def test_static_card_says_the_payer_enters_the_amount():
    payload = encode_transfer("970415", "113366668888")
    info = dataclasses.replace(BASE, payload=payload, amount=None, transfer_content=None, valid_until=None)
    for layout in LAYOUTS:
        result = layout_card(info, layout)
        assert_sound(result)
        assert result.block("amount") is None and result.block("amount_words") is None
        assert result.block("content") is None and result.block("validity") is None
        assert "tự nhập số tiền" in result.block("amount_note").text
        assert "nhập đúng số tiền" in result.block("instructions").text
        png = render_card(info, layout, "png")
        assert_ink_inside_boxes(result, png)
        assert decode_png(png) == [payload]
        assert decode_pdf(render_card(info, layout, "pdf"))[1] == [payload]


def test_unknown_bank_falls_back_to_its_bin():
    result = layout_card(dataclasses.replace(BASE, bank_bin="971999"))
    assert result.block("bank").text == "Ngân hàng: BIN 971999"


def test_optional_fields_are_left_out_when_empty():
    info = dataclasses.replace(BASE, dossier_code=None, procedure_name="  ", agency_name=None, reference=None)
    kinds = {block.kind for block in layout_card(info).blocks}
    assert not kinds & {"dossier", "procedure", "agency", "reference", "reference_label"}
    assert {"title", "bank", "account", "holder", "amount", "content", "validity", "instructions"} <= kinds


def test_validity_is_shown_in_indochina_time_and_naive_times_are_refused():
    evening = datetime(2026, 11, 26, 23, 30, tzinfo=timezone(timedelta(hours=7)))
    assert layout_card(dataclasses.replace(BASE, valid_until=evening)).block("validity").text == (
        "Hiệu lực đến 23:30 26/11/2026")
    with pytest.raises(ValueError, match="naive"):
        layout_card(dataclasses.replace(BASE, valid_until=datetime(2026, 11, 26, 17, 0)))


@pytest.mark.parametrize("amount", [-1, 1.5, True])
def test_bad_amounts_are_refused(amount):
    with pytest.raises(ValueError, match="amount"):
        layout_card(dataclasses.replace(BASE, amount=amount))


@pytest.mark.parametrize("call", [
    lambda: render_card(BASE, "a5", "png"),
    lambda: render_card(BASE, "A6", "png"),
    lambda: layout_card(BASE, "receipt58"),
])
def test_unknown_layout_is_refused(call):
    with pytest.raises(ValueError, match=r"unknown card layout .*a6, receipt80"):
        call()


@pytest.mark.parametrize("fmt", ["jpg", "PNG", "svg", ""])
def test_unknown_format_is_refused(fmt):
    with pytest.raises(ValueError, match=r"unknown card format .*png, pdf"):
        render_card(BASE, "a6", fmt)


def test_empty_payload_is_refused():
    with pytest.raises(ValueError, match="payload"):
        render_card(dataclasses.replace(BASE, payload=""))


def test_rendering_is_deterministic():
    assert render_card(BASE, "a6", "png") == render_card(BASE, "a6", "png")
    assert render_card(BASE, "receipt80", "png") != render_card(
        dataclasses.replace(BASE, reference="HS7K2M9QXA5"), "receipt80", "png")
