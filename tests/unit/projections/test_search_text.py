"""Search text analysis: what a query finds, term by term, the way the catalogs match it (each
query term is found somewhere in the record's indexed text)."""

from __future__ import annotations

import pytest

from projections.search_text import MAX_TERMS, fold, index_text, query_terms


def _full_width(text: str) -> str:
    """ASCII letters as their full-width forms (written out, the linter takes them for A)."""
    return "".join(chr(ord(c) - 0x21 + 0xFF01) for c in text)


FULL_WIDTH_ABC = _full_width("ABC")


def finds(query: str, *record_text: str) -> bool:
    """True when every term of the query is in the record's indexed text."""
    text = index_text(record_text)
    terms = query_terms(query)
    return bool(terms) and all(term in text for term in terms)


@pytest.mark.parametrize(("query", "text"), [
    ("house of mirth", "The House of Mirth : a novel"),  # English, case
    ("Wharton, Edith", "Wharton, Edith, 1862-1937"),  # punctuation at the ends of words
    ("红楼梦", "紅樓夢 /"),  # simplified finds traditional
    ("紅樓夢", "红楼梦"),  # and the other way round
    ("阿Q正传", "阿Q正傳 /"),  # mixed scripts, traditional in the record
    ("阿Q正传", "阿 Q 正傳"),  # the record spaced between characters
    ("樓夢", "紅樓夢"),  # a word inside a run without spaces
    ("日本の茶書", "日本の 茶書 /"),  # Japanese, the 880 written word by word
    ("茶書", "日本の茶書"),
    ("thu vien", "Lịch sử thư viện Việt Nam"),  # Vietnamese without diacritics
    ("thư viện việt", "Lịch sử thư viện Việt Nam"),  # and with them
    ("dai hoc", "Nhà xuất bản Đại học Quốc gia"),  # đ → d
    (FULL_WIDTH_ABC, "abc of reading"),
    ("ｶﾞﾗｽ", "ガラスの仮面"),  # half-width kana
])
def test_query_finds_the_record(query: str, text: str) -> None:
    assert finds(query, text)


@pytest.mark.parametrize(("query", "text"), [
    ("红楼梦", "红楼"),  # every bigram is needed
    ("日本の茶書", "日本の庭"),
    ("ガラス", "カラス"),  # a voiced kana is another letter, not a diacritic
    ("thu vien", "thu"),
    ("house mirth", "The House of Fun"),
])
def test_query_does_not_find_other_records(query: str, text: str) -> None:
    assert not finds(query, text)


def test_query_words_need_not_be_adjacent() -> None:
    assert finds("house mirth", "The House of Mirth")


def test_fields_stay_apart_in_the_indexed_text() -> None:
    text = index_text(["茶", "書", None, ""])
    assert "茶书" not in text
    assert not finds("茶書", "茶", "書")


def test_query_terms_are_words_and_cjk_bigrams() -> None:
    assert query_terms("阿Q正传") == ["阿", "q", "正传"]
    assert query_terms("日本の茶書") == ["日本", "本の", "の茶", "茶书"]
    assert query_terms("  Thư viện, Hà Nội!  ") == ["thu", "vien", "ha", "noi"]
    assert query_terms("紅") == ["红"]
    assert query_terms("") == []
    assert query_terms(None) == []
    assert query_terms("-- / :") == []


def test_fold_is_stable_for_search_and_matching() -> None:
    assert fold("Thư Viện Quốc Gia Đà Nẵng") == "thu vien quoc gia da nang"
    assert fold("紅樓夢") == fold("红楼梦") == "红楼梦"
    assert fold("ガラス") != fold("カラス")
    assert fold("한국") == "한국"  # Hangul comes back composed
    wide = _full_width("Hello") + " 紅"
    assert fold(fold(wide)) == fold(wide) == "hello 红"


def test_a_long_query_asks_for_a_bounded_number_of_terms() -> None:
    long_query = "".join(chr(0x4E00 + i) for i in range(100))  # 99 different pairs
    assert len(query_terms(long_query)) <= MAX_TERMS
    assert finds(long_query, long_query)
