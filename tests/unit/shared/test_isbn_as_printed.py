"""An ISBN is kept as printed (wrong check digit, or a 9-digit SBN) and matched as printed;
only a valid one is matched in its other forms too."""

from __future__ import annotations

import pytest
from pymarc import Field, Indicators, Subfield

from domain.shared.description import (
    check_description,
    describe,
    identity_of,
    isbn_forms,
    normalize_isbn,
)


def _isbn_field(*values: str) -> Field:
    return Field(tag="020", indicators=Indicators(" ", " "),
                 subfields=[Subfield("a", v) for v in values])


@pytest.mark.parametrize(("printed", "normalized"), [
    ("0-201-61622-0 (pbk.)", "0201616220"),  # wrong check digit: kept as printed
    ("340 01381 8", "340013818"),  # an SBN
    ("978-0-201-61622-4", "9780201616224"),
    ("12345678", None),  # too short for either
])
def test_normalize_keeps_what_was_printed(printed: str, normalized: str | None) -> None:
    assert normalize_isbn(printed) == normalized


def test_wrong_check_digit_matches_only_as_printed() -> None:
    assert isbn_forms("0201616220") == ["0201616220"]  # not 9780201616224: another book's
    assert isbn_forms("9780201616225") == ["9780201616225"]


def test_valid_isbn_matches_in_both_forms() -> None:
    assert isbn_forms("020161622X") == ["020161622X", "9780201616224"]
    assert isbn_forms("9780201616224") == ["9780201616224", "020161622X"]


def test_sbn_matches_as_printed_and_as_its_isbns() -> None:
    assert isbn_forms("340013818") == ["340013818", "0340013818", "9780340013816"]
    assert isbn_forms("340013819") == ["340013819"]  # a wrong SBN: as printed only


def test_record_keeps_printed_isbns_and_its_identity_ignores_sbns() -> None:
    title = Field(tag="245", indicators=Indicators("1", "0"), subfields=[Subfield("a", "Old")])
    with_sbn = describe([title, _isbn_field("340 01381 8", "0-201-61622-0")])
    assert with_sbn["isbns"] == ["340013818", "0201616220"]
    without = describe([title, _isbn_field("0-201-61622-0")])
    assert identity_of(with_sbn) == identity_of(without)  # keys made before SBNs were read


def test_hand_entered_sbn_is_accepted_when_valid() -> None:
    assert check_description({"title": "Old", "isbns": ["340 01381 8"]})["isbns"] == [
        "340013818"]
    with pytest.raises(ValueError, match="isbns"):
        check_description({"title": "Old", "isbns": ["340 01381 9"]})
