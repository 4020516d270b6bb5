"""The catalog's use cases on an in-memory event store: imports, edits, items."""

from __future__ import annotations

from datetime import UTC, datetime
from uuid import uuid4

import pytest
from pymarc import Field, Indicators, Subfield

from domain.catalog.application import CREATED, UNCHANGED, UPDATED, Catalog, ImportEntry
from domain.catalog.errors import (
    BarcodeTakenError,
    EpcTakenError,
    ItemFieldInvalidError,
    ItemNotFoundError,
    ItemWithdrawnError,
    RecordNotFoundError,
)
from domain.catalog.holdings import UNFILED, holdings
from domain.catalog.item import ItemDetails, Location
from domain.catalog.record import Record
from domain.shared.description import describe

NOW = datetime(2026, 11, 23, 12, 0, tzinfo=UTC)


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: NOW)


def _df(tag: str, *subfields: tuple[str, str], ind: str = "  ") -> Field:
    return Field(tag=tag, indicators=Indicators(ind[0], ind[1]),
                 subfields=[Subfield(c, v) for c, v in subfields])


def _entry(number: str, title: str, *items: Field) -> ImportEntry:
    fields = [Field(tag="001", data=number), Field(tag="003", data="TEST"),
              _df("245", ("a", title)), *items]
    found, _ = holdings(fields)
    return ImportEntry(describe(fields), "marc21", f"raw {number} {title}",
                       [item for _, item in found])


def _events(catalog: Catalog) -> list[object]:
    return [catalog.mapper.to_domain_event(n)
            for n in catalog.recorder.select_notifications(start=1, limit=1000)]


def test_reimport_is_unchanged_and_a_change_records_only_what_changed(catalog: Catalog) -> None:
    first = catalog.import_records([_entry("1", "Alpha"), _entry("2", "Beta")])
    assert [o.status for o in first] == [CREATED, CREATED]
    count = len(_events(catalog))
    again = catalog.import_records([_entry("1", "Alpha"), _entry("2", "Beta")])
    assert [o.status for o in again] == [UNCHANGED, UNCHANGED]
    assert len(_events(catalog)) == count  # nothing recorded

    changed = catalog.import_records([_entry("1", "Alpha, revised"), _entry("2", "Beta")])
    assert [o.status for o in changed] == [UPDATED, UNCHANGED]
    revised = _events(catalog)[-1]
    assert isinstance(revised, Record.Revised)
    assert revised.changes == {"title": "Alpha, revised"}
    assert revised.original == "raw 1 Alpha, revised"  # the new original, kept whole


def test_the_same_record_twice_in_one_batch_is_one_record(catalog: Catalog) -> None:
    outcomes = catalog.import_records([_entry("1", "Alpha"), _entry("1", "Alpha")])
    assert [o.status for o in outcomes] == [CREATED, UNCHANGED]
    assert outcomes[0].record_id == outcomes[1].record_id


def test_import_adds_koha_items_once_and_refuses_another_records_barcode(
    catalog: Catalog
) -> None:
    koha = _df("952", ("a", "MAIN"), ("8", "FIC"), ("c", "STACKS"), ("o", "813 W"),
               ("p", "0001"), ("y", "BK"), ("2", "ddc"))
    [outcome] = catalog.import_records([_entry("1", "Alpha", koha)])
    assert outcome.items_added == 1
    item = catalog.item_by_barcode("0001")
    assert (item.location, item.call_number, item.call_number_scheme, item.material_type) == (
        Location("MAIN", "FIC", "STACKS"), "813 W", "dewey", "bk")
    assert item.record_id == outcome.record_id
    [again] = catalog.import_records([_entry("1", "Alpha", koha)])
    assert (again.status, again.items_added) == (UNCHANGED, 0)
    [other] = catalog.import_records([_entry("2", "Beta", koha)])
    assert other.status == CREATED
    assert other.item_problems == [(0, "barcode '0001' already belongs to another record's "
                                       "item; item skipped")]


