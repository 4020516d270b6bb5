"""Normalizing what the matcher compares: identifiers, editions, parts, extents, bindings."""

from __future__ import annotations

import pytest

from projections.union_catalog import normalize as nz


@pytest.mark.parametrize(("given", "isbn"), [
    ("0-8041-9011-9 (pbk.)", "9780804190114"), ("9780804190114", "9780804190114"),
    ("020161622X", "9780201616224"), ("not an isbn", None),
])
def test_isbns_become_isbn13(given: str, isbn: str | None) -> None:
    assert nz.isbn13(given) == isbn


@pytest.mark.parametrize(("given", "number"), [
    ("(OCoLC)ocm00012345", "12345"), ("(OCoLC)958373097", "958373097"), ("ocn123", "123"),
    ("(OCoLC-M)272290", "272290"), ("(OCoLC-I)268803709", None), ("933394", None),
    ("(DE-101)12345", None),
])
def test_oclc_numbers_only_from_oclc_prefixes(given: str, number: str | None) -> None:
    assert nz.oclc(given) == number


def test_lccn_issn_and_system_numbers() -> None:
    assert nz.lccn("   85012345 ") == "85012345"
    assert nz.lccn("n  79-1234 //r82") == "n79001234"
    assert nz.issn("0317-8471") == "03178471"
    assert nz.system_number("(DE-101) 1234 5") == "de-101:12345"
    assert nz.system_number("12345") is None


@pytest.mark.parametrize(("statement", "key"), [
    ("2nd ed.", "2"), ("Second edition.", "2"), ("3. Aufl.", "3"), ("2. painos", "2"),
    ("Toinen, uudistettu painos", "2"), ("第2版", "2"), ("1st ed., 3rd printing", "1"),
    ("Rev. ed.", "revised"), ("Revised edition", "revised"), ("Uudistettu laitos", "revised"),
    (None, None),
])
def test_edition_statements(statement: str | None, key: str | None) -> None:
    assert nz.edition_key(statement) == key


@pytest.mark.parametrize(("part", "key"), [
    ("Vol. 2", "2"), ("v. II", "2"), ("Part two", "2"), ("2. osa", "2"), ("1. nide", "1"),
    ("第二卷", "2"), ("上", "上"), ("The sécond p.", "2 p"), (None, None),
])
def test_part_designations(part: str | None, key: str | None) -> None:
    assert nz.part_key(part) == key


@pytest.mark.parametrize(("extent", "numbers"), [
    ("xix, 380 p. ;", (380, None)), ("126 pages ;", (126, None)), ("245 sivua", (245, None)),
    ("4 v. (xxii, 3200 p.) ;", (3200, 4)), ("2 nidettä (800 s.)", (800, 2)),
    ("1 audio disc (46 min.)", (46, None)), (None, (None, None)),
])
def test_extents(extent: str | None, numbers: tuple[int | None, int | None]) -> None:
    assert nz.extent_numbers(extent) == numbers


@pytest.mark.parametrize(("qualifier", "kind"), [
    ("pbk.", "paperback"), ("nidottu", "paperback"), ("häftad", "paperback"),
    ("hc. : alk. paper", "hardcover"), ("sid.", "hardcover"), ("inbunden", "hardcover"),
    ("EPUB", "epub"), ("PDF", "pdf"), ("alk. paper", None), ("v. 1", None), ("set", None),
])
def test_isbn_qualifiers_name_a_binding_or_file_format(qualifier: str, kind: str | None) -> None:
    assert nz.binding(qualifier) == kind


def test_titles_drop_initial_articles_by_indicator_or_language() -> None:
    assert nz.title_tokens("The house of mirth", "eng", 4) == ("house", "of", "mirth")
    assert nz.title_tokens("The house of mirth", "eng", 0) == ("house", "of", "mirth")
    assert nz.title_tokens("Die Hard", "eng", 0) == ("die", "hard")
    assert nz.title_tokens("Die Blechtrommel", "ger", 0) == ("blechtrommel",)
    assert nz.title_tokens("A Q zheng zhuan", "chi", 0) == ("a", "q", "zheng", "zhuan")
    assert nz.tokens("紅樓夢 & more") == ("红", "楼", "梦", "and", "more")
