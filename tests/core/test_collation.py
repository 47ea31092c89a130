"""Vietnamese alphabetical order: the alphabet's letters (ă after a, đ after d, ơ after ô…),
then tones in dictionary order, checked against hand-made lists and by property."""
from __future__ import annotations

import unicodedata

from hypothesis import given, strategies as st

from core.collation import ALPHABET, sort_key, sorted_vi

WARDS = ["Ba Đình", "Bắc Từ Liêm", "Cầu Giấy", "Dịch Vọng", "Đống Đa", "Giảng Võ", "Hà Đông", "Hai Bà Trưng",
         "Hoàn Kiếm", "Long Biên", "Nghĩa Đô", "Ngọc Hà", "Ô Chợ Dừa", "Ơ Tây", "Tây Hồ", "Ứng Hòa", "Yên Hòa"]


def test_agency_names_sort_in_vietnamese_order():
    shuffled = sorted(WARDS, key=lambda w: w[::-1])
    assert sorted_vi(shuffled) == WARDS
    assert sorted(WARDS) != WARDS  # code point order puts Đống Đa and Ô/Ơ/Ứ last: the reason for this module


def test_letters_follow_the_alphabet_and_tones_the_dictionary():
    assert sorted_vi(list("đdaăâeê")) == list("aăâdđeê")
    assert sorted_vi(["mạ", "má", "mã", "mả", "mà", "ma"]) == ["ma", "mà", "mả", "mã", "má", "mạ"]
    assert sorted_vi(["Hàng Bạc", "Hoàn Kiếm", "Hà Đông"]) == ["Hà Đông", "Hàng Bạc", "Hoàn Kiếm"]
    assert sorted_vi(["ơ", "ô", "o", "ư", "u"]) == ["o", "ô", "ơ", "u", "ư"]
    assert sorted_vi(["Phường 10", "Phường 2", "Phường A"]) == ["Phường 10", "Phường 2", "Phường A"]


def test_tone_and_case_only_break_ties():
    assert sort_key("Ba") < sort_key("bà") < sort_key("Bà") < sort_key("bắc")
    assert sort_key("hoà") != sort_key("hòa") or unicodedata.normalize("NFC", "hoà") == "hòa"


letters = st.text(alphabet=ALPHABET + ALPHABET.upper() + "àảãáạèẻẽéẹ ", max_size=12)


@given(st.lists(letters, max_size=12))
def test_the_order_is_total_and_stable(names):
    once = sorted_vi(names)
    assert sorted_vi(list(reversed(once))) == once
    assert sorted_vi(once) == once


@given(letters, letters)
def test_a_word_comes_before_its_longer_words(a, b):
    if a and b.strip():
        assert sort_key(a) < sort_key(a + " " + b) or sort_key(a)[0] == sort_key(a + " " + b)[0]
