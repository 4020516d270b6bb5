"""Items listed in a record's holdings fields: 952 (as Koha exports) and 852 (MARC 21)."""

from __future__ import annotations

from collections.abc import Iterable
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


def holdings(fields: Iterable[FieldLike]) -> tuple[list[ItemDetails], list[str]]:
    """The items the holdings fields describe, and a note for each one that has no barcode."""
    items: list[ItemDetails] = []
    problems: list[str] = []
    for field in fields:
        if field.tag not in ("952", "852"):
            continue
        barcode = _sub(field, "p")
        if barcode is None:
            problems.append(f"field {field.tag} has no $p barcode: that item was not added")
            continue
        items.append(_koha_item(field, barcode) if field.tag == "952"
                     else _marc_item(field, barcode))
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
