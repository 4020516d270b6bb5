"""Items listed in a record's holdings fields: 952 (as Koha exports) and 852 (MARC 21)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import NamedTuple
from uuid import UUID

from domain.catalog.item import ItemDetails, Location
from domain.shared.description import FieldLike

UNFILED = UUID(int=0)  # the record id an import fills in
_KOHA_SCHEMES = {"ddc": "dewey", "lcc": "lc", "clc": "clc", "z": "local"}
_852_SCHEMES = {"0": "lc", "1": "dewey"}


def _sub(field: FieldLike, code: str) -> str | None:
    for s in field.subfields:
        if s.code == code and s.value.strip():
            return s.value.strip()
    return None


class HoldingsField(NamedTuple):
    """Which holdings field of a record: its tag and its occurrence among that tag's (1-based)."""

    tag: str
    occurrence: int


class HoldingsProblem(NamedTuple):
    """A holdings field that gives no item, and why."""

    field: HoldingsField
    reason: str


def holdings(fields: Iterable[FieldLike]
             ) -> tuple[list[tuple[HoldingsField, ItemDetails]], list[HoldingsProblem]]:
    """The items the holdings fields describe, each with the field it came from, and a
    problem for each field that has no barcode."""
    items: list[tuple[HoldingsField, ItemDetails]] = []
    problems: list[HoldingsProblem] = []
    seen = {"952": 0, "852": 0}
    for field in fields:
        if field.tag not in seen:
            continue
        seen[field.tag] += 1
        source = HoldingsField(field.tag, seen[field.tag])
        barcode = _sub(field, "p")
        if barcode is None:
            problems.append(HoldingsProblem(source, "no $p barcode: that item was not added"))
            continue
        items.append((source, _koha_item(field, barcode) if field.tag == "952"
                      else _marc_item(field, barcode)))
    return items, problems


def _koha_item(field: FieldLike, barcode: str) -> ItemDetails:
    source = (_sub(field, "2") or "").lower()
    return ItemDetails(
        barcode=barcode, record_id=UNFILED,
        location=Location(_sub(field, "a") or _sub(field, "b") or "main",
                          _sub(field, "8"), _sub(field, "c")),
        call_number=_sub(field, "o"), call_number_scheme=_KOHA_SCHEMES.get(source),
        material_type=(_sub(field, "y") or "book").lower())


def _marc_item(field: FieldLike, barcode: str) -> ItemDetails:
    call_number = " ".join(v for v in (_sub(field, "h"), _sub(field, "i")) if v) or None
    indicator = field.indicators[0] if field.indicators else " "
    return ItemDetails(
        barcode=barcode, record_id=UNFILED,
        location=Location(_sub(field, "b") or _sub(field, "a") or "main", _sub(field, "c"),
                          None),
        call_number=call_number,
        call_number_scheme=_852_SCHEMES.get(indicator, "local" if call_number else None))
