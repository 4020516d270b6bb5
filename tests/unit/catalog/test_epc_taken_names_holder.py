"""EPC_TAKEN names the item that holds the tag, however the tag was asked for."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from domain.catalog.application import Catalog
from domain.catalog.errors import EpcTakenError
from domain.catalog.item import ItemDetails, Location

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


@pytest.fixture
def catalog() -> Catalog:
    return Catalog(env={"PERSISTENCE_MODULE": "eventsourcing.popo"}, clock=lambda: NOW)


def test_add_item_with_a_held_epc_names_the_holder(catalog: Catalog) -> None:
    record = catalog.catalogue_record({"title": "Gamma"})
    catalog.add_item(ItemDetails("HOLDER-1", record.id, Location("MAIN"), epc="E2000001"))
    with pytest.raises(EpcTakenError, match="already on item 'HOLDER-1'"):
        catalog.add_item(ItemDetails("NEW-1", record.id, Location("MAIN"), epc="e2000001"))


def test_assign_epc_held_by_another_item_names_it(catalog: Catalog) -> None:
    record = catalog.catalogue_record({"title": "Gamma"})
    catalog.add_item(ItemDetails("HOLDER-2", record.id, Location("MAIN"), epc="E2000002"))
    catalog.add_item(ItemDetails("OTHER-2", record.id, Location("MAIN")))
    with pytest.raises(EpcTakenError, match="already on item 'HOLDER-2'"):
        catalog.assign_epc("OTHER-2", "E2000002")
    assert catalog.item_by_barcode("OTHER-2").epc is None


def test_a_released_epc_names_no_one(catalog: Catalog) -> None:
    record = catalog.catalogue_record({"title": "Gamma"})
    catalog.add_item(ItemDetails("HOLDER-3", record.id, Location("MAIN"), epc="E2000003"))
    catalog.assign_epc("HOLDER-3", "E2000004")
    added = catalog.add_item(ItemDetails("NEXT-3", record.id, Location("MAIN"),
                                         epc="E2000003"))
    assert added.epc == "E2000003"
