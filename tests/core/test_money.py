from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from core.money import MoneyError, amount_in_words, format_vnd, to_vnd


@pytest.mark.parametrize(
    "amount, words",
    [
        (0, "Không đồng"),
        (5, "Năm đồng"),
        (10, "Mười đồng"),
        (14, "Mười bốn đồng"),
        (15, "Mười lăm đồng"),
        (21, "Hai mươi mốt đồng"),
        (24, "Hai mươi tư đồng"),
        (25, "Hai mươi lăm đồng"),
        (105, "Một trăm linh năm đồng"),
        (110, "Một trăm mười đồng"),
        (8_000, "Tám nghìn đồng"),
        (25_000, "Hai mươi lăm nghìn đồng"),
        (1_005_000, "Một triệu không trăm linh năm nghìn đồng"),
        (1_500_000, "Một triệu năm trăm nghìn đồng"),
        (1_000_000_000, "Một tỷ đồng"),
        (1_000_000_005, "Một tỷ không trăm linh năm đồng"),
        (2_500_000_000, "Hai tỷ năm trăm triệu đồng"),
        (1_000_000_000_000, "Một nghìn tỷ đồng"),
        (9_999_999_999_999, "Chín nghìn chín trăm chín mươi chín tỷ chín trăm chín mươi chín triệu "
                            "chín trăm chín mươi chín nghìn chín trăm chín mươi chín đồng"),
    ],
)
def test_amount_in_words(amount, words):
    assert amount_in_words(amount) == words


@given(st.integers(min_value=1, max_value=10**15))
def test_words_are_well_formed(amount):
    words = amount_in_words(amount)
    assert words.endswith(" đồng") and words[0].isupper()
    assert "  " not in words and "không đồng" not in words
    assert "mươi một" not in words and "mười năm" not in words and "mươi năm" not in words


def test_words_refuse_non_integers():
    with pytest.raises(MoneyError):
        amount_in_words(1.5)


@pytest.mark.parametrize(
    "amount, text",
    [(0, "0 ₫"), (8000, "8.000 ₫"), (150000, "150.000 ₫"), (1500000, "1.500.000 ₫"), (-25000, "-25.000 ₫")],
)
def test_format_vnd(amount, text):
    assert format_vnd(amount) == text


@pytest.mark.parametrize(
    "text, amount",
    [("150000", 150000), ("150.000", 150000), ("150,000", 150000), ("150000.00", 150000),
     ("1.500.000", 1500000), ("1,500,000.00", 1500000), ("1.500.000,00", 1500000), (" 8.000 ₫", 8000),
     ("-25.000", -25000), (12, 12)],
)
def test_to_vnd_reads_exact_amounts(text, amount):
    assert to_vnd(text) == amount


@pytest.mark.parametrize("text", ["12.5", "150000.50", "1.50.000", "abc", "", "1e5", True, None, 1.5, "١٢٣"])
def test_to_vnd_refuses_what_is_not_whole_dong(text):
    with pytest.raises(MoneyError):
        to_vnd(text)


def test_amounts_in_english_words_for_english_pages():
    from core.money import amount_in_words_en, amount_in_words_for

    assert amount_in_words_en(0) == "Zero dong"
    assert amount_in_words_en(8000) == "Eight thousand dong"
    assert amount_in_words_en(1_005_000) == "One million five thousand dong"
    assert amount_in_words_en(3_200_000_000) == "Three billion two hundred million dong"
    assert amount_in_words_en(999_999) == "Nine hundred ninety-nine thousand nine hundred ninety-nine dong"
    assert amount_in_words_en(-21) == "Minus twenty-one dong"
    assert amount_in_words_for(8000, "en") == "Eight thousand dong"
    assert amount_in_words_for(8000, "vi") == "Tám nghìn đồng"
