"""What a systems librarian meets importing real files: item problems as warnings, a lying
base address recovered, ISBNs found as printed, MARCXML as characters."""

from __future__ import annotations

import re
from typing import Any

import pymarc
import pytest
from fastapi.testclient import TestClient

from tests.integration.api.test_catalog import (
    SEARCH,
    SHARED,
    data,
    gql,
    import_bytes,
    wait_for_records,
)

pytestmark = [pytest.mark.postgres, pytest.mark.nats]


def _record(number: str, title: str, *fields: pymarc.Field) -> bytes:
    record = pymarc.Record(force_utf8=True)
    record.add_field(pymarc.Field(tag="001", data=number), pymarc.Field(tag="003", data="LIB"),
                     pymarc.Field(tag="245", indicators=pymarc.Indicators("1", "0"),
                                  subfields=[pymarc.Subfield("a", title)]), *fields)
    raw: bytes = record.as_marc()
    return raw


def _df(tag: str, *subfields: tuple[str, str]) -> pymarc.Field:
    return pymarc.Field(tag=tag, indicators=pymarc.Indicators(" ", " "),
                        subfields=[pymarc.Subfield(c, v) for c, v in subfields])


def _titles(http: TestClient, token: str, query: str) -> list[str]:
    edges = data(gql(http, token, SEARCH, q=query, first=50))["records"]["edges"]
    return sorted(edge["node"]["title"] for edge in edges)


def test_item_problems_are_warnings_naming_record_offset_and_field(
        http: TestClient, library: dict[str, str]) -> None:
    first = _record("w1", "Warnings one", _df("952", ("a", "MAIN"), ("p", "W-1")),
                    _df("952", ("a", "MAIN")), _df("852", ("b", "EAST")))
    second = _record("w2", "Warnings two", _df("852", ("b", "EAST"), ("p", "W-2")),
                     _df("852", ("b", "EAST"), ("p", "W-1")))  # W-1 is the first record's
    result = import_bytes(http, library["token"], first + second)
    assert (result["read"], result["created"], result["skipped"]) == (2, 2, 0)
    assert result["errors"] == []
    assert result["items_added"] == 2
    assert result["warnings"] == [
        {"record": 1, "offset": 0, "field": "952", "occurrence": 2,
         "reason": "no $p barcode: that item was not added"},
        {"record": 1, "offset": 0, "field": "852", "occurrence": 1,
         "reason": "no $p barcode: that item was not added"},
        {"record": 2, "offset": len(first), "field": "852", "occurrence": 2,
         "reason": "barcode 'W-1' already belongs to another record's item; item skipped"},
    ]


def test_a_record_whose_leader_lies_about_its_base_address_is_imported(
        http: TestClient, library: dict[str, str]) -> None:
    raw = _record("b1", "Charlottetown area profile")
    lying = raw[:12] + b"00157" + raw[17:]  # as upei_short_008.mrc (Open Library reads it)
    result = import_bytes(http, library["token"], lying)
    assert (result["created"], result["skipped"], result["errors"]) == (1, 0, [])
    wait_for_records(http, library["token"], 1)
    assert _titles(http, library["token"], "charlottetown") == ["Charlottetown area profile"]


def test_isbns_are_found_as_printed_and_valid_ones_in_every_form(
        http: TestClient, library: dict[str, str]) -> None:
    token = library["token"]
    body = (_record("i1", "Wrong check digit", _df("020", ("a", "0-201-61622-0 (pbk.)")))
            + _record("i2", "Old SBN", _df("020", ("a", "340 01381 8")))
            + _record("i3", "Valid", _df("020", ("a", "020161622X"))))
    assert import_bytes(http, token, body)["created"] == 3
    wait_for_records(http, token, 3)
    for printed in ("0201616220", "0-201-61622-0"):
        assert _titles(http, token, printed) == ["Wrong check digit"], printed
    for form in ("340013818", "340 01381 8", "0340013818", "978-0-340-01381-6"):
        assert _titles(http, token, form) == ["Old SBN"], form
    for form in ("020161622X", "9780201616224"):  # not the wrong one's look-alike
        assert _titles(http, token, form) == ["Valid"], form


def test_marcxml_has_characters_and_says_unicode(http: TestClient,
                                                 library: dict[str, str]) -> None:
    token = library["token"]
    import_bytes(http, token, (SHARED / "pymarc" / "marc8.dat").read_bytes())
    wait_for_records(http, token, 1)
    edges = data(gql(http, token, SEARCH, first=50))["records"]["edges"]
    xml: list[str] = []
    for edge in edges:
        record: dict[str, Any] = data(gql(
            http, token, "query($id: ID!) { record(id: $id) { marcxml } }",
            id=edge["node"]["id"]))["record"]
        xml.append(record["marcxml"])
    assert xml
    assert not any("&#" in x for x in xml)
    assert all(re.search(r"<leader>.{9}a", x) for x in xml)
    assert any(re.search(r"[^\x00-\x7f]", x) for x in xml)
