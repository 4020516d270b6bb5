"""Reading the librarian's fields out of MARC 21 fields (pymarc objects built in memory)."""

from __future__ import annotations

import pytest
from pymarc import Field, Indicators, Subfield

from domain.shared.description import (
    check_description,
    describe,
    display_title,
    fold,
    identity_of,
    isbn_forms,
    isbn_is_valid,
    normalize_isbn,
)
from domain.shared.errors import DescriptionInvalidError


def _df(tag: str, *subfields: tuple[str, str], ind: str = "  ") -> Field:
    return Field(tag=tag, indicators=Indicators(ind[0], ind[1]),
                 subfields=[Subfield(c, v) for c, v in subfields])


FIELDS = [
    Field(tag="001", data="ocm123 "),
    Field(tag="003", data="OCoLC"),
    Field(tag="008", data="850101s1985    nyu           000 1 eng d"),
    _df("010", ("a", "  85012345 ")),
    _df("020", ("a", "0-306-40615-2 (pbk.)"), ("z", "0306406153")),
    _df("022", ("a", "0317-8471")),
    _df("035", ("a", "(OCoLC)123")),
    _df("041", ("a", "engfre")),
    _df("050", ("a", "PS3545.H16"), ("b", "A6 1985"), ind="00"),
    _df("082", ("a", "813/.52"), ind="04"),
    _df("084", ("a", "I712.45"), ("2", "clc")),
    _df("084", ("a", "K 123"), ("2", "rvk")),
    _df("100", ("6", "880-01"), ("a", "Wharton, Edith,"), ("d", "1862-1937."), ind="1 "),
    _df("245", ("6", "880-02"), ("a", "The house of mirth :"), ("b", "a novel /"),
        ("n", "Part 1."), ("c", "Edith Wharton."), ind="14"),
    _df("250", ("a", "2nd ed.")),
    _df("264", ("a", "Place of production"), ("b", "Not the publisher"), ind=" 0"),
    _df("264", ("a", "New York :"), ("b", "Scribner,"), ("c", "c1985."), ind=" 1"),
    _df("300", ("a", "329 p. ;"), ("c", "22 cm.")),
    _df("490", ("a", "Modern classics ;"), ("v", "12")),
    _df("650", ("a", "Socialites"), ("z", "New York (State)"), ("v", "Fiction."), ind=" 0"),
    _df("700", ("a", "Doe, Jane,"), ("e", "editor."), ind="1 "),
    _df("880", ("6", "245-02/$1"), ("a", "欢乐之家 /"), ind="14"),
    _df("880", ("6", "100-01/$1"), ("a", "沃顿,"), ind="1 "),
]


def test_describe_reads_every_field_a_librarian_needs() -> None:
    d = describe(FIELDS)
    assert (d["control_number"], d["control_source"], d["lccn"]) == ("ocm123", "OCoLC",
                                                                      "85012345")
    assert d["isbns"] == ["0306406152"]
    assert d["cancelled_isbns"] == ["0306406153"]
    assert d["issns"] == ["0317-8471"]
    assert d["system_numbers"] == ["(OCoLC)123"]
    assert d["languages"] == ["eng", "fre"]
    assert d["classification"] == {"lc": "PS3545.H16 A6 1985", "dewey": "813/.52",
                                   "clc": "I712.45",
                                   "other": [{"number": "K 123", "source": "rvk"}]}
    assert d["authors"] == [
        {"name": "Wharton, Edith, 1862-1937", "role": "main", "tag": "100"},
        {"name": "Doe, Jane", "role": "added", "tag": "700"}]
    assert (d["title"], d["subtitle"], d["part_number"]) == ("The house of mirth", "a novel",
                                                             "Part 1")
    assert d["responsibility"] == "Edith Wharton"
    assert (d["place"], d["publisher"], d["year"]) == ("New York", "Scribner", "1985")
    assert d["edition"] == "2nd ed"
    assert d["extent"] == "329 p. ; 22 cm"
    assert d["series"] == ["Modern classics ; 12"]
    assert d["subjects"] == ["Socialites -- New York (State) -- Fiction"]
    assert d["alt_titles"] == ["欢乐之家"]
    assert d["alt_authors"] == ["沃顿"]
    assert display_title(d) == "The house of mirth : a novel. Part 1"


def test_isbns_are_normalized_checked_and_paired() -> None:
    assert normalize_isbn("978-0-306-40615-7 (hbk.)") == "9780306406157"
    assert normalize_isbn("not an isbn") is None
    assert isbn_is_valid("0306406152")
    assert not isbn_is_valid("0306406153")
    assert isbn_is_valid("020161622X")
    assert isbn_forms("0306406152") == ["0306406152", "9780306406157"]
    assert isbn_forms("9780306406157") == ["9780306406157", "0306406152"]
    assert isbn_forms("9790000000001") == ["9790000000001"]  # 979 has no ISBN-10


def test_identity_is_control_number_and_source_else_a_stable_content_key() -> None:
    d = describe(FIELDS)
    assert identity_of(d) == "001:OCoLC:ocm123"
    without = {**d, "control_number": None}
    assert identity_of(without).startswith("content:")
    assert identity_of(without) == identity_of({**without, "extent": "330 p."})
    assert identity_of(without) != identity_of({**without, "title": "Another"})


def test_fold_ignores_case_diacritics_and_width() -> None:
    assert fold("Thư Viện Quốc Gia Đà Nẵng") == "thu vien quoc gia da nang"
    assert fold("\uff26\uff55\uff4c\uff4c") == "full"  # full-width letters
    assert fold("紅樓夢") == "紅樓夢"


@pytest.mark.parametrize(("given", "field"), [
    ({"title": " "}, "title"),
    ({"title": "X", "isbns": ["0306406153"]}, "isbns"),
    ({"title": "X", "year": "85"}, "year"),
    ({"title": "X", "colour": "red"}, "colour"),
])
def test_check_description_names_the_bad_field(given: dict[str, object], field: str) -> None:
    with pytest.raises(DescriptionInvalidError, match=field):
        check_description(given)


@pytest.mark.parametrize(("field", "value"), [
    ("title", "Moby\u0000Dick"), ("subtitle", "or, the \u001bwhale"),
    ("subjects", ["Whaling", "Sea \ud800 stories"])])
def test_a_hand_entered_text_the_service_cannot_keep_is_refused_naming_the_field(
        field: str, value: object) -> None:
    with pytest.raises(DescriptionInvalidError, match=field):
        check_description({"title": "Moby-Dick", field: value})