def test_holdings_without_barcode_are_reported() -> None:
    items, problems = holdings([_df("952", ("a", "MAIN")), _df("852", ("b", "EAST"),
                                                              ("h", "QA76"), ("p", "X1"),
                                                              ind="0 ")])
    assert problems == [(("952", 1), "no $p barcode: that item was not added")]
    assert [source for source, _ in items] == [("852", 1)]
    assert [item for _, item in items] == [ItemDetails("X1", UNFILED, Location("EAST", None, None),
                                 call_number="QA76", call_number_scheme="lc")]


def test_items_keep_barcodes_and_epcs_unique(catalog: Catalog) -> None:
    record = catalog.catalogue_record({"title": "Alpha"})
    item = catalog.add_item(ItemDetails("B1", record.id, Location("MAIN"), epc="e2801160"))
    assert item.epc == "E2801160"
    assert catalog.item_by_epc("E2801160").barcode == "B1"
    with pytest.raises(BarcodeTakenError):
        catalog.add_item(ItemDetails("B1", record.id, Location("MAIN")))
    with pytest.raises(EpcTakenError):
        catalog.add_item(ItemDetails("B2", record.id, Location("MAIN"), epc="E2801160"))
    with pytest.raises(ItemFieldInvalidError, match="epc"):
        catalog.add_item(ItemDetails("B3", record.id, Location("MAIN"), epc="G123"))
    with pytest.raises(ItemFieldInvalidError, match="barcode"):
        catalog.add_item(ItemDetails("has space", record.id, Location("MAIN")))
    with pytest.raises(RecordNotFoundError):
        catalog.add_item(ItemDetails("B4", uuid4(), Location("MAIN")))


def test_a_withdrawn_item_stays_withdrawn(catalog: Catalog) -> None:
    record = catalog.catalogue_record({"title": "Alpha"})
    catalog.add_item(ItemDetails("B1", record.id, Location("MAIN")))
    moved = catalog.move_item("B1", Location("EAST", None, "A1"))
    assert moved.location == Location("EAST", None, "A1")
    withdrawn = catalog.withdraw_item("B1", "water damage")
    assert (withdrawn.status, withdrawn.withdrawal_reason) == ("withdrawn", "water damage")
    with pytest.raises(ItemWithdrawnError):
        catalog.move_item("B1", Location("MAIN"))
    with pytest.raises(ItemWithdrawnError):
        catalog.withdraw_item("B1", "again")


def test_editing_a_record_changes_only_the_fields_given(catalog: Catalog) -> None:
    record = catalog.catalogue_record({"title": "Alpha", "year": "1999",
                                       "isbns": ["0-306-40615-2"]})
    assert record.description["isbns"] == ["0306406152"]
    edited = catalog.revise_record(record.id, {"year": "2000"})
    assert (edited.description["title"], edited.description["year"]) == ("Alpha", "2000")
    assert isinstance(_events(catalog)[-1], Record.Revised)
    assert _events(catalog)[-1].changes == {"year": "2000"}  # type: ignore[attr-defined]


def test_a_retagged_item_releases_its_old_epc_for_another_item(catalog: Catalog) -> None:
    record = catalog.catalogue_record({"title": "Beta"})
    catalog.add_item(ItemDetails("R1", record.id, Location("MAIN"), epc="E1000001"))
    catalog.add_item(ItemDetails("R2", record.id, Location("MAIN")))
    with pytest.raises(EpcTakenError):
        catalog.assign_epc("R2", "E1000001")

    catalog.assign_epc("R1", "E1000002")  # a new tag on R1: E1000001 is free again
    assert catalog.item_by_epc("E1000002").barcode == "R1"
    with pytest.raises(ItemNotFoundError):
        catalog.item_by_epc("E1000001")
    catalog.assign_epc("R2", "E1000001")
    assert catalog.item_by_epc("E1000001").barcode == "R2"
    with pytest.raises(EpcTakenError):
        catalog.assign_epc("R1", "E1000001")  # R2 holds it now

    catalog.assign_epc("R2", "E1000003")  # released again: a new item may be added with it
    added = catalog.add_item(ItemDetails("R3", record.id, Location("MAIN"), epc="E1000001"))
    assert catalog.item_by_epc("E1000001").id == added.id
    assert catalog.item_by_barcode("R1").epc == "E1000002"
